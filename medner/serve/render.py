"""displaCy markup and label colours for the page, so the entity view, the
table and the legend show each label in the same colour."""
from __future__ import annotations

import re
import warnings
from typing import Any, Dict, Iterable, List, Optional

# Colours for the labels of medner's corpora (BC5CDR, NCBI-disease, MACCROBAT,
# Kaggle Medical NER) and the clinical pipeline; other labels take the next
# unused colour of PALETTE in sorted order, so a pipeline's colours are stable.
MEDICAL_LABEL_COLORS = {
    "CHEMICAL": "#7aecec",
    "MEDICATION": "#7aecec",
    "MEDICINE": "#7aecec",
    "DISEASE": "#feca74",
    "MEDICALCONDITION": "#feca74",
    "DISEASE_DISORDER": "#feca74",
    "SIGN_SYMPTOM": "#ffeb80",
    "PROCEDURE": "#aa9cfc",
    "THERAPEUTIC_PROCEDURE": "#aa9cfc",
    "DIAGNOSTIC_PROCEDURE": "#c887fb",
    "PATHOGEN": "#ff8197",
    "BIOLOGICAL_STRUCTURE": "#bfeeb7",
    "LAB_VALUE": "#e4e7d2",
    "DOSAGE": "#bfe1d9",
}
PALETTE = (
    "#ff9561", "#9cc9cc", "#f0d0ff", "#bfe1d9", "#e4e7d2", "#c887fb", "#ffeb80",
    "#bfeeb7", "#aa9cfc", "#ff8197", "#7aecec", "#feca74", "#d9fbad", "#fcc1c1",
)
_BIO_PREFIX = re.compile(r"^[BILUES]-")


def pipeline_labels(nlp, until: Optional[str] = None) -> List[str]:
    """Entity labels a pipeline (up to, not including, component ``until``) can produce: the labels
    of its components, without BIO prefixes and ``O`` (token classifiers list ``B-X``/``I-X``)."""
    labels = set()
    for name, pipe in nlp.pipeline:
        if name == until:
            break
        for label in getattr(pipe, "labels", ()) or ():
            label = _BIO_PREFIX.sub("", str(label))
            if label and label != "O":
                labels.add(label)
    return sorted(labels)


def label_colors(labels: Iterable[str]) -> Dict[str, str]:
    """One colour per label: medner's colours, displaCy's, then the palette."""
    from spacy.displacy.render import DEFAULT_LABEL_COLORS

    colors: Dict[str, str] = {}
    pending = []
    for label in sorted(set(labels)):
        known = MEDICAL_LABEL_COLORS.get(label.upper()) or DEFAULT_LABEL_COLORS.get(label.upper())
        if known:
            colors[label] = known
        else:
            pending.append(label)
    for i, label in enumerate(pending):
        colors[label] = PALETTE[i % len(PALETTE)]
    return colors


def pipeline_colors(nlp) -> Dict[str, str]:
    """Colours for every label the pipeline can output or any component knows."""
    from ..release.packaging import output_labels

    return label_colors(set(output_labels(nlp)) | set(pipeline_labels(nlp)))


def render_entities(doc, *, colors: Dict[str, str], spans_key: str = "medner") -> str:
    """displaCy's entity view of one annotated doc (a ``<div>``, no page, no
    external resources): the ``span`` style when the merge component wrote
    ``doc.spans[spans_key]`` (spans there may overlap), else the ``ent`` style."""
    from spacy import displacy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # W006 "no entities to visualize" on docs without entities
        if spans_key in doc.spans:
            return displacy.render(doc, style="span", page=False, jupyter=False, minify=True,
                                   options={"spans_key": spans_key, "colors": colors})
        return displacy.render(doc, style="ent", page=False, jupyter=False, minify=True, options={"colors": colors})


def release_manifest(package: str) -> Optional[Dict[str, Any]]:
    """The release manifest of a shipped package (``releases/<version>/<package>.json``
    of the checkout medner runs from), which holds its test scores; ``None`` elsewhere."""
    import json
    from pathlib import Path

    from .. import __version__

    path = Path(__file__).resolve().parents[2] / "releases" / __version__ / f"{package}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def pipeline_info(name: str, nlp, source: Optional[str] = None) -> Dict[str, Any]:
    """What ``/info`` says about one loaded pipeline: meta, labels, colours,
    the scores from its meta and, for a shipped package, its release manifest's test scores."""
    from ..release.packaging import output_labels

    meta = nlp.meta or {}
    labels = output_labels(nlp) or pipeline_labels(nlp)
    performance = meta.get("performance") or {}
    scores = {k: v for k, v in performance.items() if isinstance(v, (int, float)) and not k.endswith("_loss")}
    if isinstance(performance.get("ents_per_type"), dict):
        scores["ents_per_type"] = performance["ents_per_type"]
    info = {
        "name": name,
        "package": f"{meta.get('lang', 'xx')}_{meta.get('name', 'pipeline')}",
        "version": meta.get("version"),
        "spacy_version": meta.get("spacy_version"),
        "lang": nlp.lang,
        "components": list(nlp.pipe_names),
        "labels": labels,
        "colors": pipeline_colors(nlp),
        "scores": scores,
        "source": source,
    }
    manifest = release_manifest(info["package"])
    if manifest and isinstance(manifest.get("test"), dict):
        test = manifest["test"]
        info["release_test"] = {k: test.get(k) for k in ("dataset", "precision", "recall", "f1", "per_label", "words_per_second")}
    return info

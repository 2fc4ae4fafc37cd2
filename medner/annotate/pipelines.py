"""Which pipeline a name means: shipped short names, installed packages, directories.

``medner annotate`` (and anything else that takes ``--model``) accepts a short
name of a pipeline the project ships (``clinical``, ``bc5cdr``, ``ncbi``), any
installed spaCy pipeline package (``en_medner_bc5cdr_cnn_fast``,
``en_core_web_sm``) or a pipeline directory. No name means the default. A name
that is none of these fails with one line that says what was looked for, what
is shipped and installed, and how to get the rest.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from .. import __version__


@dataclass(frozen=True)
class ShippedPipeline:
    """A pipeline released with the project (wheel under ``releases/<version>/``)."""

    short_name: str
    package: str
    description: str


SHIPPED: Dict[str, ShippedPipeline] = {
    p.short_name: p
    for p in (
        ShippedPipeline(
            "clinical",
            "en_medner_clinical_cnn",
            "clinical notes and case reports: medications, diseases, treatments and 38 more MACCROBAT types",
        ),
        ShippedPipeline("bc5cdr", "en_medner_bc5cdr_cnn_fast", "biomedical abstracts: chemicals and diseases (BC5CDR)"),
        ShippedPipeline("ncbi", "en_medner_ncbi_disease_cnn_fast", "biomedical abstracts: diseases (NCBI-disease)"),
    )
}
DEFAULT_PIPELINE = "clinical"
RELEASES_HINT = f"pip install --no-index --find-links releases/{__version__} <package> (from a medner checkout)"


class PipelineNotFound(ValueError):
    """A ``--model`` value that names no shipped short name, installed package or pipeline directory."""


def installed_pipelines() -> List[str]:
    """Names of the spaCy pipeline packages installed in this environment."""
    import spacy

    return sorted(spacy.util.get_installed_models())


def is_installed(package: str) -> bool:
    import spacy

    return spacy.util.is_package(package)


def resolve(model: Optional[Union[str, Path]] = None) -> str:
    """What ``spacy.load`` should get for ``model``: a package name or an absolute directory.

    ``None`` or ``""`` means :data:`DEFAULT_PIPELINE`. A short name resolves to
    its package; an existing path must be a pipeline directory (``config.cfg``).
    Raises :class:`PipelineNotFound` with a one-line explanation otherwise.
    """
    name = DEFAULT_PIPELINE if model in (None, "") else str(model)
    shipped = SHIPPED.get(name)
    if shipped is not None:
        if is_installed(shipped.package):
            return shipped.package
        raise PipelineNotFound(
            f"Pipeline {name!r} is the shipped package {shipped.package}, which is not installed: "
            f"{RELEASES_HINT.replace('<package>', shipped.package)}, or run scripts/install.sh"
        )
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.cfg").is_file():
            raise PipelineNotFound(f"{path} is not a spaCy pipeline directory (no config.cfg in it)")
        return str(path.resolve())
    if is_installed(name):
        return name
    raise PipelineNotFound(
        f"No pipeline {name!r}: not a shipped short name ({', '.join(SHIPPED)}), "
        f"not an installed package (installed: {', '.join(installed_pipelines()) or 'none'}), "
        f"not a directory. Shipped pipelines: {RELEASES_HINT}; others: build them with "
        "`spacy project run` (see the README's workflow section)"
    )


def load(model: Optional[Union[str, Path]] = None, *, labels: Optional[Union[str, Sequence[str]]] = None, **kwargs):
    """``spacy.load`` of :func:`resolve`'s answer, its entities filtered to ``labels``
    (``"A,B"`` or a list; ``None`` or empty: all; :func:`add_label_filter`).
    An unknown label raises :class:`~medner.ner.label_filter.UnknownLabel` (one line) before any text is read."""
    import spacy

    from ..ner.label_filter import add_label_filter, check_label_filters

    nlp = spacy.load(resolve(model), **kwargs)
    if labels:
        add_label_filter(nlp, labels)
    else:
        check_label_filters(nlp)
    return nlp


def add_label_filter(nlp, labels: Optional[Union[str, Sequence[str]]], **kwargs):
    """Keep only the entities labelled ``labels`` in any loaded pipeline (the rest go to
    ``doc.spans["filtered_labels"]``): :func:`medner.ner.label_filter.add_label_filter`."""
    from ..ner.label_filter import add_label_filter as add

    return add(nlp, labels, **kwargs)


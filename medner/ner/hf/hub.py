"""``medner import-hf``: any Hugging Face token classifier, by Hub id or directory, as a spaCy pipeline.

Steps (:func:`import_hf`), each failing with one :class:`HFImportError` line:

1. :func:`resolve_model`: a local ``save_pretrained`` directory is used as it
   is; a Hub id (``org/name``) is looked up in the user's Hugging Face cache
   (``HF_HOME`` / ``HF_HUB_CACHE``) with ``snapshot_download(local_files_only=True)``.
   Only with ``allow_download`` and without ``HF_HUB_OFFLINE=1`` are files
   downloaded (config, tokenizer and one weights format; nothing else).
2. :func:`check_model`: a token classifier (``config.architectures`` ends in
   ``ForTokenClassification``, named labels in ``id2label``) with a *fast*
   tokenizer (the offset mapping puts predictions on spaCy tokens).
3. :func:`map_labels`: the model's tags (``B-Medication``, ``I-Chemical``,
   ``Disease_disorder``) lose their scheme prefix (:func:`medner.ner.hf.alignment.parse_tag`,
   the component's own rule) and are renamed to medner's labels by a preset
   (the corpus label maps of :mod:`medner.corpus.datasets`, MACCROBAT's
   in the clinical schema of :mod:`medner.corpus.schema`) or a JSON file;
   labels no rule renames are kept as they are and listed.
4. :func:`build_pipeline`: ``medner.tokenizer.blank_biomedical()`` +
   ``hf_token_classifier`` (as ``configs/hf_pipeline.cfg``: ``doc.spans["hf"]``
   with scores and ``doc.ents``) with the resolved ``label_map``, or the
   classifier inside a shipped CNN pipeline, merged with its NER by
   ``medner_merge_entities``; optionally medner's linker and assertion
   components sourced from the installed shipped pipelines. ``nlp.to_disk``
   copies the weights and tokenizer into the pipeline, so ``spacy.load`` needs
   neither the cache nor the network.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from ...corpus.datasets import DATASETS
from ...release.packaging import NER_FACTORIES
from ..merge import POLICIES as MERGE_POLICIES
from .alignment import parse_tag

HF_PIPE = "hf"
MERGE_PIPE = "merge"
# what a token-classification model needs: config, tokenizer files, one weights format
HUB_FILES = ["*.json", "*.txt", "*.model", "*.safetensors"]
HUB_FALLBACK_WEIGHTS = ["pytorch_model*.bin"]
# where --with-linker / --with-assertion take their components, in order of preference
LINKER_SOURCES = ("en_medner_clinical_cnn", "en_medner_bc5cdr_cnn_fast")
ASSERTION_SOURCES = ("en_medner_clinical_cnn",)
GENERIC_LABEL = re.compile(r"LABEL_\d+")


def _ncbi_disease_label(label: str) -> Optional[str]:
    # the corpus's four mention types, and the "Disease" most NCBI-disease models are trained with
    return DATASETS["ncbi_disease"].label_map(label) or ("DISEASE" if label.lower() == "disease" else None)


# preset name -> entity label -> medner label (None: no rule; the label is kept)
LABEL_PRESETS: Dict[str, Callable[[str], Optional[str]]] = {
    "maccrobat": DATASETS["maccrobat_clinical"].label_map,  # the clinical schema (medner.corpus.schema)
    "bc5cdr": DATASETS["bc5cdr"].label_map,
    "ncbi_disease": _ncbi_disease_label,
}


class HFImportError(ValueError):
    """A model or option ``medner import-hf`` cannot use; the message is one line that says what to do."""


@dataclass
class ResolvedModel:
    """Where a model's files are, and what it was asked for as."""

    path: Path
    source: str  # the Hub id or the directory as given
    revision: Optional[str] = None  # the cache snapshot's commit, for a Hub id


@dataclass
class LabelMapping:
    """How the model's entity labels become medner's."""

    label_map: Dict[str, str]  # every entity label the model predicts -> its medner label
    unmapped: List[str] = field(default_factory=list)  # labels no rule renamed: kept as they are
    unused: List[str] = field(default_factory=list)  # keys of a JSON map the model does not predict


@dataclass
class ImportReport:
    """What :func:`import_hf` built (printed by the CLI, kept in the pipeline's meta)."""

    output_dir: Path
    model: ResolvedModel
    labels: LabelMapping
    pipe_names: List[str]
    wheel: Optional[Path] = None


# ------------------------------------------------------------------ resolve
def resolve_model(
    model: Union[str, Path],
    *,
    allow_download: bool = False,
    revision: Optional[str] = None,
    cache_dir: Optional[Union[str, Path]] = None,
) -> ResolvedModel:
    """A local directory, or the snapshot of Hub id ``model`` in the Hugging Face cache.

    ``cache_dir`` defaults to huggingface_hub's (``HF_HUB_CACHE``, else
    ``HF_HOME/hub``). Downloads only with ``allow_download`` and when
    ``HF_HUB_OFFLINE`` is not set.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        return ResolvedModel(path.resolve(), str(model))
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError
    from huggingface_hub.utils import validate_repo_id

    name = str(model)
    try:
        validate_repo_id(name)
    except HFValidationError:
        raise HFImportError(f"{name} is neither a directory nor a Hugging Face model id (org/name)") from None
    offline = bool(constants.HF_HUB_OFFLINE)
    local_only = offline or not allow_download
    cache = str(cache_dir) if cache_dir is not None else constants.HF_HUB_CACHE
    try:
        snapshot = Path(snapshot_download(name, revision=revision, cache_dir=cache, local_files_only=local_only,
                                          allow_patterns=HUB_FILES))
        if not local_only and not _weights(snapshot):
            snapshot = Path(snapshot_download(name, revision=revision, cache_dir=cache,
                                              allow_patterns=HUB_FILES + HUB_FALLBACK_WEIGHTS))
    except LocalEntryNotFoundError:
        if offline:
            how = "unset HF_HUB_OFFLINE and rerun with --allow-download"
        elif not allow_download:
            how = "rerun with --allow-download"
        else:
            how = "check the network"
        raise HFImportError(
            f"{name}{'@' + revision if revision else ''} is not in the Hugging Face cache ({cache}): {how}, "
            f"or fetch it with `huggingface-cli download {name}`, or pass a save_pretrained directory"
        ) from None
    except Exception as err:  # repository not found, gated, no such revision, HTTP errors
        raise HFImportError(f"could not get {name} from the Hugging Face Hub: {_first_line(err)}") from None
    return ResolvedModel(snapshot, name, snapshot.name)


def _weights(path: Path) -> List[str]:
    from .component import WEIGHT_FILES

    return [name for name in WEIGHT_FILES if (path / name).is_file()]


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


# -------------------------------------------------------------------- check
def check_model(path: Union[str, Path], source: Optional[str] = None) -> Dict[int, str]:
    """The model's ``id2label``, after checking that ``path`` holds a token classifier
    with weights and a fast tokenizer."""
    from transformers import AutoConfig, AutoTokenizer

    path = Path(path)
    source = source or str(path)
    if not (path / "config.json").is_file():
        raise HFImportError(f"{source}: no config.json in {path}; is it a save_pretrained directory?")
    try:
        config = AutoConfig.from_pretrained(str(path), local_files_only=True)
    except Exception as err:
        raise HFImportError(f"{source}: cannot read {path / 'config.json'}: {_first_line(err)}") from None
    architectures = list(getattr(config, "architectures", None) or [])
    if not any(a.endswith("ForTokenClassification") for a in architectures):
        what = ", ".join(architectures) if architectures else "a model without an architecture in config.json"
        raise HFImportError(
            f"{source} is {what}, not a token-classification (NER) model: "
            "medner import-hf needs an AutoModelForTokenClassification"
        )
    id2label = {int(i): str(label) for i, label in (config.id2label or {}).items()}
    if all(GENERIC_LABEL.fullmatch(label) for label in id2label.values()):
        raise HFImportError(
            f"{source}: its config.json names no labels (id2label is {', '.join(sorted(id2label.values()))}); "
            "it is not a fine-tuned NER model"
        )
    if not _weights(path):
        raise HFImportError(f"{source}: no weights (model.safetensors or pytorch_model.bin) in {path}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True, use_fast=True)
    except Exception as err:
        raise HFImportError(f"{source}: cannot load its tokenizer from {path}: {_first_line(err)}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise HFImportError(
            f"{source} has only a slow tokenizer ({type(tokenizer).__name__}); medner needs a fast one "
            "(tokenizer.json) for the character offsets that put predictions on spaCy tokens"
        )
    return id2label


# ------------------------------------------------------------------- labels
def entity_labels(id2label: Dict[int, str]) -> List[str]:
    """The model's entity labels without scheme prefixes, in tag order."""
    labels: List[str] = []
    for i in sorted(id2label):
        parsed = parse_tag(id2label[i])
        if parsed is not None and parsed[0] not in labels:
            labels.append(parsed[0])
    return labels


def read_label_map(spec: Optional[str]) -> Tuple[Optional[Callable[[str], Optional[str]]], Dict[str, str]]:
    """``(rule, explicit map)`` of ``--labels-map``: a preset name, a JSON file, or ``None``."""
    if spec is None:
        return None, {}
    if spec in LABEL_PRESETS:
        return LABEL_PRESETS[spec], {}
    path = Path(spec)
    if not path.is_file():
        raise HFImportError(
            f"--labels-map {spec}: neither a preset ({', '.join(LABEL_PRESETS)}) nor a JSON file"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise HFImportError(f"--labels-map {path}: not a JSON file ({err})") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in data.items()):
        raise HFImportError(f'--labels-map {path}: expected a JSON object of label names, e.g. {{"Chemical": "CHEMICAL"}}')
    # a key may be written as the model's tag ("B-Chemical"): it means the entity label
    explicit = {}
    for key, value in data.items():
        parsed = parse_tag(key)
        if parsed is not None:
            explicit[parsed[0]] = value
    return None, explicit


def map_labels(labels: Sequence[str], spec: Optional[str]) -> LabelMapping:
    """Map the model's entity ``labels`` by ``--labels-map`` ``spec``.

    A preset or a JSON key matches a label exactly, else ignoring case
    (``CHEMICAL`` models and ``Chemical`` models both map). Labels no rule
    covers are kept as they are and listed in ``unmapped``.
    """
    rule, explicit = read_label_map(spec)
    folded = {key.lower(): value for key, value in explicit.items()}
    label_map: Dict[str, str] = {}
    unmapped: List[str] = []
    used = set()
    for label in labels:
        if label in explicit or label.lower() in folded:
            target = explicit.get(label) or folded[label.lower()]
            used.add(label.lower())
        elif rule is not None:
            target = rule(label) or next((rule(k) for k in _case_variants(label) if rule(k)), None)
        else:
            target = None
        if target is None:
            unmapped.append(label)
        label_map[label] = target or label
    unused = [key for key in explicit if key.lower() not in used]
    return LabelMapping(label_map, unmapped, unused)


def _case_variants(label: str) -> List[str]:
    return [label.lower(), label.capitalize(), label.upper()]


# ----------------------------------------------------------------- pipeline
def _shipped_source(packages: Sequence[str], option: str):
    """The first installed of ``packages``, loaded; a one-line error naming how to install them."""
    import spacy

    from ...annotate.pipelines import RELEASES_HINT

    for package in packages:
        if spacy.util.is_package(package):
            return spacy.load(package)
    raise HFImportError(
        f"{option} takes its component from a shipped medner pipeline ({' or '.join(packages)}), none is installed: "
        f"{RELEASES_HINT.replace('<package>', packages[0])}"
    )


def build_pipeline(
    model: ResolvedModel,
    labels: LabelMapping,
    output_dir: Union[str, Path],
    *,
    with_linker: bool = False,
    with_assertion: bool = False,
    merge_with: Optional[str] = None,
    merge_policy: str = "prefer_first",
    name: Optional[str] = None,
):
    """Assemble, save to ``output_dir`` and return the pipeline.

    Alone, the classifier writes ``doc.ents``. With ``merge_with`` (a shipped
    short name, an installed package or a pipeline directory) it runs inside
    that pipeline right after its NER, and ``medner_merge_entities`` merges
    the NER's ``doc.ents`` and the classifier's ``doc.spans["hf"]`` (``merge_policy``)
    into ``doc.ents`` before the pipeline's own later components read them.
    """
    import medner.evaluation.spans  # noqa: F401  (scorers)
    import medner.ner.hf.component  # noqa: F401  (factories)
    import medner.ner.merge  # noqa: F401

    from ... import __version__
    from ...tokenizer import blank_biomedical

    hf_config = {"label_map": labels.label_map, "set_ents": "overwrite"}
    merged_with = None
    if merge_with is None:
        nlp = blank_biomedical()
        # model_dir stays null: the weights come from the saved pipeline, never from the cache path
        hf = nlp.add_pipe("hf_token_classifier", name=HF_PIPE, config=hf_config)
    else:
        nlp = _merge_base(merge_with)
        merged_with = f"{nlp.lang}_{nlp.meta['name']} {nlp.meta.get('version', '')}".strip()
        ner = [n for n in nlp.pipe_names if nlp.get_pipe_meta(n).factory in NER_FACTORIES]
        if not ner or HF_PIPE in nlp.pipe_names or MERGE_PIPE in nlp.pipe_names:
            raise HFImportError(f"--merge-with {merge_with}: needs a pipeline with an NER and no '{HF_PIPE}' or "
                                f"'{MERGE_PIPE}' component, it has {', '.join(nlp.pipe_names)}")
        hf = nlp.add_pipe("hf_token_classifier", name=HF_PIPE, after=ner[-1], config=dict(hf_config, set_ents="none"))
        nlp.add_pipe("medner_merge_entities", name=MERGE_PIPE, after=HF_PIPE,
                     config={"sources": ["ents", HF_PIPE], "policy": merge_policy})
    try:
        hf.load_model(model.path)
    except (OSError, ValueError) as err:
        raise HFImportError(f"{model.source}: {_first_line(err)}") from None
    sources = {}
    # the shipped order: assertion, the abbreviation detector the linker reads long forms from, linker
    wanted = [("--with-assertion", ASSERTION_SOURCES, ("medner_assertion",))] if with_assertion else []
    if with_linker:
        wanted.append(("--with-linker", LINKER_SOURCES, ("medner_abbreviations", "medner_linker")))
    for option, packages, factories in wanted:
        source = _shipped_source(packages, option)
        sources[f"{source.lang}_{source.meta['name']}"] = source
        for pipe_name in source.pipe_names:
            if source.get_pipe_meta(pipe_name).factory in factories and pipe_name not in nlp.pipe_names:
                nlp.add_pipe(pipe_name, source=source)
    nlp.meta["name"] = name or package_name(model.source)
    nlp.meta["description"] = f"Hugging Face token classifier {model.source} in a medner pipeline ({', '.join(nlp.pipe_names)})"
    nlp.meta["sources"] = [{"name": model.source, "url": _model_url(model.source)}]
    nlp.meta["medner"] = {
        "import_hf": {
            "model": model.source,
            "revision": model.revision,
            "label_map": labels.label_map,
            "unmapped_labels": labels.unmapped,
            "components_from": {n: s.meta.get("version") for n, s in sources.items()},
            "merged_with": merged_with,
            "medner_version": __version__,
        }
    }
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output_dir)
    return nlp


def _merge_base(model: str):
    import spacy

    from ...annotate.pipelines import PipelineNotFound, resolve

    try:
        return spacy.load(resolve(model))
    except PipelineNotFound as err:
        raise HFImportError(f"--merge-with: {err}") from None


def package_name(source: str) -> str:
    """A spaCy package name for a model: ``d4data/biomedical-ner-all`` -> ``hf_d4data_biomedical_ner_all``."""
    stem = re.sub(r"[^a-z0-9]+", "_", Path(source).name.lower() if Path(source).is_dir() else source.lower())
    return "hf_" + stem.strip("_")


def _model_url(source: str) -> str:
    return source if Path(source).is_dir() else f"https://huggingface.co/{source}"


def package_pipeline(nlp, pipeline_dir: Union[str, Path], package_dir: Union[str, Path], version: str) -> Path:
    """A pip-installable wheel of the saved pipeline (and the medner wheel it requires, in ``wheels/``)."""
    from ... import __version__
    from ...release.packaging import SPACY_RANGE, build_medner_wheel, build_pipeline_wheel, medner_requirement, output_labels

    import importlib.util
    import subprocess

    if importlib.util.find_spec("build") is None and importlib.util.find_spec("wheel") is None:
        raise HFImportError(f"--package builds wheels with `spacy package`, which needs the 'build' package: pip install build "
                            f"(the pipeline itself is in {pipeline_dir})")
    package_dir = Path(package_dir)
    meta = {
        "name": nlp.meta["name"],
        "version": version,
        "description": nlp.meta["description"],
        "author": "medner import-hf",
        "license": "see the model's card at its source",
        "sources": nlp.meta["sources"],
        "requirements": [medner_requirement(nlp, __version__)],
        "spacy_version": SPACY_RANGE,
        "medner": dict(nlp.meta["medner"], labels=output_labels(nlp)),
    }
    try:
        build_medner_wheel(package_dir / "wheels")
        return build_pipeline_wheel(pipeline_dir, package_dir, meta)
    except subprocess.CalledProcessError as err:
        raise HFImportError(f"--package: {' '.join(err.cmd[1:4])} failed (its output is above); "
                            f"the pipeline itself is in {pipeline_dir}") from None


def import_hf(
    model: Union[str, Path],
    output_dir: Union[str, Path],
    *,
    labels_map: Optional[str] = None,
    with_linker: bool = False,
    with_assertion: bool = False,
    merge_with: Optional[str] = None,
    merge_policy: str = "prefer_first",
    allow_download: bool = False,
    revision: Optional[str] = None,
    cache_dir: Optional[Union[str, Path]] = None,
    package_dir: Optional[Union[str, Path]] = None,
    name: Optional[str] = None,
    version: str = "1.0.0",
) -> ImportReport:
    """Resolve, check, map labels, build the pipeline in ``output_dir`` (and its wheel in ``package_dir``)."""
    resolved = resolve_model(model, allow_download=allow_download, revision=revision, cache_dir=cache_dir)
    id2label = check_model(resolved.path, resolved.source)
    labels = map_labels(entity_labels(id2label), labels_map)
    if merge_policy not in MERGE_POLICIES:
        raise HFImportError(f"--merge-policy {merge_policy}: expected one of {', '.join(MERGE_POLICIES)}")
    nlp = build_pipeline(resolved, labels, output_dir, with_linker=with_linker, with_assertion=with_assertion,
                         merge_with=merge_with, merge_policy=merge_policy, name=name)
    wheel = package_pipeline(nlp, output_dir, package_dir, version) if package_dir is not None else None
    return ImportReport(Path(output_dir), resolved, labels, list(nlp.pipe_names), wheel)

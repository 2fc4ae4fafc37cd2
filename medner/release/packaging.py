"""What a pipeline package declares: its labels, the medner extra it needs, spaCy's range, checksums.

Shared by ``scripts/package.py`` (wheel meta), ``scripts/release.py``
(manifests) and the release tests, so a wheel and its manifest cannot disagree.
"""
import hashlib
import os
import subprocess
import venv
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Union

SPACY_RANGE = ">=3.8.0,<3.9.0"
# Components that need PyTorch and transformers: their pipelines require medner[transformers].
TRANSFORMER_FACTORIES = {"transformer", "hf_token_classifier"}


def medner_requirement(nlp, version: str) -> str:
    """``medner`` for CNN pipelines, ``medner[transformers]`` when a component needs torch."""
    major, minor = (int(x) for x in version.split(".")[:2])
    factories = {nlp.get_pipe_meta(name).factory for name in nlp.component_names}
    extra = "[transformers]" if factories & TRANSFORMER_FACTORIES else ""
    return f"medner{extra}>={version},<{major}.{minor + 1}.0"


NER_FACTORIES = {"ner", "beam_ner", "entity_ruler", "span_ruler"}


def output_labels(nlp, until: Optional[str] = None) -> List[str]:
    """The labels a pipeline (up to, not including, component ``until``) can put in ``doc.ents``,
    following medner's plumbing: ``medner_stash_entities`` keeps and renames, ``medner_merge_entities``
    unions its sources, ``hf_token_classifier`` writes its span group (and ``doc.ents`` unless
    ``set_ents`` is ``"none"``), ``medner_label_filter`` keeps its labels."""
    in_ents: set = set()
    groups: Dict[str, set] = {}
    for name, pipe in nlp.pipeline:
        if name == until:
            break
        factory = nlp.get_pipe_meta(name).factory
        if factory == "medner_stash_entities":
            kept = {label for label in in_ents if not pipe.labels or label in pipe.labels}
            groups[pipe.spans_key] = {pipe.label_map.get(label, label) for label in kept}
            if pipe.clear_ents:
                in_ents = set()
        elif factory == "medner_merge_entities":
            merged = set()
            for source in pipe.cfg["sources"]:
                merged |= in_ents if source == "ents" else groups.get(source, set())
            groups[pipe.cfg["spans_key"]] = merged
            if pipe.cfg["set_ents"]:
                in_ents = set(merged)
        elif factory == "hf_token_classifier":
            labels = set(getattr(pipe, "labels", ()) or ())
            groups[pipe.cfg["spans_key"]] = labels
            if pipe.cfg["set_ents"] != "none":
                in_ents |= labels
        elif factory in NER_FACTORIES:
            in_ents |= set(pipe.labels)
        elif factory == "medner_label_filter" and pipe.labels:
            in_ents &= set(pipe.labels)
            if pipe.spans_key in groups:
                groups[pipe.spans_key] &= set(pipe.labels)
    return sorted(in_ents)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def wheel_requirements(wheel: Path) -> List[str]:
    """``Requires-Dist`` values of a wheel's METADATA."""
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        lines = zf.read(name).decode("utf-8").splitlines()
    return [line.split(":", 1)[1].strip() for line in lines if line.startswith("Requires-Dist:")]


class CleanVenv:
    """A fresh virtual environment to check wheels as a user installs them.

    Its processes see no user site-packages and no ``PYTHONPATH`` (so nothing
    of the project's own environment leaks in) and have the Hugging Face hub
    switched off (so a load that would download fails).
    """

    def __init__(self, directory: Union[str, Path]):
        venv.EnvBuilder(with_pip=True, clear=True).create(directory)
        self.python = str(Path(directory) / "bin" / "python")
        self.env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONNOUSERSITE": "1"}
        self.env.pop("PYTHONPATH", None)

    def pip_install(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
                              env=self.env, capture_output=True, text=True)

    def run(self, code: str, *args: str, cwd: Union[str, Path]) -> subprocess.CompletedProcess:
        """``python -c code args`` in the venv, from ``cwd`` (an empty directory: no local imports)."""
        return subprocess.run([self.python, "-c", code, *args], cwd=cwd, env=self.env, capture_output=True, text=True)

"""Tiny versions of every shipped pipeline, built from the real configs, for the test battery.

``tiny_pipelines`` (a session-scoped fixture in ``tests/conftest.py``) builds, once per test session, and saves to disk:

* ``cnn``: ``configs/cnn.cfg`` (biomedical tokenizer, tok2vec CNN + ner) with
  small widths, a few updates on a handful of BC5CDR training abstracts;
* ``trf``: ``configs/trf.cfg`` (spacy-transformers over a local HF directory)
  on a tiny random BERT base, small windows, a few updates;
* ``hf``: ``configs/hf_pipeline.cfg`` assembled (``medner.ner.assembly``) around
  a tiny *keyword* BERT token classifier (``tests/tiny_bert.py``: predictions
  are context-free and known exactly; 128 positions, so long texts need many
  windows);
* ``combined``: ``configs/combined_clinical.cfg`` assembled from the tiny
  ``cnn`` pipeline and the same keyword model;
* ``ensemble``: ``configs/ensemble.cfg`` assembled from the tiny ``cnn``,
  the tiny ``trf`` and the keyword model (vote of three).

Training documents come from ``assets/bc5cdr/CDR_TrainingSet.PubTator.txt``
(committed, so a clean clone without ``corpus/`` has them) through
``read_pubtator`` + ``source_to_doc``; if that file is missing, from a few
hand-made documents.

The cache is module-level, so every test session builds the pipelines once.
"""
import os
from itertools import islice
from pathlib import Path
from typing import Dict, List


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
PUBTATOR = ROOT / "assets" / "bc5cdr" / "CDR_TrainingSet.PubTator.txt"

NAMES = ("cnn", "trf", "hf", "combined", "ensemble")
HF_BASED = ("hf", "combined", "ensemble")  # pipelines with hf_token_classifier (keyword model)
HF_FILLS_ENTS = ("hf", "combined")  # doc.ents gets every hf span not overlapping another (not a vote)
KEYWORDS = {"aspirin": "B-CHEMICAL", "ibuprofen": "B-CHEMICAL", "fever": "B-DISEASE", "renal": "B-DISEASE", "failure": "I-DISEASE"}
KEYWORD_MAX_POSITIONS = 128  # the hf component's window is capped at this

# Texts for comparing predictions (serialization etc.)
TEXTS = [
    "The patient was given aspirin for fever and developed acute renal failure.",
    "Famotidine-associated delirium: a series of six cases.",
    "Naloxone reverses the antihypertensive effect of clonidine in 5-HT treated rats.",
    "",
    "Line one\r\nibuprofen overdose\r\n",
]

CNN_OVERRIDES = {
    "components.tok2vec.model.embed.rows": [500, 100, 100, 100],
    "components.tok2vec.model.encode.width": 16,
    "components.tok2vec.model.encode.depth": 1,
    "components.ner.model.hidden_width": 16,
    "training.optimizer.learn_rate": 0.01,  # so that 30 updates give a model that predicts entities
}
TRF_OVERRIDES = {
    "components.transformer.model.get_spans.window": 48,
    "components.transformer.model.get_spans.stride": 32,
    "components.ner.model.hidden_width": 16,
    "system.gpu_allocator": None,
    "training.gpu_allocator": None,
}

_CACHE: Dict[str, object] = {}


def training_docs(nlp, n: int = 4) -> List:
    """``n`` BC5CDR training abstracts as gold docs (hand-made ones if the asset is missing)."""
    from spacy.tokens import Span

    if PUBTATOR.exists():
        from medner.corpus.align import FileReport, source_to_doc
        from medner.corpus.datasets import DATASETS
        from medner.corpus.readers import read_pubtator

        label_map = DATASETS["bc5cdr"].label_map
        report = FileReport(path=str(PUBTATOR))
        return [source_to_doc(nlp, src, report, label_map=label_map) for src in islice(read_pubtator(PUBTATOR), n)]
    docs = []
    for text, ents in [
        ("Aspirin induced renal failure in the patient.", [(0, 1, "CHEMICAL"), (2, 4, "DISEASE")]),
        ("Fever after ibuprofen overdose.", [(0, 1, "DISEASE"), (2, 3, "CHEMICAL")]),
    ] * (n // 2 or 1):
        doc = nlp.make_doc(text)
        doc.ents = [Span(doc, s, e, label) for s, e, label in ents]
        docs.append(doc)
    return docs


def _train(nlp, docs, steps: int = 3):
    from spacy.training import Example

    from spacy.util import fix_random_seed

    # Seeded: the tiny models' predictions must not depend on which tests ran before them
    # (test_long_document[combined] failed when an earlier test had used the random state).
    fix_random_seed(0)
    examples = [Example(nlp.make_doc(d.text), d) for d in docs]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer, drop=0.1)
    return nlp


def build_cnn(path: Path):
    from spacy import util

    import medner.tokenizer  # noqa: F401

    config = util.load_config(CONFIGS / "cnn.cfg", overrides=CNN_OVERRIDES)
    nlp = util.load_model_from_config(config, auto_fill=True)
    _train(nlp, training_docs(nlp), steps=30)
    nlp.to_disk(path)
    return nlp


def build_trf(path: Path, base_dir: Path):
    from spacy import util

    import medner.ner.hf.models  # noqa: F401
    import medner.tokenizer  # noqa: F401

    overrides = dict(TRF_OVERRIDES, **{"paths.transformer_model": str(base_dir)})
    config = util.load_config(CONFIGS / "trf.cfg", overrides=overrides)
    nlp = util.load_model_from_config(config, auto_fill=True)
    _train(nlp, training_docs(nlp, 2), steps=2)
    nlp.to_disk(path)
    return nlp


def build_assembled(config_name: str, path: Path, overrides: dict):
    from medner.ner.assembly import assemble

    return assemble(CONFIGS / config_name, path, dict(overrides, **{"components.hf.device": "cpu"}))


class TinyPipelines:
    """Tiny pipelines: ``paths[name]`` (saved), ``built[name]`` (in memory), ``load(name)`` (cached)."""

    def __init__(self, root: Path):
        import torch

        from tiny_bert import make_tiny_token_classifier

        torch.set_num_threads(1)
        self.root = Path(root)
        self.keyword_model = make_tiny_token_classifier(
            self.root / "keyword_bert", ["CHEMICAL", "DISEASE"], keywords=KEYWORDS, max_positions=KEYWORD_MAX_POSITIONS
        )
        self.base_model = make_tiny_token_classifier(self.root / "base_bert", ["CHEMICAL", "DISEASE"], max_positions=512, seed=3)
        self.paths = {name: self.root / name for name in NAMES}
        self.built = {}
        self.built["cnn"] = build_cnn(self.paths["cnn"])
        self.built["trf"] = build_trf(self.paths["trf"], self.base_model)
        self.built["hf"] = build_assembled("hf_pipeline.cfg", self.paths["hf"], {"paths.hf_model": str(self.keyword_model)})
        self.built["combined"] = build_assembled(
            "combined_clinical.cfg",
            self.paths["combined"],
            {"paths.ner_model": str(self.paths["cnn"]), "paths.hf_model": str(self.keyword_model)},
        )
        self.built["ensemble"] = build_assembled(
            "ensemble.cfg",
            self.paths["ensemble"],
            {"paths.cnn_model": str(self.paths["cnn"]), "paths.trf_model": str(self.paths["trf"]),
             "paths.hf_model": str(self.keyword_model), "system.gpu_allocator": None},
        )
        self._loaded: Dict[str, object] = {}

    def load(self, name: str):
        """``spacy.load`` of the saved pipeline ``name`` (once per session)."""
        import spacy

        if name not in self._loaded:
            self._loaded[name] = spacy.load(self.paths[name])
        return self._loaded[name]


def get_tiny_pipelines(root: Path) -> TinyPipelines:
    if "pipelines" not in _CACHE:
        _CACHE["pipelines"] = TinyPipelines(root)
    return _CACHE["pipelines"]


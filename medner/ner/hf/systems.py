"""One Hugging Face token classifier run four ways, defined once for the comparison and the benchmark.

``scripts/compare_hf.py`` (what each way predicts) and
``scripts/benchmark_hf.py`` (how fast) run the same systems on the same
texts; both build them here, so a change to how a system is set up reaches
both reports.

* ``raw``: ``transformers.pipeline("token-classification", aggregation_strategy="simple")``;
  entities are word-piece groups, so they can start or end inside a word.
* ``hf_token_pipe``: spacy-huggingface-pipelines' component (same
  aggregation, ``alignment_mode="strict"``), which drops, with a warning,
  every prediction that does not fall on spaCy token boundaries.
* ``medner``: ``hf_token_classifier`` on ``medner.tokenizer.blank_biomedical()``
  (``doc.spans["hf"]`` with scores).
* ``combined``: a saved pipeline (``spacy.load``), ``doc.ents`` with
  provenance from the merge component's ``doc.spans["medner"]``.

Every system predicts, per text, a list of entity dicts with at least
``start``, ``end`` (character offsets) and ``label``; the other keys are
what that system can tell (``score``, ``word``, ``span_text``, ``tokens``,
``source``, ``agreement``). All run on the CPU, the same device for all.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

SYSTEM_NAMES = ("raw", "hf_token_pipe", "medner", "combined")
Entities = List[Dict[str, Any]]


def find_hf_component(nlp) -> Optional[tuple]:
    """``(name, component)`` of the first ``hf_token_classifier`` in ``nlp``, else ``None``."""
    from .component import HFTokenClassifier

    for name, pipe in nlp.pipeline:
        if isinstance(pipe, HFTokenClassifier):
            return name, pipe
    return None


class RawTransformers:
    """``transformers.pipeline`` over the texts, as the original notebook ran the model.

    Without ``stride`` the 4.x pipeline silently truncates a text to
    ``model_max_length`` pieces; pass one to make it read long texts whole.
    """

    name = "raw"

    def __init__(self, model_dir: Union[str, Path], *, stride: Optional[int] = None, batch_size: Optional[int] = None):
        from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.hf_model = AutoModelForTokenClassification.from_pretrained(str(model_dir), local_files_only=True)
        options: Dict[str, Any] = {}
        if stride is not None and stride >= 0:
            options["stride"] = stride
        if batch_size is not None:
            options["batch_size"] = batch_size
        self.pipeline = pipeline(
            "token-classification", model=self.hf_model, tokenizer=self.tokenizer,
            aggregation_strategy="simple", device=-1, **options,
        )
        self.info: Dict[str, Any] = {
            "stride": options.get("stride"), "batch_size": batch_size, "model_max_length": self.tokenizer.model_max_length,
        }

    def predict(self, texts: Sequence[str]) -> List[Entities]:
        outputs = self.pipeline(list(texts)) if texts else []
        if outputs and isinstance(outputs[0], dict):
            outputs = [outputs]  # a single text gives a flat list
        return [
            [{"label": e["entity_group"], "score": float(e["score"]), "word": e["word"],
              "start": int(e["start"]), "end": int(e["end"])} for e in output]
            for output in outputs
        ]


class HFTokenPipe:
    """spacy-huggingface-pipelines' ``hf_token_pipe`` on the biomedical tokenizer.

    ``skipped`` counts its "Skipping annotation" warnings (predictions it
    dropped): per text with ``per_text=True`` (one text at a time), else one
    total per :meth:`predict` call (batched, as in use).
    """

    name = "hf_token_pipe"

    def __init__(self, model_dir: Union[str, Path], *, stride: Optional[int] = None, batch_size: Optional[int] = None,
                 per_text: bool = False):
        import spacy_huggingface_pipelines  # noqa: F401  (registers hf_token_pipe)

        from medner.tokenizer import blank_biomedical

        config: Dict[str, Any] = {"model": str(model_dir), "aggregation_strategy": "simple", "alignment_mode": "strict"}
        if stride is not None:
            config["stride"] = stride
        if batch_size is not None:
            config["kwargs"] = {"batch_size": batch_size}
        self.nlp = blank_biomedical()
        self.nlp.add_pipe("hf_token_pipe", config=config)
        self.per_text = per_text
        self.skipped: List[int] = []
        self.info: Dict[str, Any] = {"stride": stride, "batch_size": batch_size, "alignment_mode": "strict"}

    def _docs(self, texts: Sequence[str]) -> List[Any]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            docs = list(self.nlp.pipe(texts))
        self.skipped.append(sum(1 for w in caught if "Skipping annotation" in str(w.message)))
        return docs

    def predict(self, texts: Sequence[str]) -> List[Entities]:
        self.skipped = []
        docs = [doc for text in texts for doc in self._docs([text])] if self.per_text else self._docs(texts)
        return [
            [{"label": e.label_, "start": e.start_char, "end": e.end_char, "tokens": [e.start, e.end]} for e in doc.ents]
            for doc in docs
        ]


class MednerHF:
    """``hf_token_classifier`` on ``blank_biomedical()``; ``stats`` holds each text's component counts."""

    name = "medner"

    def __init__(self, model_dir: Union[str, Path], *, stride: Optional[int] = None, batch_size: Optional[int] = None):
        from medner.tokenizer import blank_biomedical

        config: Dict[str, Any] = {"model_dir": str(model_dir), "device": "cpu"}
        if stride is not None:
            config["stride"] = stride
        if batch_size is not None:
            config["batch_size"] = batch_size
        self.nlp = blank_biomedical()
        self.component = self.nlp.add_pipe("hf_token_classifier", config=config)
        self.component.initialize()
        self.stats: List[Dict[str, int]] = []
        self.info: Dict[str, Any] = {"stride": self.component.effective_stride,
                                     "window": self.component.effective_window, "batch_size": batch_size}

    def predict(self, texts: Sequence[str]) -> List[Entities]:
        out, self.stats = [], []
        stats_key = f"medner.{self.component.name}.stats"
        for doc in self.nlp.pipe(texts):
            group = doc.spans[self.component.spans_key]
            scores = group.attrs.get("scores", [None] * len(group))
            out.append([
                {"label": s.label_, "score": None if score is None else float(score), "start": s.start_char,
                 "end": s.end_char, "span_text": s.text, "tokens": [s.start, s.end]}
                for s, score in zip(group, scores)
            ])
            self.stats.append(dict(doc.user_data.get(stats_key, {})))
        return out


class CombinedPipeline:
    """A saved pipeline's ``doc.ents``, each with the merge component's source, agreement and score."""

    name = "combined"

    def __init__(self, pipeline_dir: Union[str, Path]):
        import spacy

        self.nlp = spacy.load(pipeline_dir)
        self.info: Dict[str, Any] = {"pipe_names": list(self.nlp.pipe_names)}
        found = find_hf_component(self.nlp)
        if found is not None:
            name, hf = found
            self.info["hf"] = {"name": name, "model_dir": hf.cfg.get("model_dir"), "batch_size": hf.cfg["batch_size"],
                               "stride": hf.cfg["stride"], "window": hf.cfg["window"], "device": hf.cfg["device"]}

    def predict(self, texts: Sequence[str]) -> List[Entities]:
        out = []
        for doc in self.nlp.pipe(texts):
            provenance = {}
            if "medner" in doc.spans:
                merged = doc.spans["medner"]
                missing = [None] * len(merged)
                columns = (merged.attrs.get(key, missing) for key in ("sources", "agreement", "scores"))
                for span, source, agreement, score in zip(merged, *columns):
                    provenance[(span.start, span.end, span.label_)] = (source, agreement, score)
            entities = []
            for ent in doc.ents:
                source, agreement, score = provenance.get((ent.start, ent.end, ent.label_), (None, None, None))
                entities.append({"label": ent.label_, "start": ent.start_char, "end": ent.end_char,
                                 "span_text": ent.text, "source": source, "agreement": agreement,
                                 "score": None if score is None else float(score), "tokens": [ent.start, ent.end]})
            out.append(entities)
        return out


def make_system(name: str, model_dir: Union[str, Path], *, combined: Optional[Union[str, Path]] = None,
                stride: Optional[int] = None, batch_size: Optional[int] = None, per_text: bool = False):
    """Load system ``name`` (one of :data:`SYSTEM_NAMES`); ``combined`` is the saved pipeline's directory."""
    if name == "raw":
        return RawTransformers(model_dir, stride=stride, batch_size=batch_size)
    if name == "hf_token_pipe":
        return HFTokenPipe(model_dir, stride=stride, batch_size=batch_size, per_text=per_text)
    if name == "medner":
        return MednerHF(model_dir, stride=stride, batch_size=batch_size)
    if name == "combined":
        if combined is None:
            raise ValueError("the combined system needs a saved pipeline directory")
        return CombinedPipeline(combined)
    raise ValueError(f"unknown system {name!r}; choose from {', '.join(SYSTEM_NAMES)}")


def mid_word(text: str, start: int, end: int) -> Dict[str, bool]:
    """Whether ``start`` / ``end`` cut through a word (alphanumeric characters on both sides)."""
    cut_start = 0 < start < len(text) and text[start - 1].isalnum() and text[start].isalnum()
    cut_end = 0 < end < len(text) and text[end - 1].isalnum() and text[end].isalnum()
    return {"start_mid_word": bool(cut_start), "end_mid_word": bool(cut_end)}


def mid_word_count(text: str, entities: Entities) -> int:
    """Entities whose start or end lies inside a word."""
    return sum(any(mid_word(text, e["start"], e["end"]).values()) for e in entities)


def read_paragraphs(path: Union[str, Path]) -> List[str]:
    """Blocks of non-empty lines separated by blank lines, each block's lines stripped and joined with spaces."""
    paragraphs, current = [], []
    for line in Path(path).read_text(encoding="utf8").splitlines():
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs

"""``hf_token_classifier``: a local Hugging Face token classifier as a spaCy component.

Usage::

    nlp = medner.tokenizer.blank_biomedical()
    nlp.add_pipe("hf_token_classifier", config={"model_dir": "training/maccrobat_hf/model"})
    nlp.initialize()            # or let the first call load model_dir lazily
    doc = nlp(text)
    doc.spans["hf"], doc.spans["hf"].attrs["scores"]

How predictions reach spaCy tokens
----------------------------------
The raw ``doc.text`` is tokenized with the model's *fast* tokenizer (offset
mapping on), exactly like training (``scripts/train_hf.py``). Every word piece
is mapped to the spaCy token it starts in (:func:`medner.ner.hf.alignment.piece_to_token`),
piece probabilities are aggregated per token (``first`` piece like training,
``average`` or ``max``), the argmax gives one tag per spaCy token, and BIO
decoding gives token spans. Entities are ``Span(doc, start, end, label)``
objects, so they always cover whole spaCy tokens and their character offsets
are those of the text. A spaCy token that no piece starts in (one piece spans
two spaCy tokens, e.g. "cannot" -> "can" + "not") inherits the prediction of
the piece covering it, as a continuation (``B-`` becomes ``I-``).

Long texts are cut into overlapping windows (:mod:`medner.ner.hf.windows`); for
every piece the prediction of the window in which it is furthest from a cut
edge is kept. Nothing is truncated.

Nothing is dropped silently: ``component.stats`` (a ``Counter``) and
``doc.user_data["medner.<name>.stats"]`` count pieces whose non-``O``
prediction could not be placed on a token (``unplaced_pieces``), tokens that
inherited a covering piece's prediction (``inherited_tokens``), non-space
tokens without any piece (``tokens_without_pieces``), spans removed by the
threshold (``below_threshold``) and spans that began with an ``I-`` tag
(``orphan_inside``), besides ``docs``, ``windows``, ``pieces`` and ``spans``.

Where it runs: on Thinc's current device (``thinc.api.get_torch_default_device()``),
so ``spacy.require_gpu()``, ``spacy ... --gpu-id 0`` and ``medner annotate
--gpu-id 0`` move it to the GPU like every other spaCy component; the
``device`` setting is only an explicit override (``"cpu"``, ``"cuda:1"``).

Saved layout (``to_disk``; fields ``cfg`` and ``model``, so
``exclude=["model"]`` works): ``<component>/cfg`` (settings plus
``saved_model``) and ``<component>/model/`` (``save_pretrained`` output of the
model and its tokenizer). Unchanged since the first release, so pipelines
saved then keep loading (``tests/data/hf_pipeline_v1``).
"""
import io
import tarfile
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Literal, Optional, Sequence

import numpy as np
import srsly
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example
from spacy import util
from spacy.util import ensure_path, minibatch
from spacy.vocab import Vocab

from medner.evaluation.spans import score_spans_or_ents

from .alignment import NO_TOKEN, piece_to_token, token_char_bounds
from .windows import (
    AGGREGATIONS,
    aggregate_tokens,
    covering_piece,
    decode_tag_ids,
    plan_windows,
    reconcile,
    special_layout,
)

SET_ENTS = ("none", "overwrite", "fill")
SetEnts = Literal["none", "overwrite", "fill"]
Aggregation = Literal["first", "average", "max"]
# "auto" is what pipelines saved before the device followed Thinc carry in their config.cfg
THINC_DEVICE = (None, "auto")
# weights files ``from_pretrained`` reads, in its order of preference (sharded: the index)
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt")
STAT_KEYS = ("unplaced_pieces", "inherited_tokens", "tokens_without_pieces", "below_threshold", "orphan_inside")

DEFAULT_CONFIG: Dict[str, Any] = {
    "model_dir": None,
    "label_map": {},
    "spans_key": "hf",
    "set_ents": "none",
    "batch_size": 16,
    "window": 512,
    "stride": 128,
    "aggregation": "first",
    "threshold": 0.0,
    "device": None,
    "scorer": {"@scorers": "medner.spans_or_ents_scorer.v1"},
}


@Language.factory(
    "hf_token_classifier",
    default_config=DEFAULT_CONFIG,
    assigns=["doc.spans", "doc.ents"],
    default_score_weights={"spans_hf_f": 1.0, "spans_hf_p": 0.0, "spans_hf_r": 0.0},
)
def make_hf_token_classifier(
    nlp: Language,
    name: str,
    model_dir: Optional[str],
    label_map: Dict[str, str],
    spans_key: str,
    set_ents: SetEnts,
    batch_size: int,
    window: int,
    stride: int,
    aggregation: Aggregation,
    threshold: float,
    device: Optional[str],
    scorer: Optional[Callable],
) -> "HFTokenClassifier":
    """Create an ``hf_token_classifier``.

    model_dir (Optional[str]): local directory holding a Hugging Face
        ``AutoModelForTokenClassification`` and its *fast* tokenizer
        (``save_pretrained`` output). Loaded in ``initialize()`` or lazily on
        first use; may be null when the weights come from ``from_disk``
        (``spacy.load`` of a saved pipeline). Never downloads anything.
    label_map (Dict[str, str]): HF entity label (without ``B-``/``I-``) ->
        spaCy label, e.g. ``{"Medication": "MEDICATION"}``. Unmapped labels
        pass through unchanged.
    spans_key (str): ``doc.spans`` key the predictions are written to
        (default ``"hf"``); ``attrs["scores"]`` holds one score per span.
    set_ents (str): how to write ``doc.ents``: ``"none"`` (default, leave
        them), ``"overwrite"`` (replace them with the predictions) or
        ``"fill"`` (add only predictions that overlap no existing entity).
    batch_size (int): windows per forward pass.
    window (int): maximum word pieces per window, special tokens included
        (default 512; capped at what the model's position embeddings and
        tokenizer allow, see ``effective_window``).
    stride (int): word pieces shared by consecutive windows (default 128;
        if it does not fit the capped window it is reduced to half the
        window's content, see ``effective_stride``).
    aggregation (str): how a spaCy token's piece probabilities are combined:
        ``"first"`` (default; the piece training labels), ``"average"``, ``"max"``.
    threshold (float): minimum span score (mean over its tokens of the
        token's top probability); lower-scoring spans are dropped and counted.
    device (Optional[str]): ``null`` (default): Thinc's current device, so
        ``spacy.require_gpu()`` / ``--gpu-id`` decide; an explicit override
        (``"cpu"``, ``"cuda"``, ``"cuda:N"``) pins the component there.
        ``"auto"`` (the old default, in configs saved before) means ``null``.
    scorer (Optional[Callable]): scoring function, default
        ``medner.spans_or_ents_scorer.v1`` (span group vs gold ``doc.ents``,
        keys ``spans_<spans_key>_{p,r,f}``).
    """
    return HFTokenClassifier(
        nlp.vocab,
        name,
        model_dir=model_dir,
        label_map=label_map,
        spans_key=spans_key,
        set_ents=set_ents,
        batch_size=batch_size,
        window=window,
        stride=stride,
        aggregation=aggregation,
        threshold=threshold,
        device=device,
        scorer=scorer,
    )


class _DocPrediction:
    """Per-document output of :meth:`HFTokenClassifier.predict`."""

    __slots__ = ("starts", "ends", "entity_ids", "scores", "stats")

    def __init__(self, starts, ends, entity_ids, scores, stats):
        self.starts, self.ends, self.entity_ids, self.scores, self.stats = starts, ends, entity_ids, scores, stats


class HFTokenClassifier(Pipe):
    """Run a Hugging Face token classifier and write its entities as spaCy spans."""

    def __init__(
        self,
        vocab: Vocab,
        name: str = "hf_token_classifier",
        *,
        model_dir: Optional[str] = None,
        label_map: Optional[Dict[str, str]] = None,
        spans_key: str = "hf",
        set_ents: str = "none",
        batch_size: int = 16,
        window: int = 512,
        stride: int = 128,
        aggregation: str = "first",
        threshold: float = 0.0,
        device: Optional[str] = None,
        scorer: Optional[Callable] = score_spans_or_ents,
    ) -> None:
        if set_ents not in SET_ENTS:
            raise ValueError(f"set_ents must be one of {SET_ENTS}, got {set_ents!r}")
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if window < 3 or not 0 <= stride < window:
            raise ValueError(f"need window >= 3 and 0 <= stride < window, got {window}, {stride}")
        if device not in THINC_DEVICE:
            _torch_device(device)  # a bad override fails here, not at the first document
        self.vocab = vocab
        self.name = name
        # the torch module (``self.model`` is a Thinc Model in spaCy pipes; this is none)
        self.hf_model = None
        self.tokenizer = None
        self.scorer = scorer
        self.stats: Counter = Counter()
        self.cfg: Dict[str, Any] = {
            "model_dir": str(model_dir) if model_dir is not None else None,
            "label_map": dict(label_map or {}),
            "spans_key": spans_key,
            "set_ents": set_ents,
            "batch_size": int(batch_size),
            "window": int(window),
            "stride": int(stride),
            "aggregation": aggregation,
            "threshold": float(threshold),
            "device": device,
        }

    # ------------------------------------------------------------------ config
    @property
    def spans_key(self) -> str:
        return self.cfg["spans_key"]

    @property
    def labels(self) -> tuple:
        """spaCy entity labels the model predicts (after ``label_map``); empty before it is loaded.

        Does not load the model (spaCy reads it for ``meta.json`` before ``from_disk``).
        """
        if self.hf_model is None:
            return ()
        return tuple(self._entity_labels)

    @property
    def effective_window(self) -> int:
        """``window`` capped at the model's maximum sequence length."""
        self._ensure_model()
        return self._window

    @property
    def effective_stride(self) -> int:
        """``stride``, reduced to half the window's content if it does not fit the capped window."""
        self._ensure_model()
        return self._stride

    # ----------------------------------------------------------------- loading
    def initialize(
        self,
        get_examples: Optional[Callable[[], Iterable[Example]]] = None,
        *,
        nlp: Optional[Language] = None,
        model_dir: Optional[str] = None,
    ) -> None:
        """Load the model from ``model_dir`` (argument or config). Examples are not needed."""
        if model_dir is not None:
            self.cfg["model_dir"] = str(model_dir)
        if self.cfg["model_dir"] is None:
            if self.hf_model is None:
                raise ValueError(f"[{self.name}] no model_dir configured and no model loaded")
            return
        self.load_model(self.cfg["model_dir"])

    def _ensure_model(self) -> None:
        if self.hf_model is None:
            if not self.cfg["model_dir"]:
                raise ValueError(
                    f"[{self.name}] no model loaded: set model_dir, call initialize(), or load a saved pipeline"
                )
            self.load_model(self.cfg["model_dir"])

    def _resolve_device(self):
        """The configured override, else Thinc's current device (``spacy.require_gpu`` decides)."""
        device = self.cfg["device"]
        if device in THINC_DEVICE:
            from thinc.api import get_torch_default_device

            return get_torch_default_device()
        return _torch_device(device)

    def load_model(self, path) -> None:
        """Load model and fast tokenizer from a local ``save_pretrained`` directory.

        A missing directory, ``config.json`` or weights file raises
        ``FileNotFoundError``, and a file that cannot be read (truncated,
        corrupt) raises ``OSError``; both messages name the file, instead of
        transformers' generic errors (or its misleading "requires the
        protobuf library" for a broken ``tokenizer.json``).
        """
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"[{self.name}] model directory not found: {path}")
        config_file = path / "config.json"
        if not config_file.is_file():
            raise FileNotFoundError(f"[{self.name}] model config missing: {config_file}")
        weights = [path / name for name in WEIGHT_FILES if (path / name).is_file()]
        if not weights:
            raise FileNotFoundError(
                f"[{self.name}] model weights missing: {path / WEIGHT_FILES[0]} "
                f"(none of {', '.join(WEIGHT_FILES)} in {path})"
            )
        tokenizer_files = [str(path / n) for n in TOKENIZER_FILES if (path / n).is_file()] or [str(path)]
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True, use_fast=True)
        except Exception as err:
            raise OSError(
                f"[{self.name}] could not load the tokenizer from {', '.join(tokenizer_files)}: "
                f"{type(err).__name__}: {str(err).strip()[:300]}"
            ) from err
        try:
            model = AutoModelForTokenClassification.from_pretrained(str(path), local_files_only=True)
        except Exception as err:
            raise OSError(
                f"[{self.name}] could not load the model from {config_file} and {weights[0]}: "
                f"{type(err).__name__}: {str(err).strip()[:300]}"
            ) from err
        self.set_model(model, tokenizer)

    def set_model(self, model, tokenizer) -> None:
        """Use an already loaded model + fast tokenizer."""
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError(f"[{self.name}] a fast tokenizer is needed (offset mapping)")
        model.eval()
        self._device = self._resolve_device()
        self.hf_model = model.to(self._device)
        self.tokenizer = tokenizer
        self._layout = special_layout(tokenizer)
        self._setup_labels(model.config.id2label)
        self._window = self._cap_window(model, tokenizer)

    def _cap_window(self, model, tokenizer) -> int:
        cap = getattr(model.config, "max_position_embeddings", None) or self.cfg["window"]
        if getattr(model.config, "model_type", "") in ("roberta", "xlm-roberta", "camembert", "longformer"):
            cap -= 2  # positions start after the padding index
        max_len = getattr(tokenizer, "model_max_length", None)
        if max_len and max_len < 100_000:
            cap = min(cap, max_len)
        window = min(self.cfg["window"], cap)
        content_len = window - self._layout.n_special
        if content_len < 2:
            raise ValueError(f"[{self.name}] window {window} leaves no room for word pieces")
        # a stride that does not fit the (possibly capped) window is reduced to half of it
        self._stride = min(self.cfg["stride"], (content_len - 1) // 2) if self.cfg["stride"] >= content_len else self.cfg["stride"]
        return window

    def _setup_labels(self, id2label: Dict[int, str]) -> None:
        n = len(id2label)
        label_map = self.cfg["label_map"]
        entity_labels: List[str] = []
        entity_ids = np.full(n, -1, dtype=np.int64)
        is_begin = np.zeros(n, dtype=bool)
        for i in range(n):
            tag = id2label[i] if i in id2label else id2label[str(i)]
            prefix, sep, rest = tag.partition("-")
            if tag == "O":
                continue
            if sep and prefix in ("B", "I", "S", "U", "E", "L") and rest:
                label, begin = rest, prefix in ("B", "S", "U")
            else:  # IO scheme: a bare label continues
                label, begin = tag, False
            label = label_map.get(label, label)
            if label not in entity_labels:
                entity_labels.append(label)
            entity_ids[i] = entity_labels.index(label)
            is_begin[i] = begin
        # B- mass -> the matching inside tag (for tokens inheriting a covering piece)
        to_inside = np.arange(n)
        for i in range(n):
            if is_begin[i]:
                same = np.flatnonzero((entity_ids == entity_ids[i]) & ~is_begin)
                if len(same):
                    to_inside[i] = same[0]
        self._inherit_matrix = np.zeros((n, n), dtype=np.float32)
        self._inherit_matrix[np.arange(n), to_inside] = 1.0
        self._entity_labels = entity_labels
        self._tag_entity = entity_ids
        self._tag_begin = is_begin
        for label in entity_labels:
            self.vocab.strings.add(label)

    # -------------------------------------------------------------- prediction
    def __call__(self, doc: Doc) -> Doc:
        error_handler = self.get_error_handler()
        try:
            self.set_annotations([doc], self.predict([doc]))
            return doc
        except Exception as e:
            error_handler(self.name, self, [doc], e)
            return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Process docs in groups of ``batch_size``; windows are batched across the docs of a group."""
        error_handler = self.get_error_handler()
        for docs in minibatch(stream, size=batch_size):
            try:
                self.set_annotations(docs, self.predict(docs))
            except Exception as e:
                error_handler(self.name, self, docs, e)
            yield from docs

    def predict(self, docs: Sequence[Doc]) -> List[_DocPrediction]:
        """Run the model over all windows of ``docs``; return token spans + scores per doc."""
        import torch

        self._ensure_model()
        docs = list(docs)
        texts = [doc.text for doc in docs]
        encoded = self.tokenizer(
            texts,
            add_special_tokens=False,
            return_offsets_mapping=True,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )
        all_ids = encoded["input_ids"]
        all_offsets = encoded["offset_mapping"]
        content_len = self._window - self._layout.n_special
        plans = [plan_windows(len(ids), content_len, self._stride) for ids in all_ids]
        jobs = [(d, w) for d, plan in enumerate(plans) for w in range(len(plan))]
        jobs.sort(key=lambda job: -(plans[job[0]][job[1]][1] - plans[job[0]][job[1]][0]))
        window_probs: List[List[Optional[np.ndarray]]] = [[None] * len(plan) for plan in plans]
        n_prefix = len(self._layout.prefix)
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        with torch.inference_mode():
            for batch in minibatch(jobs, size=self.cfg["batch_size"]):
                rows = []
                for d, w in batch:
                    start, end = plans[d][w]
                    rows.append(self._layout.wrap(all_ids[d][start:end]))
                width = max(len(r) for r in rows)
                input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
                mask = np.zeros((len(rows), width), dtype=np.int64)
                for i, row in enumerate(rows):
                    input_ids[i, : len(row)] = row
                    mask[i, : len(row)] = 1
                logits = self.hf_model(
                    input_ids=torch.from_numpy(input_ids).to(self._device),
                    attention_mask=torch.from_numpy(mask).to(self._device),
                ).logits
                probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
                for i, (d, w) in enumerate(batch):
                    start, end = plans[d][w]
                    window_probs[d][w] = probs[i, n_prefix : n_prefix + (end - start)]
        self.stats["windows"] += len(jobs)
        return [
            self._predict_doc(doc, np.asarray(all_offsets[d], dtype=np.int64).reshape(-1, 2), plans[d], window_probs[d])
            for d, doc in enumerate(docs)
        ]

    def _predict_doc(self, doc: Doc, offsets: np.ndarray, plan: np.ndarray, window_probs) -> _DocPrediction:
        n_labels = len(self._tag_entity)
        stats = Counter({key: 0 for key in STAT_KEYS})
        stats["pieces"] = len(offsets)
        empty = np.zeros(0, dtype=np.int64)
        if len(doc) == 0 or len(offsets) == 0:
            return _DocPrediction(empty, empty, empty, np.zeros(0), stats)
        piece_probs = reconcile(len(offsets), plan, window_probs)
        starts, ends = token_char_bounds(doc)
        piece_tokens = piece_to_token(offsets, starts, ends)
        token_probs, has_piece = aggregate_tokens(piece_probs, piece_tokens, len(doc), self.cfg["aggregation"])
        piece_tags = piece_probs.argmax(axis=1)
        real_piece = offsets[:, 1] > offsets[:, 0]
        stats["unplaced_pieces"] = int(
            ((piece_tokens == NO_TOKEN) & real_piece & (self._tag_entity[piece_tags] >= 0)).sum()
        )
        missing = np.flatnonzero(~has_piece)
        if len(missing):
            is_space = doc.to_array("IS_SPACE").astype(bool)
            missing = missing[~is_space[missing]]
            cover = covering_piece(offsets, starts[missing])
            inherit = cover >= 0
            token_probs[missing[inherit]] = piece_probs[cover[inherit]] @ self._inherit_matrix
            has_piece[missing[inherit]] = True
            stats["inherited_tokens"] = int(inherit.sum())
            stats["tokens_without_pieces"] = int((~inherit).sum())
        tags = np.where(has_piece, token_probs.argmax(axis=1), -1)
        token_scores = np.where(has_piece, token_probs.max(axis=1) if n_labels else 0.0, 0.0)
        entity_ids = np.where(tags >= 0, self._tag_entity[np.maximum(tags, 0)], -1)
        is_begin = np.where(tags >= 0, self._tag_begin[np.maximum(tags, 0)], False)
        span_starts, span_ends, span_labels = decode_tag_ids(entity_ids, is_begin)
        stats["orphan_inside"] = int((~is_begin[span_starts]).sum())
        cumulative = np.concatenate([[0.0], np.cumsum(token_scores)])
        span_scores = (cumulative[span_ends] - cumulative[span_starts]) / np.maximum(span_ends - span_starts, 1)
        keep = span_scores >= self.cfg["threshold"]
        stats["below_threshold"] = int((~keep).sum())
        return _DocPrediction(span_starts[keep], span_ends[keep], span_labels[keep], span_scores[keep], stats)

    def set_annotations(self, docs: Iterable[Doc], predictions: List[_DocPrediction]) -> None:
        key = self.spans_key
        for doc, pred in zip(docs, predictions):
            spans = [
                Span(doc, int(s), int(e), label=self._entity_labels[int(lab)])
                for s, e, lab in zip(pred.starts, pred.ends, pred.entity_ids)
            ]
            doc.spans[key] = SpanGroup(
                doc, name=key, spans=spans, attrs={"scores": [float(x) for x in pred.scores]}
            )
            if self.cfg["set_ents"] == "overwrite":
                doc.set_ents(spans, default="outside")
            elif self.cfg["set_ents"] == "fill":
                taken = np.zeros(len(doc), dtype=bool)
                for ent in doc.ents:
                    taken[ent.start : ent.end] = True
                new = [s for s in spans if not taken[s.start : s.end].any()]
                doc.set_ents(new, default="unmodified")
            doc_stats = {k: int(v) for k, v in pred.stats.items()}
            doc_stats["spans"] = len(spans)
            doc.user_data[f"medner.{self.name}.stats"] = doc_stats
            self.stats.update(doc_stats)
            self.stats["docs"] += 1

    # ----------------------------------------------------------------- scoring
    def score(self, examples: Iterable[Example], **kwargs) -> Dict[str, Any]:
        """P/R/F of span group ``spans_key`` against gold ``doc.ents`` (keys ``spans_<key>_*``)."""
        if self.scorer is None:
            return {}
        return self.scorer(examples, spans_key=self.spans_key, **kwargs)

    # ----------------------------------------------------------- serialization
    def to_disk(self, path, *, exclude: Iterable[str] = tuple()) -> None:
        """Write the fields ``cfg`` and ``model`` (``save_pretrained`` of model and tokenizer)."""
        if self.hf_model is None and self.cfg["model_dir"] and "model" not in exclude:
            self._ensure_model()
        saved_model = self.hf_model is not None and "model" not in exclude
        # "saved_model" lets from_disk tell a deleted model directory from a component saved without one
        serializers = {
            "cfg": lambda p: srsly.write_json(p, dict(self.cfg, saved_model=saved_model)),
            "model": self._save_model,
        }
        util.to_disk(path, serializers, exclude)

    def _save_model(self, path: Path) -> None:
        if self.hf_model is not None:
            self.hf_model.save_pretrained(path)
            self.tokenizer.save_pretrained(path)

    def from_disk(self, path, *, exclude: Iterable[str] = tuple()) -> "HFTokenClassifier":
        """Load the model saved by :meth:`to_disk` (``local_files_only``; no network).

        Runtime options (device, window, threshold, ...) come from the
        pipeline's config, not from the saved ``cfg``; ``cfg`` only says
        whether a model was saved, so a deleted ``model`` directory is named
        instead of silently falling back to ``model_dir``.
        """
        path = ensure_path(path)
        if "model" in exclude:
            return self
        if not path.is_dir():
            raise FileNotFoundError(f"[{self.name}] component directory missing: {path}")
        saved = {"model": False}  # pipelines saved before the flag existed: a missing model dir is skipped

        def read_cfg(cfg_path: Path) -> None:
            if cfg_path.is_file():
                try:
                    saved["model"] = bool(srsly.read_json(cfg_path).get("saved_model", False))
                except ValueError as err:
                    raise OSError(f"[{self.name}] could not read {cfg_path}: {err}") from err

        def read_model(model_path: Path) -> None:
            if model_path.is_dir():
                self.load_model(model_path)
            elif saved["model"]:
                # without this, the component would silently fall back to model_dir (the original
                # training directory) on first use, or fail only then
                raise FileNotFoundError(f"[{self.name}] saved model directory missing: {model_path}")

        util.from_disk(path, {"cfg": read_cfg, "model": read_model}, exclude)  # dict order: cfg first
        return self

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        """A tar archive of :meth:`to_disk`'s output, msgpack-wrapped."""
        with tempfile.TemporaryDirectory() as tmp:
            self.to_disk(tmp, exclude=exclude)
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w") as tar:
                tar.add(tmp, arcname=".")
        return srsly.msgpack_dumps({"tar": buffer.getvalue()})

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "HFTokenClassifier":
        data = srsly.msgpack_loads(bytes_data)
        with tempfile.TemporaryDirectory() as tmp:
            with tarfile.open(fileobj=io.BytesIO(data["tar"]), mode="r") as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(tmp, filter="data")
                else:  # pragma: no cover - old Python
                    tar.extractall(tmp)
            self.from_disk(tmp, exclude=exclude)
        return self


def _torch_device(name: str):
    """``torch.device(name)``, with a message that names the setting."""
    import torch

    try:
        return torch.device(name)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be null (Thinc's device), 'cpu', 'cuda' or 'cuda:N', got {name!r}") from err

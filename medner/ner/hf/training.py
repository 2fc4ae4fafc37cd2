"""Data preparation and metrics for fine-tuning a Hugging Face token classifier.

Used by ``scripts/train_hf.py`` and importable by tests. Everything starts from
the project's own ``.spacy`` files:

* the *raw* ``doc.text`` is tokenized by the fast tokenizer with offsets
  (no special tokens, no truncation);
* every word piece is mapped to the spaCy token it starts in
  (:func:`medner.ner.hf.alignment.piece_to_token`);
* only the first piece of every spaCy token gets a label (its IOB2 tag from
  ``doc.ents``), every other piece and every special token gets ``-100``;
* long documents are cut into windows of at most ``max_length`` pieces
  (special tokens included). Each window has a *core* (the pieces that carry
  labels) and up to ``context`` pieces of unlabelled context on either side.
  Cores partition the document, so every spaCy token is labelled exactly once
  over all windows; cores end at token boundaries, preferably right after a
  sentence-final token (``.``, ``?``, ``!``).

Tokens that receive no first piece (their characters are dropped by the
tokenizer, or covered by a piece that starts in the previous token) cannot be
labelled; they are counted in :class:`PrepStats`, never silently lost.
"""
from dataclasses import asdict, dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from spacy.tokens import Doc, DocBin

from .alignment import (
    IGNORE_INDEX,
    NO_TOKEN,
    bio_label_list,
    bio_tags,
    first_piece_mask,
    piece_to_token,
    token_char_bounds,
)

SENTENCE_END = {".", "?", "!"}


@dataclass
class Window:
    """One model input: a slice ``[start, end)`` of a document's pieces.

    Pieces in ``[core_start, core_end)`` carry labels, the rest is context.
    """

    doc_index: int
    start: int
    end: int
    core_start: int
    core_end: int


@dataclass
class PrepStats:
    docs: int = 0
    tokens: int = 0
    pieces: int = 0
    windows: int = 0
    labelled_tokens: int = 0
    # spaCy tokens that are not whitespace but get no first piece
    uncovered_tokens: int = 0
    # of those, tokens inside a gold entity
    uncovered_entity_tokens: int = 0
    # whitespace-only spaCy tokens (no piece expected)
    whitespace_tokens: int = 0
    uncovered_examples: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict:
        return asdict(self)


@dataclass
class EncodedDoc:
    """A document's pieces with their spaCy token and (first-piece) label ids."""

    input_ids: np.ndarray  # (n_pieces,) without special tokens
    piece_tokens: np.ndarray  # (n_pieces,) spaCy token per piece or NO_TOKEN
    labels: np.ndarray  # (n_pieces,) label id on first pieces, IGNORE_INDEX elsewhere
    first: np.ndarray  # (n_pieces,) bool, first piece of a token
    tags: List[str]  # IOB2 tag per spaCy token


def load_docs(path, nlp=None) -> List[Doc]:
    """The docs of a ``.spacy`` file, read with the biomedical tokenizer's vocab."""
    if nlp is None:
        from medner.tokenizer import blank_biomedical

        nlp = blank_biomedical()
    return list(DocBin().from_disk(path).get_docs(nlp.vocab))


def entity_labels(docs: Iterable[Doc]) -> List[str]:
    return sorted({ent.label_ for doc in docs for ent in doc.ents})


def encode_doc(doc: Doc, tokenizer, label2id: Dict[str, int], stats: Optional[PrepStats] = None) -> EncodedDoc:
    """Tokenize ``doc.text`` and label the first piece of every spaCy token."""
    enc = tokenizer(
        doc.text,
        add_special_tokens=False,
        return_offsets_mapping=True,
        truncation=False,
        verbose=False,
    )
    input_ids = np.asarray(enc["input_ids"], dtype=np.int64)
    offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
    starts, ends = token_char_bounds(doc)
    piece_tokens = piece_to_token(offsets, starts, ends)
    first = first_piece_mask(piece_tokens)
    tags = bio_tags(doc)
    labels = np.full(len(input_ids), IGNORE_INDEX, dtype=np.int64)
    first_idx = np.flatnonzero(first)
    tag_ids = np.asarray([label2id.get(t, label2id["O"]) for t in tags], dtype=np.int64)
    if len(first_idx):
        labels[first_idx] = tag_ids[piece_tokens[first_idx]]
    if stats is not None:
        stats.docs += 1
        stats.tokens += len(doc)
        stats.pieces += len(input_ids)
        covered = np.zeros(len(doc), dtype=bool)
        covered[piece_tokens[first_idx]] = True
        for i in np.flatnonzero(~covered):
            token = doc[int(i)]
            if token.is_space:
                stats.whitespace_tokens += 1
                continue
            stats.uncovered_tokens += 1
            if tags[i] != "O":
                stats.uncovered_entity_tokens += 1
            if len(stats.uncovered_examples) < 20:
                stats.uncovered_examples.append(token.text)
    return EncodedDoc(input_ids, piece_tokens, labels, first, tags)


def plan_windows(
    first: np.ndarray,
    piece_tokens: np.ndarray,
    sentence_end_tokens: np.ndarray,
    max_pieces: int,
    context: int,
    doc_index: int = 0,
) -> List[Window]:
    """Cut ``n`` pieces into windows of at most ``max_pieces`` (specials excluded).

    Cores (labelled parts) partition ``[0, n)``. A core holds at most
    ``max_pieces - 2 * context`` pieces (the whole budget when the document
    fits). It ends where a new spaCy token starts, preferably right after a
    sentence-final token when one lies in the second half of the core. The
    budget left is filled with context on both sides.

    ``sentence_end_tokens``: bool per spaCy token, True for ``.``/``?``/``!``.
    """
    n = len(first)
    if n == 0:
        return []
    if n <= max_pieces:
        return [Window(doc_index, 0, n, 0, n)]
    context = max(0, min(context, (max_pieces - 1) // 4))
    core_max = max_pieces - 2 * context
    # piece i may start a core: it is the first piece of a token, or an unmapped piece
    # that does not continue a token (NO_TOKEN pieces between tokens)
    can_cut = first | (piece_tokens == NO_TOKEN)
    can_cut[0] = True
    prev_token = np.concatenate([[NO_TOKEN], piece_tokens[:-1]])
    after_sentence = can_cut & (prev_token != NO_TOKEN)
    after_sentence[1:] &= sentence_end_tokens[np.clip(prev_token[1:], 0, None)]
    after_sentence[0] = False

    windows: List[Window] = []
    a = 0
    while a < n:
        if n - a <= core_max:
            b = n
        else:
            hi = a + core_max  # candidate cut points in (a, hi]
            lo = a + core_max // 2
            cand = np.flatnonzero(after_sentence[lo + 1 : hi + 1])
            if len(cand):
                b = lo + 1 + int(cand[-1])
            else:
                cand = np.flatnonzero(can_cut[a + 1 : hi + 1])
                # a token longer than the core: cut inside it (its first piece is in this core)
                b = a + 1 + int(cand[-1]) if len(cand) else hi
        left = min(a, context)
        right = min(n - b, max_pieces - (b - a) - left)
        left = min(a, max_pieces - (b - a) - right)
        windows.append(Window(doc_index, a - left, b + right, a, b))
        a = b
    return windows


def sentence_end_mask(doc: Doc) -> np.ndarray:
    return np.fromiter((t.text in SENTENCE_END for t in doc), dtype=bool, count=len(doc))


def special_affixes(tokenizer) -> Tuple[List[int], List[int]]:
    """The special token ids the tokenizer puts before and after a single sequence.

    Read from the tokenizer's own template (``[CLS] x [SEP]``, ``<s> x </s>``, ...),
    so any fast tokenizer works, not only BERT's.
    """
    enc = tokenizer("a", add_special_tokens=True, return_special_tokens_mask=True)
    ids, special = enc["input_ids"], enc["special_tokens_mask"]
    content = [i for i, s in enumerate(special) if not s]
    if not content:
        raise ValueError("cannot find the content position in the tokenizer's template")
    return list(ids[: content[0]]), list(ids[content[-1] + 1 :])


def build_features(
    docs: Sequence[Doc],
    tokenizer,
    label2id: Dict[str, int],
    max_length: int,
    context: int,
) -> Tuple[List[Dict[str, List[int]]], List[Window], List[EncodedDoc], PrepStats]:
    """Model inputs (``input_ids``, ``attention_mask``, ``labels``) for every window of ``docs``.

    ``max_length`` counts the special tokens the tokenizer adds.
    """
    prefix, suffix = special_affixes(tokenizer)
    max_pieces = max_length - len(prefix) - len(suffix)
    if max_pieces < 8:
        raise ValueError(f"max_length {max_length} leaves {max_pieces} pieces per window")
    stats = PrepStats()
    features: List[Dict[str, List[int]]] = []
    windows: List[Window] = []
    encoded: List[EncodedDoc] = []
    for d, doc in enumerate(docs):
        enc = encode_doc(doc, tokenizer, label2id, stats)
        encoded.append(enc)
        for w in plan_windows(enc.first, enc.piece_tokens, sentence_end_mask(doc), max_pieces, context, d):
            ids = enc.input_ids[w.start : w.end].tolist()
            labels = np.full(w.end - w.start, IGNORE_INDEX, dtype=np.int64)
            labels[w.core_start - w.start : w.core_end - w.start] = enc.labels[w.core_start : w.core_end]
            full_ids = prefix + ids + suffix
            full_labels = np.concatenate(
                [np.full(len(prefix), IGNORE_INDEX), labels, np.full(len(suffix), IGNORE_INDEX)]
            ).astype(np.int64)
            features.append(
                {
                    "input_ids": full_ids,
                    "attention_mask": [1] * len(full_ids),
                    "labels": full_labels.tolist(),
                }
            )
            windows.append(w)
            stats.labelled_tokens += int((labels != IGNORE_INDEX).sum())
    stats.windows = len(windows)
    return features, windows, encoded, stats


class FeatureDataset:
    """A list of feature dicts with the torch ``Dataset`` protocol (no ``datasets`` dependency)."""

    def __init__(self, features: List[Dict[str, List[int]]]):
        self.features = features

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> Dict[str, List[int]]:
        return self.features[i]


def doc_sequences(
    predictions: np.ndarray,
    labels: np.ndarray,
    windows: Sequence[Window],
    n_docs: int,
    id2label: Dict[int, str],
) -> Tuple[List[List[str]], List[List[str]]]:
    """Reassemble per-document (gold, predicted) tag sequences from per-window arrays.

    ``predictions``/``labels``: (n_windows, padded_len) label ids, ``-100`` where
    unlabelled. Windows come in document order and their cores partition each
    document, so concatenating the labelled positions gives the document's tokens
    in order (entities crossing a window cut are scored as one entity).
    """
    gold: List[List[str]] = [[] for _ in range(n_docs)]
    pred: List[List[str]] = [[] for _ in range(n_docs)]
    for row, w in enumerate(windows):
        keep = labels[row] != IGNORE_INDEX
        gold[w.doc_index].extend(id2label[int(i)] for i in labels[row][keep])
        pred[w.doc_index].extend(id2label[int(i)] for i in predictions[row][keep])
    return gold, pred


def seqeval_scores(gold: List[List[str]], pred: List[List[str]]) -> Dict[str, float]:
    """Entity-level precision/recall/F1 (seqeval, default lenient IOB2 mode), overall and per type."""
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    scores: Dict[str, float] = {
        "precision": float(precision_score(gold, pred, zero_division=0)),
        "recall": float(recall_score(gold, pred, zero_division=0)),
        "f1": float(f1_score(gold, pred, zero_division=0)),
    }
    report = classification_report(gold, pred, output_dict=True, zero_division=0)
    for label, row in report.items():
        if label in ("micro avg", "macro avg", "weighted avg"):
            continue
        scores[f"{label}_f1"] = float(row["f1-score"])
        scores[f"{label}_support"] = int(row["support"])
    return scores


def make_compute_metrics(windows: Sequence[Window], n_docs: int, id2label: Dict[int, str]):
    """A ``compute_metrics`` for the HF ``Trainer``: entity-level scores on whole documents.

    Expects predictions already arg-maxed (see :func:`argmax_logits`).
    """

    def compute_metrics(eval_pred) -> Dict[str, float]:
        predictions, labels = eval_pred.predictions, eval_pred.label_ids
        if predictions.ndim == 3:
            predictions = predictions.argmax(-1)
        gold, pred = doc_sequences(predictions, labels, windows, n_docs, id2label)
        return seqeval_scores(gold, pred)

    return compute_metrics


def argmax_logits(logits, labels):
    """``preprocess_logits_for_metrics``: keep only arg-max ids (saves memory on long eval sets)."""
    if isinstance(logits, tuple):
        logits = logits[0]
    return logits.argmax(dim=-1)


__all__ = [
    "IGNORE_INDEX",
    "Window",
    "PrepStats",
    "EncodedDoc",
    "load_docs",
    "entity_labels",
    "encode_doc",
    "plan_windows",
    "build_features",
    "special_affixes",
    "FeatureDataset",
    "doc_sequences",
    "seqeval_scores",
    "make_compute_metrics",
    "argmax_logits",
    "bio_label_list",
]

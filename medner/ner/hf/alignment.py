"""Map fast-tokenizer word pieces to spaCy tokens by character offsets.

Training (``scripts/train_hf.py``) and inference (the ``hf_token_classifier``
component) both tokenize the *raw text* with the fast tokenizer and use the
offset mapping to find, for every word piece, the spaCy token it starts in.
Labels and predictions therefore live on spaCy tokens, never on word pieces,
and no entity can end inside a word.
"""
from typing import List, Sequence, Tuple

import numpy as np
from spacy.attrs import IDX, LENGTH
from spacy.tokens import Doc

NO_TOKEN = -1
IGNORE_INDEX = -100  # what torch's cross-entropy ignores


def token_char_bounds(doc: Doc) -> Tuple[np.ndarray, np.ndarray]:
    """Start and end character offsets of every spaCy token, as int arrays."""
    bounds = doc.to_array([IDX, LENGTH]).astype(np.int64, copy=False).reshape(-1, 2)
    return bounds[:, 0], bounds[:, 0] + bounds[:, 1]


def piece_to_token(offsets: np.ndarray, token_starts: np.ndarray, token_ends: np.ndarray) -> np.ndarray:
    """For each word piece (``offsets``: (n, 2) char spans), the spaCy token it starts in.

    Special tokens (``(0, 0)`` offsets), empty pieces and pieces that start in
    whitespace between tokens get ``NO_TOKEN``. Vectorised: one searchsorted.
    """
    offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    piece_starts, piece_ends = offsets[:, 0], offsets[:, 1]
    if len(token_starts) == 0:
        return np.full(len(offsets), NO_TOKEN, dtype=np.int64)
    idx = np.searchsorted(token_starts, piece_starts, side="right") - 1
    safe = np.clip(idx, 0, len(token_starts) - 1)
    inside = (idx >= 0) & (piece_starts < token_ends[safe]) & (piece_ends > piece_starts)
    return np.where(inside, idx, NO_TOKEN)


def first_piece_mask(piece_tokens: np.ndarray) -> np.ndarray:
    """True for the first piece of each token (what gets a label in training)."""
    piece_tokens = np.asarray(piece_tokens)
    previous = np.concatenate([[NO_TOKEN], piece_tokens[:-1]])
    return (piece_tokens != NO_TOKEN) & (piece_tokens != previous)


def bio_tags(doc: Doc) -> List[str]:
    """IOB2 tags (``B-LABEL``, ``I-LABEL``, ``O``) for the tokens of ``doc`` from ``doc.ents``."""
    tags = ["O"] * len(doc)
    for ent in doc.ents:
        tags[ent.start] = f"B-{ent.label_}"
        for i in range(ent.start + 1, ent.end):
            tags[i] = f"I-{ent.label_}"
    return tags


def bio_label_list(entity_labels: Sequence[str]) -> List[str]:
    """The classifier's label list for ``entity_labels``: ``O`` first, then B-/I- pairs."""
    labels = ["O"]
    for label in sorted(entity_labels):
        labels += [f"B-{label}", f"I-{label}"]
    return labels


def decode_bio(tags: Sequence[str]) -> List[Tuple[int, int, str]]:
    """Token spans ``(start, end, label)`` from IOB2 tags.

    Lenient like seqeval's default: an ``I-X`` that does not continue an ``X``
    entity starts a new one, so no predicted token is lost.
    """
    spans: List[Tuple[int, int, str]] = []
    start, label = None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, tag_label = tag.partition("-")
        continues = prefix == "I" and label == tag_label
        if start is not None and not continues:
            spans.append((start, i, label))
            start, label = None, None
        if prefix in ("B", "I") and not continues:
            start, label = i, tag_label
    return spans

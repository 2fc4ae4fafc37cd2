"""Overlapping windows over long word-piece sequences, and per-token aggregation.

A document is tokenized once, without special tokens and without truncation.
Its word pieces are cut into windows of at most ``window`` pieces *including*
the model's special tokens, consecutive windows overlapping by ``stride``
pieces. After the forward passes every piece has one prediction per window
that contains it; :func:`reconcile` keeps, for every piece, the prediction of
the window in which the piece is furthest from a window edge (an edge that is
the start or end of the document does not count: no context is missing
there). Nothing is truncated.

:func:`aggregate_tokens` then turns per-piece probabilities into per-spaCy-token
probabilities (``first`` piece, ``average`` or ``max`` over a token's pieces),
vectorised with ``np.add.reduceat`` / ``np.maximum.reduceat``.
"""
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from .alignment import NO_TOKEN, first_piece_mask

AGGREGATIONS = ("first", "average", "max")


@dataclass(frozen=True)
class SpecialLayout:
    """Special-token ids a tokenizer puts before and after a single sequence."""

    prefix: Tuple[int, ...]
    suffix: Tuple[int, ...]

    @property
    def n_special(self) -> int:
        return len(self.prefix) + len(self.suffix)

    def wrap(self, content: Sequence[int]) -> List[int]:
        return [*self.prefix, *content, *self.suffix]


def special_layout(tokenizer) -> SpecialLayout:
    """Find which special tokens ``tokenizer`` adds around one sequence (e.g. ``[CLS] … [SEP]``)."""
    non_special = next(
        i for i in range(len(tokenizer)) if i not in set(tokenizer.all_special_ids)
    )
    probe = list(tokenizer.build_inputs_with_special_tokens([non_special] * 3))
    positions = [i for i, tok in enumerate(probe) if tok == non_special]
    if len(positions) != 3 or positions != list(range(positions[0], positions[0] + 3)):
        raise ValueError("Cannot work out the special-token layout of the tokenizer")
    return SpecialLayout(tuple(probe[: positions[0]]), tuple(probe[positions[-1] + 1 :]))


def plan_windows(n_pieces: int, content_len: int, stride: int) -> np.ndarray:
    """``(n_windows, 2)`` piece ranges ``[start, end)`` covering ``0..n_pieces``.

    Each window holds at most ``content_len`` pieces; consecutive windows
    overlap by ``stride`` pieces; the last window ends at ``n_pieces``.
    """
    if content_len < 1:
        raise ValueError(f"window too small: {content_len} content pieces")
    if not 0 <= stride < content_len:
        raise ValueError(f"stride must be in [0, {content_len}), got {stride}")
    if n_pieces <= 0:
        return np.zeros((0, 2), dtype=np.int64)
    if n_pieces <= content_len:
        return np.array([[0, n_pieces]], dtype=np.int64)
    step = content_len - stride
    n_windows = int(np.ceil((n_pieces - content_len) / step)) + 1
    starts = np.arange(n_windows, dtype=np.int64) * step
    starts[-1] = n_pieces - content_len  # last window flush with the end
    starts = np.unique(starts)
    return np.stack([starts, np.minimum(starts + content_len, n_pieces)], axis=1)


def edge_distance(start: int, end: int, n_pieces: int) -> np.ndarray:
    """For the pieces ``start..end-1`` of a window, the distance to the nearest *cut* edge."""
    pos = np.arange(start, end, dtype=np.float64)
    left = pos - start if start > 0 else np.full(len(pos), np.inf)
    right = (end - 1) - pos if end < n_pieces else np.full(len(pos), np.inf)
    return np.minimum(left, right)


def reconcile(n_pieces: int, windows: np.ndarray, window_probs: Sequence[np.ndarray]) -> np.ndarray:
    """Merge per-window piece probabilities into one ``(n_pieces, n_labels)`` array.

    For every piece the window where it is furthest from a cut edge wins (ties:
    the earlier window).
    """
    if n_pieces == 0:
        n_labels = window_probs[0].shape[1] if len(window_probs) else 0
        return np.zeros((0, n_labels), dtype=np.float32)
    n_labels = window_probs[0].shape[1]
    out = np.zeros((n_pieces, n_labels), dtype=np.float32)
    best = np.full(n_pieces, -1.0)
    for (start, end), probs in zip(windows, window_probs):
        dist = edge_distance(int(start), int(end), n_pieces)
        better = dist > best[start:end]
        out[start:end][better] = probs[better]
        best[start:end] = np.where(better, dist, best[start:end])
    if (best < 0).any():
        raise AssertionError("windows do not cover all pieces")
    return out


def aggregate_tokens(
    probs: np.ndarray,
    piece_tokens: np.ndarray,
    n_tokens: int,
    how: str = "first",
) -> Tuple[np.ndarray, np.ndarray]:
    """Per-token probabilities from per-piece ones.

    ``piece_tokens[i]`` is the spaCy token piece ``i`` starts in (``NO_TOKEN``
    if none). Returns ``(token_probs, has_piece)``: ``(n_tokens, n_labels)``
    probabilities (zeros for tokens no piece starts in) and a boolean mask of
    the tokens some piece starts in.
    """
    if how not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {how!r}")
    n_labels = probs.shape[1] if probs.ndim == 2 else 0
    token_probs = np.zeros((n_tokens, n_labels), dtype=np.float32)
    has_piece = np.zeros(n_tokens, dtype=bool)
    piece_tokens = np.asarray(piece_tokens, dtype=np.int64)
    placed = np.flatnonzero(piece_tokens != NO_TOKEN)
    if len(placed) == 0 or n_tokens == 0:
        return token_probs, has_piece
    first = first_piece_mask(piece_tokens)
    group_starts = np.flatnonzero(first[placed])  # positions in `placed` where a token begins
    tokens = piece_tokens[placed][group_starts]
    has_piece[tokens] = True
    if how == "first":
        token_probs[tokens] = probs[placed[group_starts]]
    elif how == "average":
        sums = np.add.reduceat(probs[placed], group_starts, axis=0)
        counts = np.diff(np.append(group_starts, len(placed)))
        token_probs[tokens] = sums / counts[:, None]
    else:  # max, renormalised so that scores stay probabilities
        maxima = np.maximum.reduceat(probs[placed], group_starts, axis=0)
        token_probs[tokens] = maxima / maxima.sum(axis=1, keepdims=True)
    return token_probs, has_piece


def covering_piece(offsets: np.ndarray, token_starts: np.ndarray) -> np.ndarray:
    """For every token, the piece whose character span contains the token's start (or -1).

    Used for tokens no piece *starts* in, e.g. when one word piece spans two
    spaCy tokens ("cannot" -> "can" + "not").
    """
    offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    real = np.flatnonzero(offsets[:, 1] > offsets[:, 0])
    if len(real) == 0:
        return np.full(len(token_starts), -1, dtype=np.int64)
    p_starts, p_ends = offsets[real, 0], offsets[real, 1]
    # piece starts are non-decreasing for a single text
    idx = np.searchsorted(p_starts, token_starts, side="right") - 1
    safe = np.clip(idx, 0, len(real) - 1)
    inside = (idx >= 0) & (token_starts < p_ends[safe])
    return np.where(inside, real[safe], -1)


def decode_tag_ids(entity_ids: np.ndarray, is_begin: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised ``decode_bio`` on ids: token spans ``(starts, ends, entity_ids)``.

    ``entity_ids[i]`` is the entity-label index of token ``i``'s tag (``-1``
    for ``O``), ``is_begin[i]`` whether the tag is a ``B-`` tag. Same lenient
    semantics as :func:`medner.ner.hf.alignment.decode_bio`: an ``I-X`` that does
    not continue an ``X`` entity starts a new one.
    """
    entity_ids = np.asarray(entity_ids, dtype=np.int64)
    is_begin = np.asarray(is_begin, dtype=bool)
    n = len(entity_ids)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    previous = np.concatenate([[-1], entity_ids[:-1]])
    inside = entity_ids >= 0
    starts_mask = inside & (is_begin | (entity_ids != previous))
    stops = np.flatnonzero(~inside | starts_mask)
    starts = np.flatnonzero(starts_mask)
    stops = np.append(stops, n)
    ends = stops[np.searchsorted(stops, starts, side="right")]
    return starts, ends, entity_ids[starts]

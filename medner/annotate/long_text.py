"""Annotate very long texts with bounded memory: split, annotate in chunks, rejoin.

A spaCy pipeline's memory grows with the number of tokens it processes at
once (the CNN ``tok2vec`` of ``bc5cdr_cnn`` peaked at 12.4 GB RSS on one
1,000,000-character document). :func:`pipe_chunked` cuts long texts into
chunks of at most ``max_chars`` characters (:func:`split_text`), runs
``nlp.pipe`` over batches bounded by both the number of chunks and their total
characters, and glues each text's chunk docs back together
(:func:`join_docs`), so callers still get one ``Doc`` per text with
``doc.text == text`` and character offsets into the whole text::

    from medner.annotate.long_text import pipe_chunked
    for doc in pipe_chunked(nlp, texts, max_chars=50_000):
        ...

Texts of at most ``max_chars`` characters are not split and their docs are
returned as ``nlp.pipe`` made them. Cuts are made after a paragraph break
where possible, else after a line break, else after sentence-final
punctuation followed by whitespace, else after any whitespace, so an entity
is only split when a stretch of ``max_chars`` characters has no whitespace at
all (then the text is cut hard at ``max_chars``, which can split an entity,
a word, or a grapheme cluster such as an emoji sequence). Each chunk is
annotated without the context of its neighbours: a model that looks beyond
a paragraph or line can predict slightly differently at a cut.
"""
from __future__ import annotations

import re
import warnings
from collections import deque
from typing import Any, Deque, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

DEFAULT_MAX_CHARS = 50_000
DEFAULT_MAX_BATCH_CHARS = 100_000

# Preferred cut points, best first. Each pattern ends with the whole run of
# whitespace after the break, so the next chunk starts at a non-space
# character (unless the run is longer than the window).
_CUT_PATTERNS = (
    re.compile(r"\n[^\S\n]*\n\s*"),  # paragraph break: a blank line
    re.compile(r"\n\s*"),  # line break
    re.compile(r"[.!?][\"'\u201d\u2019)\]]*\s+"),  # sentence-final punctuation + whitespace
    re.compile(r"\s+"),  # any whitespace
)


def _cut(window: str) -> Optional[int]:
    """End of the last match of the best pattern that occurs in ``window``."""
    for pattern in _CUT_PATTERNS:
        end = None
        for m in pattern.finditer(window):
            end = m.end()
        if end:
            return end
    return None


def split_text(text: str, max_chars: int) -> List[str]:
    """Cut ``text`` into consecutive chunks of at most ``max_chars`` characters.

    ``"".join(split_text(text, n)) == text`` always holds. Every chunk but the
    last ends right after a paragraph break, else a line break, else
    sentence-final punctuation plus whitespace, else any whitespace (the last
    such place within ``max_chars`` characters), so words are never split
    unless a stretch of ``max_chars`` characters holds no whitespace at all:
    then the chunk is cut hard at ``max_chars`` (which may split an entity).
    ``max_chars <= 0`` disables splitting. ``""`` gives ``[""]``.
    """
    if max_chars <= 0 or len(text) <= max_chars:
        return [text]
    chunks: List[str] = []
    start, n = 0, len(text)
    while n - start > max_chars:
        window = text[start : start + max_chars]
        end = _cut(window) or max_chars
        chunks.append(text[start : start + end])
        start += end
    chunks.append(text[start:])
    return chunks


def _merge_attr(values: List[Any], lengths: List[int], total: int) -> Tuple[bool, Any]:
    """Join one span-group attr across chunks: ``(keep, value)``."""
    if all(isinstance(v, (list, tuple)) for v in values) and [len(v) for v in values] == lengths:
        joined = [x for v in values for x in v]
        if len(joined) == total:
            return True, joined
        return False, None
    first = values[0]
    if all(type(v) is type(first) and v == first for v in values[1:]) and not isinstance(first, (list, tuple, dict)):
        return True, first  # the same scalar in every chunk (e.g. a setting)
    return False, None


def _add_counts(values: List[Any]) -> Any:
    """Sum dicts of numbers (per-doc stats); otherwise the first value."""
    if all(isinstance(v, dict) for v in values) and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for v in values for x in v.values()
    ):
        total: Dict[Any, Any] = {}
        for v in values:
            for k, x in v.items():
                total[k] = total.get(k, 0) + x
        return total
    return values[0]


def join_docs(docs: Sequence[Any], *, tensor: bool = True):
    """Concatenate the docs of consecutive chunks of one text into one ``Doc``.

    ``Doc.from_docs(docs, ensure_whitespace=False)``: the text is the exact
    concatenation of the chunk texts, tokens, ``doc.ents`` (and the other
    token attributes) and the spans of every ``doc.spans`` group keep their
    offsets, shifted into the joined text. On top of that, span-group
    ``attrs`` (which ``from_docs`` drops) are restored: a list parallel to each
    chunk's group (``scores``, ``sources``...) is concatenated in chunk order
    when the lengths add up to the joined group; a scalar equal in all chunks
    is kept; anything else (dicts keyed by offsets, lists that are not
    parallel) is dropped. Plain ``doc.user_data`` keys (``from_docs`` keeps
    only extension data) are restored too: dicts of numbers, such as the
    ``medner.<component>.stats`` counts, are summed, other values come from the
    first chunk that has the key. ``tensor=False`` leaves ``doc.tensor``
    empty (it saves a copy of all chunk tensors). A single doc is returned as
    it is.
    """
    from spacy.tokens import Doc

    docs = list(docs)
    if not docs:
        raise ValueError("join_docs needs at least one doc")
    if len(docs) == 1:
        return docs[0]
    exclude = () if tensor else ("tensor",)
    with warnings.catch_warnings():
        # W101/W102: doc-level extension values and plain user_data keys are
        # not copied by from_docs; plain keys are restored below.
        warnings.filterwarnings("ignore", message=r"\[W10[12]\]")
        joined = Doc.from_docs(docs, ensure_whitespace=False, exclude=exclude)
    for key in list(joined.spans):
        groups = [d.spans[key] if key in d.spans else None for d in docs]
        lengths = [len(g) if g is not None else 0 for g in groups]
        names = []
        for g in groups:
            for name in getattr(g, "attrs", {}) or {}:
                if name not in names:
                    names.append(name)
        if not names:
            continue
        target = joined.spans[key]
        for name in names:
            values, value_lengths = [], []
            ok = True
            for g, n in zip(groups, lengths):
                if g is None or name not in g.attrs:
                    if n:  # spans without this attr: nothing to align
                        ok = False
                        break
                    continue
                values.append(g.attrs[name])
                value_lengths.append(n)
            if not ok or not values:
                continue
            keep, value = _merge_attr(values, value_lengths, len(target))
            if keep:
                target.attrs[name] = value
    plain_keys: List[Any] = []
    for d in docs:
        for k in d.user_data:
            if not (isinstance(k, tuple) and len(k) == 4 and k[0] == "._.") and k not in plain_keys:
                plain_keys.append(k)
    for k in plain_keys:
        joined.user_data[k] = _add_counts([d.user_data[k] for d in docs if k in d.user_data])
    return joined


def _bounded_batches(
    items: Iterable[Tuple[str, Any]], batch_size: int, max_batch_chars: int
) -> Iterator[List[Tuple[str, Any]]]:
    """Group ``(text, context)`` pairs into lists of at most ``batch_size``
    items and ``max_batch_chars`` characters (a longer single text is a batch
    of its own; ``max_batch_chars <= 0``: count only)."""
    batch: List[Tuple[str, Any]] = []
    chars = 0
    for item in items:
        n = len(item[0])
        if batch and (len(batch) >= batch_size or (max_batch_chars > 0 and chars + n > max_batch_chars)):
            yield batch
            batch, chars = [], 0
        batch.append(item)
        chars += n
    if batch:
        yield batch


def bounded_batches(items: Iterable[Any], *, batch_size: int, max_batch_chars: int, text=lambda x: x) -> Iterator[List[Any]]:
    """Like ``spacy.util.minibatch`` but also cut when the batch would exceed
    ``max_batch_chars`` characters of ``text(item)``."""
    for batch in _bounded_batches(((text(it), it) for it in items), batch_size, max_batch_chars):
        yield [it for _, it in batch]


def multiprocess_batch_size(batch_size: int, max_chars: int, max_batch_chars: int) -> int:
    """Batch size for ``n_process > 1``: spaCy cuts those batches by count only,
    so at most ``max_batch_chars // max_chars`` chunks per batch keep the same
    worst case (at least 1)."""
    if max_chars <= 0 or max_batch_chars <= 0:
        return batch_size
    return max(1, min(batch_size, max_batch_chars // max_chars))


def pipe_chunked(
    nlp,
    texts: Iterable[str],
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_batch_chars: int = DEFAULT_MAX_BATCH_CHARS,
    batch_size: int = 64,
    n_process: int = 1,
    tensor: bool = False,
) -> Iterator[Any]:
    """``nlp.pipe`` with bounded memory: one ``Doc`` per text, in input order.

    Texts longer than ``max_chars`` are cut with :func:`split_text`, their
    chunks annotated and joined with :func:`join_docs` (``max_chars=0``: no
    cutting). Texts are read lazily, one batch ahead.

    With ``n_process == 1`` chunks go to ``nlp.pipe`` in batches of at most
    ``batch_size`` chunks **and** ``max_batch_chars`` characters (one chunk
    longer than that is a batch of its own), so a run never holds more than
    about ``max(max_batch_chars, max_chars)`` characters of text in the
    pipeline at once. Texts up to ``max_chars`` get exactly the doc
    ``nlp.pipe`` makes; only the batch boundaries may differ.

    With ``n_process > 1`` one multiprocessing ``nlp.pipe`` call gets the
    chunk stream; spaCy cuts its batches by count only, so the batch size is
    lowered to ``max_batch_chars // max_chars`` chunks
    (:func:`multiprocess_batch_size`) to keep the same per-worker bound, at
    some cost in throughput for many short texts (raise ``max_batch_chars``).

    ``tensor=False`` (default): joined docs of split texts get no
    ``doc.tensor`` (not needed for entities, and it would double the peak).
    """
    pending: Deque[Tuple[int, int]] = deque()  # (text index, number of chunks) per chunk fed

    def chunks() -> Iterator[Tuple[str, Tuple[int, int]]]:
        for i, text in enumerate(texts):
            parts = split_text(text, max_chars)
            for part in parts:
                yield part, (i, len(parts))

    def assemble(doc_stream: Iterator[Tuple[Any, Tuple[int, int]]]) -> Iterator[Any]:
        current: List[Any] = []
        for doc, (_, n_parts) in doc_stream:
            current.append(doc)
            if len(current) == n_parts:
                yield current[0] if n_parts == 1 else join_docs(current, tensor=tensor)
                current = []
        if current:  # pragma: no cover - nlp.pipe returned fewer docs than it was given
            raise RuntimeError("nlp.pipe returned fewer docs than chunks")

    if n_process == 1:

        def single() -> Iterator[Tuple[Any, Tuple[int, int]]]:
            for batch in _bounded_batches(chunks(), batch_size, max_batch_chars):
                docs = list(nlp.pipe([t for t, _ in batch], batch_size=len(batch)))
                if len(docs) != len(batch):
                    raise RuntimeError(f"nlp.pipe returned {len(docs)} docs for {len(batch)} texts")
                yield from zip(docs, (ctx for _, ctx in batch))

        yield from assemble(single())
    else:

        def feed() -> Iterator[str]:
            for part, ctx in chunks():
                pending.append(ctx)
                yield part

        def multi() -> Iterator[Tuple[Any, Tuple[int, int]]]:
            size = multiprocess_batch_size(batch_size, max_chars, max_batch_chars)
            for doc in nlp.pipe(feed(), batch_size=size, n_process=n_process):
                yield doc, pending.popleft()

        yield from assemble(multi())

"""Run a pipeline over inputs and write the records: the single-process ``medner annotate``.

:func:`annotate_items` (the pipeline over a stream of items, with bounded
batches, chunked long documents and per-document failures) is shared with the
Dask workers (:mod:`medner.annotate.dask`) and the HTTP service; :func:`annotate_file`
adds the resumable JSONL output, the error file, HTML and the progress bar.
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Set, Tuple, Union

from .long_text import DEFAULT_MAX_BATCH_CHARS, DEFAULT_MAX_CHARS, bounded_batches, pipe_chunked
from .inputs import BadRecord, Item, ReadResult, count_inputs, detect_format, flag_duplicate_ids, id_key, read_inputs
from .options import AnnotateOptions
from .outputs import ErrorFile, HtmlWriter, check_resume_settings, default_errors_path, html_mode, load_done_ids
from .records import Summary, doc_to_record, dumps_record


def load_pipeline(model: Optional[Union[str, Path]] = None, *, gpu_id: int = -1, labels: Sequence[str] = ()):
    """Load a shipped short name, an installed pipeline package or a pipeline directory
    (:mod:`medner.annotate.pipelines`; ``None``: the default pipeline), on GPU ``gpu_id`` if >= 0,
    keeping only the entities labelled ``labels`` (empty: all; an unknown label raises
    :class:`~medner.ner.label_filter.UnknownLabel`)."""
    from .pipelines import load

    if gpu_id >= 0:
        import spacy

        spacy.require_gpu(gpu_id)
    return load(model, labels=list(labels))


def annotate_items(
    nlp,
    items: Iterable[ReadResult],
    *,
    on_error: Callable[[BadRecord], None],
    batch_size: int = 64,
    n_process: int = 1,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_batch_chars: int = DEFAULT_MAX_BATCH_CHARS,
) -> Iterator[Tuple[Item, Any]]:
    """Run ``nlp`` over the good items, yielding ``(item, doc)`` in input order.

    Documents longer than ``max_chars`` characters are annotated in chunks
    and rejoined (:func:`medner.annotate.long_text.pipe_chunked`; ``0``: whole
    documents), and batches are cut by both ``batch_size`` documents and
    ``max_batch_chars`` characters, so memory stays bounded however long the
    documents are. Documents up to ``max_chars`` get the same records as
    without chunking.

    Bad records are handed to ``on_error`` as they are read. With
    ``n_process == 1`` a batch that raises is retried one document at a time
    and documents that still fail become ``pipeline_error`` records; with
    ``n_process > 1`` (spaCy multiprocessing) a pipeline exception aborts the
    run (rerun to resume).
    """
    from collections import deque

    chunking = dict(max_chars=max_chars, max_batch_chars=max_batch_chars, batch_size=batch_size)

    def good_items() -> Iterator[Item]:
        for result in items:
            if isinstance(result, BadRecord):
                on_error(result)
            else:
                yield result

    if n_process == 1:
        for batch in bounded_batches(
            good_items(), batch_size=batch_size, max_batch_chars=max_batch_chars, text=lambda it: it.text
        ):
            try:
                docs = list(pipe_chunked(nlp, [it.text for it in batch], **chunking))
            except Exception:
                docs = []
                for it in batch:
                    try:
                        docs.append(next(iter(pipe_chunked(nlp, [it.text], **chunking))))
                    except Exception as e:  # noqa: BLE001 - reported, run continues
                        docs.append(None)
                        on_error(
                            BadRecord(it.source, it.line, "pipeline_error", f"{type(e).__name__}: {e}", it.id)
                        )
            for it, doc in zip(batch, docs):
                if doc is not None:
                    yield it, doc
            del docs
    else:
        pending: deque = deque()

        def texts() -> Iterator[str]:
            for it in good_items():
                pending.append(it)
                yield it.text

        for doc in pipe_chunked(nlp, texts(), n_process=n_process, **chunking):
            yield pending.popleft(), doc


def annotate_file(
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    nlp,
    options: Optional[AnnotateOptions] = None,
    **overrides: Any,
) -> Summary:
    """Annotate ``input_path`` into the JSONL file ``output_path`` (single machine).

    ``options`` (default :class:`AnnotateOptions()`), with any field
    overridden by keyword (``annotate_file(inp, out, nlp, batch_size=8)``).
    Resumable: ids already in ``output_path`` are skipped and each record is
    flushed as soon as it is written; resuming with other record settings
    (``labels``, ``include_text``, ...; kept in ``<output>.settings.json``)
    raises :class:`~medner.annotate.outputs.SettingsChanged`. ``labels``: :func:`~medner.ner.label_filter.add_label_filter`
    is applied to ``nlp``. Bad records go to ``errors_path``
    (default ``<output>.errors.jsonl``), created only if there are any.
    """
    from tqdm import tqdm

    opts = dataclasses.replace(options or AnnotateOptions(), **overrides)
    if opts.labels:  # before anything is written: an unknown label raises UnknownLabel
        from ..ner.label_filter import add_label_filter

        add_label_filter(nlp, opts.labels)
    start_time = time.perf_counter()
    input_path, output_path = Path(input_path), Path(output_path)
    fmt = opts.input_format or detect_format(input_path)
    errors_path = Path(opts.errors_path) if opts.errors_path else default_errors_path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    if not opts.resume and output_path.exists():
        output_path.unlink()
    check_resume_settings(output_path, opts.record_settings())
    done = load_done_ids(output_path)
    summary = Summary()
    total = max(count_inputs(input_path, fmt) - len(done), 0)
    if opts.limit is not None:
        total = min(total, opts.limit)

    html_writer = None
    if opts.html is not None:
        mode, html_target = html_mode(opts.html, total, opts.html_page_limit)
        html_writer = HtmlWriter(html_target, mode, opts.spans_key)

    with open(output_path, "a", encoding="utf-8") as out, ErrorFile(errors_path) as err:

        bar = tqdm(total=total, unit="doc", disable=not opts.progress, dynamic_ncols=True, desc="annotate")

        def on_error(bad: BadRecord) -> None:
            summary.add_error(bad)
            err.write(bad)
            bar.update(1)

        def todo() -> Iterator[ReadResult]:
            seen: Set[str] = set()
            for result in flag_duplicate_ids(
                read_inputs(input_path, fmt, text_field=opts.text_field, id_field=opts.id_field), seen
            ):
                if isinstance(result, Item) and id_key(result.id) in done:
                    summary.skipped += 1
                    continue
                yield result

        stream: Iterable[ReadResult] = todo()
        if opts.limit is not None:
            stream = _limit_good(stream, opts.limit)
        try:
            for item, doc in annotate_items(
                nlp,
                stream,
                on_error=on_error,
                batch_size=opts.batch_size,
                n_process=opts.n_process,
                max_chars=opts.max_chars,
                max_batch_chars=opts.max_batch_chars,
            ):
                record = doc_to_record(doc, item, include_text=opts.include_text, spans_key=opts.spans_key,
                                       candidates=opts.candidates)
                out.write(dumps_record(record))
                out.flush()
                summary.add_doc(doc, record)
                if html_writer is not None:
                    html_writer.add(doc, item, len(record["entities"]))
                bar.update(1)
                elapsed = time.perf_counter() - start_time
                if summary.documents % 16 == 0 and elapsed > 0:
                    bar.set_postfix(words_s=f"{summary.words / elapsed:,.0f}", errors=summary.errors, refresh=False)
        finally:
            bar.close()
            os.fsync(out.fileno())
            if html_writer is not None:
                html_writer.close()
    summary.seconds = time.perf_counter() - start_time
    return summary


def _limit_good(stream: Iterable[ReadResult], limit: int) -> Iterator[ReadResult]:
    """Pass bad records through; stop after ``limit`` good items."""
    if limit <= 0:
        return
    n = 0
    for result in stream:
        yield result
        if isinstance(result, Item):
            n += 1
            if n >= limit:
                return

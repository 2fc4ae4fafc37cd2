"""Gather the documents of concurrent requests into ``nlp.pipe`` calls.

One request with one sentence would otherwise be one ``nlp.pipe`` call of
one document, far below the throughput of ``medner annotate``, which batches
64 documents at a time. A :class:`Batcher` owns one pipeline and one worker
thread: requests put their documents on a queue, the batcher takes what is
waiting (up to ``batch_docs`` documents and ``max_batch_chars`` characters),
waits at most ``batch_wait_ms`` for more when the batch is not full, and runs
the batch through :func:`medner.annotate.annotate_items` — the CLI's own code,
so long texts are chunked the same way and a document that makes the pipeline
fail is retried alone and reported for itself while the rest are annotated.
While one batch runs, new requests queue up, so under load batches fill by
themselves and the wait is not paid.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from ..annotate import FILTERED_KEY, BadRecord, Item, annotate_items, count_words, doc_to_record, filter_doc
from ..annotate.long_text import DEFAULT_MAX_BATCH_CHARS, DEFAULT_MAX_CHARS

Result = Union[Dict[str, Any], BadRecord]


@dataclass
class Job:
    """One document of one request, waiting for its record."""

    item: Item
    future: "asyncio.Future[Result]"
    include_text: bool = False
    html: bool = False
    labels: Sequence[str] = ()  # keep only these entity labels (empty: all)


@dataclass
class BatcherStats:
    """Counters for ``/health``: what this worker has done so far."""

    batches: int = 0
    documents: int = 0
    words: int = 0
    errors: int = 0
    largest_batch: int = 0
    busy_seconds: float = 0.0

    def to_dict(self) -> Dict[str, Any]:
        return {
            "batches": self.batches,
            "documents": self.documents,
            "words": self.words,
            "errors": self.errors,
            "largest_batch": self.largest_batch,
            "mean_batch": round(self.documents / self.batches, 2) if self.batches else None,
            "busy_seconds": round(self.busy_seconds, 3),
        }


class Batcher:
    """Annotate documents from many requests with one pipeline, in shared batches.

    ``render(doc) -> str`` makes the displaCy markup for jobs that ask for it.
    Start with :meth:`start` inside a running event loop; :meth:`stop` finishes
    every queued job before it returns.
    """

    def __init__(
        self,
        nlp,
        *,
        batch_docs: int = 64,
        batch_wait_ms: float = 5.0,
        max_chars: int = DEFAULT_MAX_CHARS,
        max_batch_chars: int = DEFAULT_MAX_BATCH_CHARS,
        spans_key: str = "medner",
        render: Optional[Callable[[Any], str]] = None,
    ):
        self.nlp = nlp
        self.batch_docs = batch_docs
        self.batch_wait_s = batch_wait_ms / 1000.0
        self.max_chars = max_chars
        self.max_batch_chars = max_batch_chars
        self.spans_key = spans_key
        self.render = render
        self.stats = BatcherStats()
        self._queue: Optional[asyncio.Queue] = None
        self._task: Optional[asyncio.Task] = None
        # spaCy pipelines are not thread-safe: exactly one thread runs this one.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="medner-nlp")

    @property
    def queued(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    def start(self) -> None:
        if self._task is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.get_running_loop().create_task(self._run_forever(), name="medner-batcher")

    async def stop(self) -> None:
        """Finish the queued jobs, then stop the loop and the worker thread."""
        if self._task is not None:
            await self._queue.put(None)
            await self._task
            self._task = None
        self._executor.shutdown(wait=True)

    def submit(self, items: Sequence[Item], *, include_text: bool = False, html: bool = False,
               labels: Sequence[str] = ()) -> List["asyncio.Future[Result]"]:
        """Queue documents; each future gets its record or a :class:`BadRecord`. ``labels``: keep only
        these entity labels (:func:`medner.annotate.filter_doc`, per document, so requests that share a
        batch may ask for different labels); the record's ``filtered_out`` counts the others per label."""
        if self._task is None:
            raise RuntimeError("Batcher.start() was not called")
        loop = asyncio.get_running_loop()
        futures = []
        for item in items:
            future = loop.create_future()
            self._queue.put_nowait(Job(item, future, include_text, html, tuple(labels)))
            futures.append(future)
        return futures

    async def _next_batch(self, first: Job) -> List[Job]:
        """``first`` plus what arrives until the batch is full or the wait is over."""
        loop = asyncio.get_running_loop()
        batch = [first]
        chars = len(first.item.text)
        deadline = loop.time() + self.batch_wait_s
        while len(batch) < self.batch_docs and chars < self.max_batch_chars:
            try:
                job = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
            if job is None:  # stop requested: put it back so the loop ends after this batch
                self._queue.put_nowait(None)
                break
            batch.append(job)
            chars += len(job.item.text)
        return batch

    async def _run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            job = await self._queue.get()
            if job is None:
                return
            batch = await self._next_batch(job)
            batch = [j for j in batch if not j.future.done()]  # timed-out requests are not annotated
            if not batch:
                continue
            try:
                results = await loop.run_in_executor(self._executor, self._annotate, batch)
            except Exception as e:  # noqa: BLE001 - handed to each waiting request
                for j in batch:
                    if not j.future.done():
                        j.future.set_exception(e)
                continue
            for j, result in zip(batch, results):
                if not j.future.done():
                    j.future.set_result(result)

    def _annotate(self, batch: List[Job]) -> List[Result]:
        """Runs in the worker thread: records (or bad records) in batch order."""
        started = time.perf_counter()
        results: List[Optional[Result]] = [None] * len(batch)
        items = [
            Item(j.item.id, j.item.text, j.item.meta, j.item.source, position) for position, j in enumerate(batch)
        ]

        def on_error(bad: BadRecord) -> None:
            results[bad.line] = bad

        for item, doc in annotate_items(
            self.nlp,
            items,
            on_error=on_error,
            batch_size=len(items),
            max_chars=self.max_chars,
            max_batch_chars=self.max_batch_chars,
        ):
            job = batch[item.line]
            if job.labels:
                filter_doc(doc, job.labels, spans_key=self.spans_key)
            record = doc_to_record(doc, job.item, include_text=job.include_text, spans_key=self.spans_key)
            if job.labels and FILTERED_KEY in doc.spans:
                record["filtered_out"] = dict(sorted(Counter(s.label_ for s in doc.spans[FILTERED_KEY]).items()))
            if job.html and self.render is not None:
                record["html"] = self.render(doc)
            results[item.line] = record
            self.stats.words += count_words(doc)
        missing = [i for i, r in enumerate(results) if r is None]
        for i in missing:  # pragma: no cover - annotate_items yields or reports every item
            results[i] = BadRecord("request", None, "pipeline_error", "no result", batch[i].item.id)
        self.stats.batches += 1
        self.stats.documents += len(batch)
        self.stats.errors += sum(isinstance(r, BadRecord) for r in results)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        self.stats.busy_seconds += time.perf_counter() - started
        return results  # type: ignore[return-value]

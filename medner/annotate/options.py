"""One options object for ``medner annotate``, shared by the single-process and the Dask path.

The CLI parses its flags into :class:`AnnotateOptions` (and, with ``--dask``,
:class:`DaskOptions`) and hands them to :func:`medner.annotate.annotate_file`
or :func:`medner.annotate.dask.annotate_dask`, which pass them down to the readers,
the pipeline runner and the record builder; a new option is added here once.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

from .long_text import DEFAULT_MAX_BATCH_CHARS, DEFAULT_MAX_CHARS
from .outputs import DEFAULT_HTML_PAGE_LIMIT
from .records import SPANS_KEY

DEFAULT_PARTITION_SIZE = 1000
INPUT_FORMATS = (None, "txt", "jsonl", "parquet")
OUTPUT_FORMATS = ("jsonl", "parquet")
# the settings that decide what the records are (and which records): a resumed Dask output must match
RECORD_SETTINGS = (
    "input_format", "text_field", "id_field", "include_text", "spans_key", "max_chars", "max_batch_chars", "labels",
)


@dataclass(frozen=True)
class AnnotateOptions:
    """How documents are read, annotated and written.

    Reading: ``input_format`` (``None``: by suffix), ``text_field``, ``id_field``.
    Annotating: ``batch_size`` documents and at most ``max_batch_chars``
    characters per ``nlp.pipe`` batch; documents longer than ``max_chars``
    annotated in chunks and rejoined (``0``: whole); ``gpu_id`` (``-1``: CPU)
    is passed to ``spacy.require_gpu`` before the pipeline is loaded.
    Records: ``include_text``, ``spans_key`` (the merge component's group, else ``doc.ents``),
    ``candidates`` (medner_linker's top N candidates per entity; 0: only ``kb_id``),
    ``labels`` (keep only these entity labels, :mod:`medner.ner.label_filter`; empty: all).
    Single-process path only: ``n_process``, ``limit`` (new documents, then
    stop), ``errors_path`` (default ``<output>.errors.jsonl``), ``html`` and
    ``html_page_limit``, ``resume`` (``False``: delete the output first).
    Both: ``progress`` (a progress bar).
    """

    input_format: Optional[str] = None
    text_field: str = "text"
    id_field: str = "id"
    batch_size: int = 64
    max_chars: int = DEFAULT_MAX_CHARS
    max_batch_chars: int = DEFAULT_MAX_BATCH_CHARS
    gpu_id: int = -1
    include_text: bool = False
    spans_key: str = SPANS_KEY
    n_process: int = 1
    limit: Optional[int] = None
    errors_path: Optional[Union[str, Path]] = None
    html: Optional[Union[str, Path]] = None
    html_page_limit: int = DEFAULT_HTML_PAGE_LIMIT
    resume: bool = True
    progress: bool = True
    candidates: int = 0
    labels: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from ..ner.label_filter import parse_labels

        object.__setattr__(self, "labels", tuple(parse_labels(self.labels)))
        if self.input_format not in INPUT_FORMATS:
            raise ValueError(f"input_format must be one of txt, jsonl, parquet or None, got {self.input_format!r}")
        for name in ("batch_size", "n_process"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_chars", "max_batch_chars", "candidates"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    def record_settings(self) -> Dict[str, Any]:
        """The settings that decide the records (kept in a Dask output's manifest)."""
        settings = {name: getattr(self, name) for name in RECORD_SETTINGS}
        settings["labels"] = sorted(self.labels)  # the same filter whatever the order; JSON has no tuples
        if not settings["labels"]:
            del settings["labels"]  # no filter: as in manifests written before --labels existed
        return settings


@dataclass(frozen=True)
class DaskOptions:
    """Where and how the Dask path runs: ``scheduler`` (``"local"``: a LocalCluster of
    ``workers`` processes, else a scheduler address), documents per partition,
    part file format, and ``limit_partitions`` (stop after that many new partitions)."""

    scheduler: str = "local"
    workers: int = 2
    partition_size: int = DEFAULT_PARTITION_SIZE
    output_format: str = "jsonl"
    limit_partitions: Optional[int] = None

    def __post_init__(self) -> None:
        if self.output_format not in OUTPUT_FORMATS:
            raise ValueError(f"output_format must be 'jsonl' or 'parquet', got {self.output_format!r}")
        if self.partition_size < 1:
            raise ValueError("partition_size must be >= 1")
        if self.workers < 1:
            raise ValueError("workers must be >= 1")

"""Annotate raw text with a medner pipeline: read inputs, run the pipeline, write records.

One job per module, shared by the single-process ``medner annotate``, the
Dask path (:mod:`medner.annotate.dask`) and the HTTP service (:mod:`medner.serve`),
so all of them write the same records for the same input:

* :mod:`.inputs`: ``.txt`` / directories / JSONL / Parquet -> :class:`Item` or :class:`BadRecord`;
* :mod:`.records`: annotated doc -> record (:func:`doc_to_record`, :func:`doc_entities`,
  one entity's fields in :func:`entity_record`), and the run's :class:`Summary`;
* :mod:`.outputs`: resumable JSONL, the error file, displaCy HTML, :func:`read_records`;
* :mod:`.options`: :class:`AnnotateOptions` / :class:`DaskOptions`, the options every path takes;
* :mod:`.run`: :func:`load_pipeline`, :func:`annotate_items`, :func:`annotate_file`;
* :mod:`medner.ner.label_filter`: the ``medner_label_filter`` component, :func:`add_label_filter` (``--labels``).

Usage::

    from medner.annotate import AnnotateOptions, annotate_file, load_pipeline
    summary = annotate_file("notes/", "out.jsonl", load_pipeline("clinical"), AnnotateOptions(batch_size=32))
"""
from .inputs import (
    BadRecord,
    Item,
    ReadResult,
    count_inputs,
    detect_format,
    flag_duplicate_ids,
    id_key,
    input_files,
    iter_jsonl,
    iter_parquet,
    parse_jsonl_line,
    read_inputs,
    read_txt_file,
    record_to_item,
)
from ..ner.label_filter import UnknownLabel, add_label_filter, filter_doc
from .options import AnnotateOptions, DaskOptions
from .outputs import ErrorFile, HtmlWriter, default_errors_path, html_mode, load_done_ids, print_summary, read_records
from .records import FILTERED_KEY, SPANS_KEY, Summary, count_words, doc_entities, doc_to_record, dumps_record, entity_record
from .run import annotate_file, annotate_items, load_pipeline

__all__ = [
    "AnnotateOptions", "BadRecord", "DaskOptions", "ErrorFile", "FILTERED_KEY", "HtmlWriter", "Item", "ReadResult",
    "SPANS_KEY", "Summary", "UnknownLabel", "add_label_filter", "annotate_file", "annotate_items", "count_inputs", "count_words", "default_errors_path",
    "detect_format", "doc_entities", "filter_doc", "doc_to_record", "dumps_record", "entity_record", "flag_duplicate_ids",
    "html_mode", "id_key", "input_files", "iter_jsonl", "iter_parquet", "load_done_ids", "load_pipeline",
    "parse_jsonl_line", "print_summary", "read_inputs", "read_records", "read_txt_file", "record_to_item",
]

"""Annotate raw text with a trained medner pipeline: inputs, records, outputs.

The single-process ``medner annotate`` path and the Dask path
(:mod:`medner.scale`) share everything in this module: the same readers turn
input files into :class:`Item` (or :class:`BadRecord`) objects, the same
:func:`annotate_items` runs the pipeline and :func:`doc_to_record` builds the
output records, so both paths write byte-identical records for the same input.

Inputs
    * a ``.txt`` file (one document; id = file name),
    * a directory of ``.txt`` files (searched recursively; id = path relative to
      the directory, e.g. ``notes/0001.txt``),
    * JSONL (``.jsonl``/``.ndjson``/``.json``): one JSON object per line with
      ``id`` and ``text``; all other fields are passed through untouched,
    * Parquet (``.parquet``/``.pq``, needs ``pyarrow``) with a ``text`` column,
    * a directory of ``.jsonl`` or ``.parquet`` shards (when it holds no ``.txt``).

Output records (one JSON object per line)::

    {"id": ..., <passthrough fields>, "entities": [
        {"start": 10, "end": 19, "text": "cisplatin", "label": "Chemical",
         "source": "ner", "score": 0.97}, ...]}

``start``/``end`` are character offsets (Python string indices, i.e. Unicode
code points) into the input text: ``text[start:end] == entity["text"]``.
Text files are decoded as strict UTF-8 without newline translation, so offsets
also hold for ``\\r\\n`` files.
"""
from __future__ import annotations

import hashlib
import html as html_lib
import json
import math
import os
import re
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple, Union

from .long_text import DEFAULT_MAX_BATCH_CHARS, DEFAULT_MAX_CHARS, bounded_batches, pipe_chunked

SPANS_KEY = "medner"
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
TXT_SUFFIXES = {".txt"}
DEFAULT_HTML_PAGE_LIMIT = 100


# --------------------------------------------------------------------------- #
# Input items and bad records
# --------------------------------------------------------------------------- #
@dataclass
class Item:
    """One document to annotate."""

    id: Any
    text: str
    meta: Dict[str, Any]
    source: str
    line: Optional[int] = None


@dataclass
class BadRecord:
    """An input record that could not be annotated (goes to the error file)."""

    source: str
    line: Optional[int]
    reason: str
    detail: str = ""
    id: Any = None

    def to_json(self) -> Dict[str, Any]:
        return {"source": self.source, "line": self.line, "id": self.id, "reason": self.reason, "detail": self.detail}


ReadResult = Union[Item, BadRecord]


def id_key(value: Any) -> str:
    """Canonical key of an id for resumability (``1`` and ``"1"`` differ)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def detect_format(path: Union[str, Path]) -> str:
    """``"txt"``, ``"jsonl"`` or ``"parquet"`` for a file or directory."""
    path = Path(path)
    if path.is_dir():
        if next(iter(sorted(path.rglob("*.txt"))), None) is not None:
            return "txt"
        if any(p.suffix.lower() in JSONL_SUFFIXES for p in path.iterdir() if p.is_file()):
            return "jsonl"
        if any(p.suffix.lower() in PARQUET_SUFFIXES for p in path.iterdir() if p.is_file()):
            return "parquet"
        return "txt"
    if not path.exists():
        raise FileNotFoundError(f"Input not found: {path}")
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    return "txt"


def input_files(path: Union[str, Path], fmt: str) -> List[Path]:
    """The files of an input (sorted, so runs and partitions are deterministic)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if fmt == "txt":
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TXT_SUFFIXES)
    suffixes = JSONL_SUFFIXES if fmt == "jsonl" else PARQUET_SUFFIXES
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def txt_id(file: Path, root: Path) -> str:
    if root.is_file():
        return file.name
    return file.relative_to(root).as_posix()


def read_txt_file(file: Path, root: Path) -> ReadResult:
    """One ``.txt`` file as one document (strict UTF-8, no newline translation)."""
    doc_id = txt_id(file, root)
    try:
        raw = file.read_bytes()
    except OSError as e:
        return BadRecord(str(file), None, "unreadable", str(e), doc_id)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return BadRecord(str(file), line, "undecodable", f"invalid UTF-8 at byte {e.start}: {e.reason}", doc_id)
    return Item(doc_id, text, {}, str(file), None)


def parse_jsonl_line(
    raw: bytes, source: str, lineno: int, *, text_field: str = "text", id_field: str = "id"
) -> Optional[ReadResult]:
    """Parse one JSONL line; ``None`` for blank lines."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return BadRecord(source, lineno, "undecodable", f"invalid UTF-8 at byte {e.start} of the line: {e.reason}")
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except ValueError as e:
        return BadRecord(source, lineno, "invalid_json", str(e))
    if not isinstance(obj, dict):
        return BadRecord(source, lineno, "not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    return record_to_item(obj, source, lineno, text_field=text_field, id_field=id_field)


def record_to_item(
    obj: Dict[str, Any], source: str, lineno: int, *, text_field: str = "text", id_field: str = "id"
) -> ReadResult:
    """Validate a parsed record (JSONL object or Parquet row) and split off id/text."""
    doc_id = obj.get(id_field)
    if doc_id is None:
        doc_id = f"{Path(source).name}:{lineno}"
    elif isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
        return BadRecord(source, lineno, "invalid_id", f"id must be a string or integer, got {type(doc_id).__name__}")
    if text_field not in obj:
        return BadRecord(source, lineno, "missing_text", f"no {text_field!r} field", doc_id)
    text = obj[text_field]
    if not isinstance(text, str):
        return BadRecord(source, lineno, "non_string_text", f"{text_field!r} is {type(text).__name__}", doc_id)
    meta = {k: v for k, v in obj.items() if k != id_field and k != text_field}
    return Item(doc_id, text, meta, source, lineno)


def iter_jsonl(
    file: Union[str, Path],
    start: int = 0,
    end: Optional[int] = None,
    first_line: int = 1,
    *,
    text_field: str = "text",
    id_field: str = "id",
) -> Iterator[ReadResult]:
    """Records of a JSONL file, optionally only the byte range ``[start, end)``
    (which must start at a line start; ``first_line`` is its line number)."""
    source = str(file)
    with open(file, "rb") as f:
        f.seek(start)
        lineno = first_line - 1
        pos = start
        for raw in f:
            if end is not None and pos >= end:
                break
            pos += len(raw)
            lineno += 1
            result = parse_jsonl_line(raw, source, lineno, text_field=text_field, id_field=id_field)
            if result is not None:
                yield result


def _json_safe(value: Any) -> Any:
    """Parquet values (dates, decimals, bytes...) as JSON-serializable values."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def iter_parquet(
    file: Union[str, Path],
    row_start: int = 0,
    row_stop: Optional[int] = None,
    *,
    text_field: str = "text",
    id_field: str = "id",
    batch_rows: int = 1024,
) -> Iterator[ReadResult]:
    """Rows ``[row_start, row_stop)`` of a Parquet file; ``line`` is the 1-based row number."""
    import pyarrow.parquet as pq

    source = str(file)
    pf = pq.ParquetFile(file)
    n_rows = pf.metadata.num_rows
    row_stop = n_rows if row_stop is None else min(row_stop, n_rows)
    # Read only the row groups that overlap the range.
    offset = 0
    for rg in range(pf.num_row_groups):
        rg_rows = pf.metadata.row_group(rg).num_rows
        rg_start, rg_stop = offset, offset + rg_rows
        offset = rg_stop
        if rg_stop <= row_start or rg_start >= row_stop:
            continue
        table = pf.read_row_group(rg)
        lo, hi = max(row_start, rg_start) - rg_start, min(row_stop, rg_stop) - rg_start
        table = table.slice(lo, hi - lo)
        row = rg_start + lo
        for batch in table.to_batches(max_chunksize=batch_rows):
            for obj in batch.to_pylist():
                row += 1
                yield record_to_item(_json_safe(obj), source, row, text_field=text_field, id_field=id_field)


def read_inputs(
    path: Union[str, Path], fmt: Optional[str] = None, *, text_field: str = "text", id_field: str = "id"
) -> Iterator[ReadResult]:
    """All records of an input file or directory, in a deterministic order."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    for file in input_files(path, fmt):
        if fmt == "txt":
            yield read_txt_file(file, path)
        elif fmt == "jsonl":
            yield from iter_jsonl(file, text_field=text_field, id_field=id_field)
        elif fmt == "parquet":
            yield from iter_parquet(file, text_field=text_field, id_field=id_field)
        else:
            raise ValueError(f"Unknown input format: {fmt}")


def count_inputs(path: Union[str, Path], fmt: Optional[str] = None) -> int:
    """Number of records (an upper bound for JSONL: non-blank lines), for progress bars."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    files = input_files(path, fmt)
    if fmt == "txt":
        return len(files)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    n = 0
    for file in files:
        with open(file, "rb") as f:
            n += sum(1 for raw in f if raw.strip())
    return n


# --------------------------------------------------------------------------- #
# Records
# --------------------------------------------------------------------------- #
def _lookup(values: Any, i: int, n: int, span) -> Any:
    """Per-span value from span-group attrs: a list parallel to the group, or a
    dict keyed by (start_char, end_char[, label]) / "start:end[:label]"."""
    if values is None:
        return None
    if isinstance(values, (list, tuple)):
        return values[i] if len(values) == n else None
    if isinstance(values, dict):
        s, e, lab = span.start_char, span.end_char, span.label_
        for key in ((s, e, lab), f"{s}:{e}:{lab}", (s, e), f"{s}:{e}", i, str(i)):
            if key in values:
                return values[key]
    return None


def _score(value: Any) -> Optional[float]:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def doc_entities(doc, spans_key: str = SPANS_KEY) -> List[Dict[str, Any]]:
    """Entities of an annotated doc, sorted by offsets.

    If the merge component wrote ``doc.spans[spans_key]``, that group is used,
    with ``attrs["sources"]``/``attrs["scores"]`` (when present) giving each
    span's source component and score; otherwise ``doc.ents`` with source
    ``"ents"`` and score ``None``.
    """
    text = doc.text
    entities = []
    if spans_key in doc.spans:
        group = doc.spans[spans_key]
        attrs = getattr(group, "attrs", {}) or {}
        sources, scores = attrs.get("sources"), attrs.get("scores")
        n = len(group)
        for i, span in enumerate(group):
            source = _lookup(sources, i, n, span)
            entities.append(
                {
                    "start": span.start_char,
                    "end": span.end_char,
                    "text": text[span.start_char : span.end_char],
                    "label": span.label_,
                    "source": str(source) if source is not None else spans_key,
                    "score": _score(_lookup(scores, i, n, span)),
                }
            )
    else:
        for span in doc.ents:
            entities.append(
                {
                    "start": span.start_char,
                    "end": span.end_char,
                    "text": text[span.start_char : span.end_char],
                    "label": span.label_,
                    "source": "ents",
                    "score": None,
                }
            )
    entities.sort(key=lambda e: (e["start"], e["end"], e["label"], e["source"]))
    return entities


def doc_to_record(doc, item: Item, *, include_text: bool = False, spans_key: str = SPANS_KEY) -> Dict[str, Any]:
    """The output record for one document: id, passthrough fields, entities."""
    record: Dict[str, Any] = {"id": item.id}
    if include_text:
        record["text"] = item.text
    for key, value in item.meta.items():
        if key not in record:
            record[key] = value
    record["entities"] = doc_entities(doc, spans_key)
    return record


def dumps_record(record: Dict[str, Any]) -> str:
    """One JSONL line (UTF-8 text; lone surrogates fall back to ``\\u`` escapes)."""
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(record, ensure_ascii=True)
    return line + "\n"


def count_words(doc) -> int:
    return sum(1 for token in doc if not token.is_space)


# --------------------------------------------------------------------------- #
# Summary
# --------------------------------------------------------------------------- #
@dataclass
class Summary:
    documents: int = 0
    characters: int = 0
    words: int = 0
    entities: Counter = field(default_factory=Counter)
    errors: int = 0
    error_reasons: Counter = field(default_factory=Counter)
    skipped: int = 0
    seconds: float = 0.0

    def add_doc(self, doc, record: Dict[str, Any]) -> None:
        self.documents += 1
        self.characters += len(doc.text)
        self.words += count_words(doc)
        self.entities.update(e["label"] for e in record["entities"])

    def add_error(self, bad: BadRecord) -> None:
        self.errors += 1
        self.error_reasons[bad.reason] += 1

    def merge(self, other: "Summary") -> None:
        self.documents += other.documents
        self.characters += other.characters
        self.words += other.words
        self.entities.update(other.entities)
        self.errors += other.errors
        self.error_reasons.update(other.error_reasons)
        self.skipped += other.skipped

    def to_dict(self) -> Dict[str, Any]:
        seconds = self.seconds
        return {
            "documents": self.documents,
            "characters": self.characters,
            "words": self.words,
            "entities": sum(self.entities.values()),
            "entities_per_label": dict(sorted(self.entities.items())),
            "errors": self.errors,
            "error_reasons": dict(sorted(self.error_reasons.items())),
            "skipped_already_done": self.skipped,
            "seconds": round(seconds, 3),
            "documents_per_second": round(self.documents / seconds, 2) if seconds > 0 else None,
            "words_per_second": round(self.words / seconds, 1) if seconds > 0 else None,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Summary":
        return cls(
            documents=data["documents"],
            characters=data["characters"],
            words=data["words"],
            entities=Counter(data.get("entities_per_label", {})),
            errors=data["errors"],
            error_reasons=Counter(data.get("error_reasons", {})),
            skipped=data.get("skipped_already_done", 0),
            seconds=data.get("seconds", 0.0),
        )


def print_summary(summary: Dict[str, Any], printer=None) -> None:
    from wasabi import Printer

    msg = printer or Printer()
    rows = [
        ("documents", summary["documents"]),
        ("skipped (already in output)", summary["skipped_already_done"]),
        ("characters", summary["characters"]),
        ("words", summary["words"]),
        ("entities", summary["entities"]),
        ("errors", summary["errors"]),
        ("seconds", summary["seconds"]),
        ("documents / second", summary["documents_per_second"]),
        ("words / second", summary["words_per_second"]),
    ]
    msg.table(rows, header=("", "value"), divider=True, aligns=("l", "r"))
    if summary["entities_per_label"]:
        msg.table(
            list(summary["entities_per_label"].items()), header=("label", "entities"), divider=True, aligns=("l", "r")
        )
    if summary["error_reasons"]:
        msg.table(list(summary["error_reasons"].items()), header=("error", "records"), divider=True, aligns=("l", "r"))


# --------------------------------------------------------------------------- #
# Running the pipeline
# --------------------------------------------------------------------------- #
def load_pipeline(model: Optional[Union[str, Path]] = None):
    """Load a shipped short name, an installed pipeline package or a pipeline directory
    (:mod:`medner.pipelines`; ``None``: the default pipeline)."""
    from .pipelines import load

    return load(model)


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
    and rejoined (:func:`medner.long_text.pipe_chunked`; ``0``: whole
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


# --------------------------------------------------------------------------- #
# Resumable JSONL output
# --------------------------------------------------------------------------- #
def load_done_ids(output: Union[str, Path], *, repair: bool = True) -> Set[str]:
    """Ids (as :func:`id_key`) already in an output JSONL file.

    A trailing partial line (a run killed in the middle of a write) is cut off
    when ``repair`` is set, so the record is written again in full.
    """
    output = Path(output)
    done: Set[str] = set()
    if not output.exists():
        return done
    good_end = 0
    with open(output, "rb") as f:
        pos = 0
        for raw in f:
            pos += len(raw)
            complete = raw.endswith(b"\n")
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                obj = None
            if complete:
                good_end = pos
            if isinstance(obj, dict) and "id" in obj and complete:
                done.add(id_key(obj["id"]))
    if repair and good_end < output.stat().st_size:
        with open(output, "r+b") as f:
            f.truncate(good_end)
    return done


def _safe_name(doc_id: Any) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(doc_id)).strip("._")[:80] or "doc"
    digest = hashlib.sha1(id_key(doc_id).encode("utf-8")).hexdigest()[:8]
    return f"{name}-{digest}.html"


class HtmlWriter:
    """displaCy output: one page (``mode="page"``) or one file per document
    plus an ``index.html`` in a directory (``mode="dir"``)."""

    def __init__(self, path: Union[str, Path], mode: str, spans_key: str = SPANS_KEY):
        self.path = Path(path)
        self.mode = mode
        self.spans_key = spans_key
        self.docs: List[Any] = []
        self.index: List[Tuple[Any, str, int]] = []
        if mode == "dir":
            self.path.mkdir(parents=True, exist_ok=True)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def _render(self, docs: Sequence[Any], page: bool) -> str:
        from spacy import displacy

        use_spans = any(self.spans_key in d.spans for d in docs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if use_spans:
                return displacy.render(
                    list(docs), style="span", page=page, jupyter=False, options={"spans_key": self.spans_key}
                )
            return displacy.render(list(docs), style="ent", page=page, jupyter=False)

    def add(self, doc, item: Item, n_entities: int) -> None:
        doc.user_data["title"] = str(item.id)
        if self.mode == "page":
            self.docs.append(doc)
        else:
            name = _safe_name(item.id)
            (self.path / name).write_text(self._render([doc], page=True), encoding="utf-8")
            self.index.append((item.id, name, n_entities))

    def close(self) -> Path:
        if self.mode == "page":
            self.path.write_text(self._render(self.docs, page=True), encoding="utf-8")
            return self.path
        index = self.path / "index.html"
        previous = index.read_text(encoding="utf-8") if index.exists() else ""
        rows = "\n".join(
            f'<li><a href="{html_lib.escape(name)}">{html_lib.escape(str(doc_id))}</a> ({n} entities)</li>'
            for doc_id, name, n in self.index
        )
        if "<!--rows-->" in previous:  # resumed run: append to the existing index
            page = previous.replace("<!--rows-->", rows + "\n<!--rows-->")
        else:
            page = f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>medner</title></head><body>\n<ul>\n{rows}\n<!--rows-->\n</ul>\n</body></html>\n"
        index.write_text(page, encoding="utf-8")
        return index


def html_mode(path: Union[str, Path], n_docs: int, page_limit: int = DEFAULT_HTML_PAGE_LIMIT) -> Tuple[str, Path]:
    """``("page", file)`` for runs of at most ``page_limit`` documents, else
    ``("dir", directory)`` (a ``.html`` suffix is dropped for the directory)."""
    path = Path(path)
    if n_docs <= page_limit and not path.is_dir():
        return "page", path
    if n_docs <= page_limit:
        return "page", path / "annotations.html"
    if path.suffix.lower() in {".html", ".htm"}:
        path = path.with_suffix("")
    return "dir", path


def annotate_file(
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    nlp,
    *,
    errors_path: Optional[Union[str, Path]] = None,
    batch_size: int = 64,
    n_process: int = 1,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_batch_chars: int = DEFAULT_MAX_BATCH_CHARS,
    limit: Optional[int] = None,
    include_text: bool = False,
    html: Optional[Union[str, Path]] = None,
    html_page_limit: int = DEFAULT_HTML_PAGE_LIMIT,
    input_format: Optional[str] = None,
    text_field: str = "text",
    id_field: str = "id",
    spans_key: str = SPANS_KEY,
    progress: bool = True,
    resume: bool = True,
) -> Summary:
    """Annotate ``input_path`` into the JSONL file ``output_path`` (single machine).

    Resumable: ids already in ``output_path`` are skipped and each record is
    flushed as soon as it is written. Bad records go to ``errors_path``
    (default ``<output>.errors.jsonl``), which is rewritten on every run.
    """
    from tqdm import tqdm

    start_time = time.perf_counter()
    input_path, output_path = Path(input_path), Path(output_path)
    fmt = input_format or detect_format(input_path)
    errors_path = Path(errors_path) if errors_path else default_errors_path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    if not resume and output_path.exists():
        output_path.unlink()
    done = load_done_ids(output_path)
    summary = Summary()
    total = max(count_inputs(input_path, fmt) - len(done), 0)
    if limit is not None:
        total = min(total, limit)

    html_writer = None
    if html is not None:
        mode, html_target = html_mode(html, total, html_page_limit)
        html_writer = HtmlWriter(html_target, mode, spans_key)

    seen: Set[str] = set()
    with open(output_path, "a", encoding="utf-8") as out, ErrorFile(errors_path) as err:

        bar = tqdm(total=total, unit="doc", disable=not progress, dynamic_ncols=True, desc="annotate")

        def on_error(bad: BadRecord) -> None:
            summary.add_error(bad)
            err.write(bad)
            bar.update(1)

        def todo() -> Iterator[ReadResult]:
            for result in read_inputs(input_path, fmt, text_field=text_field, id_field=id_field):
                if isinstance(result, Item):
                    key = id_key(result.id)
                    if key in seen:
                        result = BadRecord(
                            result.source, result.line, "duplicate_id", "id already seen in this input", result.id
                        )
                    else:
                        seen.add(key)
                        if key in done:
                            summary.skipped += 1
                            continue
                yield result

        stream: Iterable[ReadResult] = todo()
        if limit is not None:
            stream = _limit_good(stream, limit)
        try:
            for item, doc in annotate_items(
                nlp,
                stream,
                on_error=on_error,
                batch_size=batch_size,
                n_process=n_process,
                max_chars=max_chars,
                max_batch_chars=max_batch_chars,
            ):
                record = doc_to_record(doc, item, include_text=include_text, spans_key=spans_key)
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


class ErrorFile:
    """The run's error file, created at the first bad record only.

    A run without bad records leaves no file, and removes the one an earlier
    run left (it described that run's input, not this one's).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._file = None

    def __enter__(self) -> "ErrorFile":
        if self.path.exists():
            self.path.unlink()
        return self

    def write(self, bad: BadRecord) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "w", encoding="utf-8")
        self._file.write(dumps_record(bad.to_json()))
        self._file.flush()

    def __exit__(self, *exc_info) -> None:
        if self._file is not None:
            self._file.close()


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


def default_errors_path(output_path: Union[str, Path]) -> Path:
    output_path = Path(output_path)
    if output_path.suffix:
        return output_path.with_suffix(".errors.jsonl")
    return output_path.with_name(output_path.name + ".errors.jsonl")


def read_records(path: Union[str, Path]) -> List[Dict[str, Any]]:
    """All records of a JSONL output file, a Parquet output file, or an output
    directory of ``part-*.jsonl`` / ``part-*.parquet`` files (in part order)."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.glob("part-*.jsonl")) + sorted(path.glob("part-*.parquet"))
    records: List[Dict[str, Any]] = []
    for file in files:
        if file.suffix == ".parquet":
            import pyarrow.parquet as pq

            records.extend(pq.read_table(file).to_pylist())
        else:
            with open(file, encoding="utf-8") as f:
                records.extend(json.loads(line) for line in f if line.strip())
    return records

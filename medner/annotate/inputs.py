"""Read annotation inputs: ``.txt`` files, directories of them, JSONL and Parquet.

Every reader yields :class:`Item` (a document to annotate) or
:class:`BadRecord` (a record that cannot be annotated, for the error file),
in a deterministic order, so the single-process path, the Dask partitions
and the HTTP service see the same documents with the same ids.

* a ``.txt`` file (one document; id = file name),
* a directory of ``.txt`` files (searched recursively; id = path relative to
  the directory, e.g. ``notes/0001.txt``),
* JSONL (``.jsonl``/``.ndjson``/``.json``): one JSON object per line with
  ``id`` and ``text``; all other fields are passed through untouched,
* Parquet (``.parquet``/``.pq``, needs ``pyarrow``) with a ``text`` column,
* a directory of ``.jsonl`` or ``.parquet`` shards (when it holds no ``.txt``).

Text files are decoded as strict UTF-8 without newline translation, so
character offsets also hold for ``\\r\\n`` files.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Set, Union

JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
TXT_SUFFIXES = {".txt"}


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


def flag_duplicate_ids(results: Iterable[ReadResult], seen: Set[str]) -> Iterator[ReadResult]:
    """Items whose id is in ``seen`` become ``duplicate_id`` bad records; the others' ids are added.

    The first occurrence of an id in input order wins, on every path (the Dask
    path decides input order over all partitions before annotating).
    """
    for result in results:
        if isinstance(result, Item):
            key = id_key(result.id)
            if key in seen:
                result = duplicate_id(result)
            else:
                seen.add(key)
        yield result


def duplicate_id(item: Item) -> BadRecord:
    return BadRecord(item.source, item.line, "duplicate_id", "id already seen in this input", item.id)


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

"""Where records go: the resumable JSONL file, the error file, displaCy HTML, the summary table.

The JSONL output is resumable: ids already in it are skipped on the next run,
and a trailing partial line (a run killed mid-write) is cut off. The error
file exists only when a run met a bad record. Output directories of the Dask
path (``part-*.jsonl`` / ``part-*.parquet``) are read back by
:func:`read_records` like a single file.
"""
from __future__ import annotations

import hashlib
import html as html_lib
import json
import re
import warnings
from pathlib import Path
from typing import Any, Dict, List, Sequence, Set, Tuple, Union

from .inputs import BadRecord, Item, id_key
from .records import SPANS_KEY, dumps_record

DEFAULT_HTML_PAGE_LIMIT = 100


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
            from ..assertion.display import has_assertions, render_assertions

            if has_assertions(docs):  # negated / uncertain entities drawn apart (medner_assertion)
                return render_assertions(docs, page=page)
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


def default_errors_path(output_path: Union[str, Path]) -> Path:
    output_path = Path(output_path)
    if output_path.suffix:
        return output_path.with_suffix(".errors.jsonl")
    return output_path.with_name(output_path.name + ".errors.jsonl")


class SettingsChanged(ValueError):
    """Resuming an output that was written with other record settings (one line, naming them)."""


def settings_path(output_path: Union[str, Path]) -> Path:
    """``<output>.settings.json``: the record settings a JSONL output was written with."""
    output_path = Path(output_path)
    if output_path.suffix:
        return output_path.with_suffix(".settings.json")
    return output_path.with_name(output_path.name + ".settings.json")


def check_resume_settings(output_path: Union[str, Path], settings: Dict[str, Any]) -> None:
    """Refuse (:class:`SettingsChanged`) to resume ``output_path`` written with other record settings
    (:data:`medner.annotate.options.RECORD_SETTINGS`, e.g. ``--labels``); record them for a new output.
    An output from before the settings were kept (no settings file) is resumed and they are recorded."""
    path = settings_path(output_path)
    if Path(output_path).exists() and path.exists():
        previous = json.loads(path.read_text(encoding="utf-8"))
        changed = sorted(key for key in set(previous) | set(settings) if previous.get(key) != settings.get(key))
        if changed:
            detail = ", ".join(f"{key} {previous.get(key)!r} -> {settings.get(key)!r}" for key in changed)
            raise SettingsChanged(f"{output_path} was written with other settings ({detail}); "
                             f"rerun with the same options, --restart, or a new output file")
        return
    path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")


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
    if summary.get("filtered_out_per_label"):
        msg.table(list(summary["filtered_out_per_label"].items()), header=("label set aside (--labels)", "entities"),
                  divider=True, aligns=("l", "r"))
    if summary.get("relations_filtered_out"):
        msg.info(f"{summary['relations_filtered_out']} relations set aside with them (one side's label not in --labels)")
    if summary["error_reasons"]:
        msg.table(list(summary["error_reasons"].items()), header=("error", "records"), divider=True, aligns=("l", "r"))

"""One reader per source format. Each yields ``SourceDoc`` objects.

* PubTator (BC5CDR, and NCBI-disease's original format)
* brat standoff (MACCROBAT2020): ``.txt`` + ``.ann`` pairs
* Dataturks-style JSON (Kaggle Medical NER ``Corona2.json``)
* spaCy/Prodigy-style JSONL: ``{"text": ..., "spans": [{"start", "end", "label"}]}``

Readers raise ``CorpusFormatError`` (file and line) for input they cannot
parse at all. Annotations that parse but are wrong (offsets outside the text,
text that does not match) are passed on unchanged: ``medner.corpus.align``
counts and reports them.
"""
import json
import re
from pathlib import Path
from dataclasses import replace
from typing import Dict, Iterable, Iterator, List, Optional, Union

from .records import CorpusFormatError, SourceAttribute, SourceDoc, SourceSpan

PathLike = Union[str, Path]


# ---------------------------------------------------------------- PubTator
_TITLE_OR_ABSTRACT = re.compile(r"^([^|\t]+)\|([ta])\|(.*)$")


def read_pubtator(path: PathLike) -> Iterator[SourceDoc]:
    """Read a PubTator file: ``PMID|t|title``, ``PMID|a|abstract``, then mentions.

    Mention lines are ``PMID<TAB>start<TAB>end<TAB>text<TAB>type[<TAB>id]`` with
    offsets into ``title + " " + abstract``; the id (MeSH/OMIM, ``-1`` for none)
    becomes ``SourceSpan.kb_id``. Relation lines (``PMID<TAB>CID<TAB>...``)
    are skipped. Documents are separated by blank lines.
    """
    path = Path(path)
    doc: Optional[SourceDoc] = None
    parts: dict = {}

    def finish() -> Optional[SourceDoc]:
        if doc is not None and "t" not in parts:
            raise CorpusFormatError(path, doc.line, f"document {doc.id} has no title line")
        return doc

    with path.open(encoding="utf8") as file_:
        for line_no, raw in enumerate(file_, start=1):
            line = raw.rstrip("\n").rstrip("\r")
            if not line.strip():
                if doc is not None:
                    yield finish()
                doc, parts = None, {}
                continue
            header = _TITLE_OR_ABSTRACT.match(line)
            if header and "\t" not in line.split("|", 1)[0]:
                pmid, kind, content = header.groups()
                if doc is not None and doc.id != pmid:
                    # No blank line between documents: close the previous one.
                    yield finish()
                    doc, parts = None, {}
                if doc is None:
                    doc = SourceDoc(id=pmid, text="", path=str(path), line=line_no)
                if kind in parts:
                    raise CorpusFormatError(path, line_no, f"second '{kind}' line for document {pmid}")
                if kind == "a" and "t" not in parts:
                    raise CorpusFormatError(path, line_no, f"abstract before title for document {pmid}")
                parts[kind] = content
                doc.text = parts["t"] if kind == "t" else parts["t"] + " " + content
                continue
            fields = line.split("\t")
            if doc is None:
                raise CorpusFormatError(path, line_no, "annotation line outside a document")
            if fields[0] != doc.id:
                raise CorpusFormatError(
                    path, line_no, f"annotation for {fields[0]!r} inside document {doc.id!r}"
                )
            if len(fields) >= 2 and not fields[1].lstrip("-").isdigit():
                continue  # relation line, e.g. "227508<TAB>CID<TAB>D008750<TAB>D007022"
            if len(fields) < 5:
                raise CorpusFormatError(
                    path, line_no, f"expected 'PMID start end text type', got {len(fields)} fields"
                )
            try:
                start, end = int(fields[1]), int(fields[2])
            except ValueError:
                raise CorpusFormatError(path, line_no, f"offsets are not integers: {fields[1:3]}")
            kb_id = fields[5].strip() if len(fields) > 5 and fields[5].strip() != "-1" else ""
            doc.spans.append(SourceSpan(start, end, fields[4], text=fields[3], line=line_no, kb_id=kb_id))
    if doc is not None:
        yield finish()


# ---------------------------------------------------------------- brat
def read_brat(directory: PathLike, doc_ids: Optional[Iterable[str]] = None) -> Iterator[SourceDoc]:
    """Read brat standoff pairs ``<id>.txt`` / ``<id>.ann`` from ``directory``.

    Text-bound annotations (``T`` lines) become spans. Attributes (``A``/``M``,
    e.g. ``POLARITY E35 NEG``) become ``SourceDoc.attributes``, resolved through
    the event's trigger to the span they qualify; the lines of all event
    triggers go to ``meta["event_trigger_lines"]`` (the spans an assertion is
    annotated for). Events (``E``), relations (``R``), equivalences (``*``) and
    notes (``#``) carry no offsets of their own: they are counted in
    ``meta["skipped_lines"]`` by kind. Discontinuous spans (``start end;start
    end``) keep their fragments.
    """
    directory = Path(directory)
    ids = sorted(p.stem for p in directory.glob("*.ann")) if doc_ids is None else list(doc_ids)
    for doc_id in ids:
        ann_path, txt_path = directory / f"{doc_id}.ann", directory / f"{doc_id}.txt"
        if not txt_path.exists():
            raise CorpusFormatError(ann_path, None, f"no text file {txt_path.name} beside it")
        text = _read_text(txt_path)
        doc = SourceDoc(id=doc_id, text=text, path=str(ann_path), meta={"skipped_lines": {}})
        skipped = doc.meta["skipped_lines"]
        span_lines: Dict[str, int] = {}  # T id -> line
        event_triggers: Dict[str, str] = {}  # E id -> T id
        with ann_path.open(encoding="utf8") as file_:
            for line_no, raw in enumerate(file_, start=1):
                line = raw.rstrip("\r\n")
                if not line.strip():
                    continue
                kind = line[0]
                if kind in "AM":
                    doc.attributes.append(_brat_attribute(ann_path, line_no, line))
                    continue
                if kind != "T":
                    skipped[kind] = skipped.get(kind, 0) + 1
                    if kind == "E":
                        event_id, _, body = line.partition("\t")
                        trigger = body.split(" ", 1)[0].partition(":")[2]
                        event_triggers[event_id] = trigger
                    continue
                fields = line.split("\t")
                if len(fields) < 2 or " " not in fields[1]:
                    raise CorpusFormatError(ann_path, line_no, "text-bound line needs 'ID<TAB>TYPE START END<TAB>TEXT'")
                label, _, offsets = fields[1].partition(" ")
                try:
                    fragments = tuple(
                        (int(a), int(b)) for a, b in (piece.split() for piece in offsets.split(";"))
                    )
                except ValueError:
                    raise CorpusFormatError(ann_path, line_no, f"cannot read offsets {offsets!r}")
                span_lines[fields[0]] = line_no
                start, end = min(f[0] for f in fragments), max(f[1] for f in fragments)
                stated = fields[2] if len(fields) > 2 else None
                if len(fragments) > 1:
                    doc.spans.append(SourceSpan(start, end, label, stated, line_no, fragments))
                else:
                    doc.spans.append(SourceSpan(start, end, label, stated, line_no))
        doc.attributes = [
            replace(a, span_line=span_lines.get(event_triggers.get(a.target, a.target)))
            for a in doc.attributes
        ]
        doc.meta["event_trigger_lines"] = sorted(
            {span_lines[t] for t in event_triggers.values() if t in span_lines}
        )
        yield doc


def _brat_attribute(path: Path, line_no: int, line: str) -> SourceAttribute:
    # "A1<TAB>POLARITY E35 NEG"; a binary attribute has no value ("A1<TAB>Negation E1").
    fields = line.split("\t")
    parts = fields[1].split() if len(fields) > 1 else []
    if len(parts) not in (2, 3):
        raise CorpusFormatError(path, line_no, "attribute line needs 'ID<TAB>NAME TARGET [VALUE]'")
    return SourceAttribute(parts[0], parts[1], parts[2] if len(parts) == 3 else None, line_no)


def _read_text(path: Path) -> str:
    # newline="" keeps CRLF as two characters, as brat's offsets count them.
    try:
        with path.open(encoding="utf8", newline="") as file_:
            return file_.read()
    except UnicodeDecodeError as err:
        raise CorpusFormatError(path, None, f"not UTF-8 text: {err}")


# ---------------------------------------------------------------- Dataturks JSON
def read_dataturks_json(path: PathLike) -> Iterator[SourceDoc]:
    """Read a Dataturks-style export: ``{"examples": [{"id", "content", "annotations": [...]}]}``.

    Each annotation has ``start``, ``end`` (exclusive), ``tag_name`` and ``value``.
    """
    path = Path(path)
    raw = path.read_text(encoding="utf8")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        raise CorpusFormatError(path, err.lineno, f"invalid JSON: {err.msg} (column {err.colno})")
    examples = data.get("examples") if isinstance(data, dict) else data
    if not isinstance(examples, list):
        raise CorpusFormatError(path, 1, "expected an object with an 'examples' list")
    for i, example in enumerate(examples):
        where = f"examples[{i}]"
        if not isinstance(example, dict) or not isinstance(example.get("content"), str):
            raise CorpusFormatError(path, None, f"{where}: needs a string 'content'")
        doc = SourceDoc(id=str(example.get("id", i)), text=example["content"], path=str(path))
        for j, ann in enumerate(example.get("annotations") or []):
            try:
                start, end, label = int(ann["start"]), int(ann["end"]), str(ann["tag_name"])
            except (KeyError, TypeError, ValueError):
                raise CorpusFormatError(path, None, f"{where}.annotations[{j}]: needs integer 'start', 'end' and a 'tag_name'")
            doc.spans.append(SourceSpan(start, end, label, text=ann.get("value"), line=None))
        yield doc


# ---------------------------------------------------------------- JSONL
def read_jsonl(path: PathLike) -> Iterator[SourceDoc]:
    """Read spaCy/Prodigy-style JSONL: one ``{"text", "spans": [{"start", "end", "label"}]}`` a line.

    An optional ``"id"`` (or ``meta.id``) names the document; otherwise it is
    ``<file>:<line>``. Prodigy's ``"answer": "reject"`` records are skipped.
    """
    path = Path(path)
    with path.open(encoding="utf8") as file_:
        for line_no, raw in enumerate(file_, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as err:
                raise CorpusFormatError(path, line_no, f"invalid JSON: {err.msg} (column {err.colno})")
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise CorpusFormatError(path, line_no, "each line needs a string 'text'")
            if record.get("answer") == "reject":
                continue
            doc_id = record.get("id") or (record.get("meta") or {}).get("id") or f"{path.name}:{line_no}"
            doc = SourceDoc(id=str(doc_id), text=record["text"], path=str(path), line=line_no)
            for j, span in enumerate(record.get("spans") or []):
                try:
                    doc.spans.append(
                        SourceSpan(int(span["start"]), int(span["end"]), str(span["label"]),
                                   text=span.get("text"), line=line_no)
                    )
                except (KeyError, TypeError, ValueError):
                    raise CorpusFormatError(path, line_no, f"spans[{j}] needs integer 'start', 'end' and a 'label'")
            yield doc


READERS = {
    "pubtator": read_pubtator,
    "brat": read_brat,
    "dataturks": read_dataturks_json,
    "jsonl": read_jsonl,
}


def read_all(reader: str, paths: List[PathLike]) -> List[SourceDoc]:
    """Run one of ``READERS`` over several files and collect the documents."""
    fn = READERS[reader]
    return [doc for path in paths for doc in fn(path)]

"""The clinical-notes regression set (``assets/clinical_notes/notes.jsonl``): validate it, make gold Docs, count it.

One JSON object a line: ``{"id", "text", "section", "entities": [{"start", "end",
"text", "label", "assertion"?, "medication_status"?}]}`` in the clinical schema
(``CLINICAL_LABELS``). ``read_notes`` checks every record and raises one
``NotesError`` that names each bad line (bad offsets, text mismatch, unknown
label or value, overlap, a span that does not fall on medner's token
boundaries), so a gold edit that breaks the set fails loudly, never silently.

Gold Docs carry the entities in ``doc.ents``, the assertions the way the
MACCROBAT converter writes them (``doc.spans["assertion"]``, value as the span
label, ``attrs["entity_labels"]``), so ``medner.assertion.component.score_assertions``
and ``medner.assertion.evaluation`` score them unchanged, and the medication statuses
in ``doc.spans["medication_status"]`` (same layout).
"""
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from spacy.language import Language
from spacy.tokens import Doc, Span

from ..tokenizer import blank_biomedical
from .assertions import ASSERTION_KEY, ASSERTION_VALUES
from .schema import CLINICAL_LABELS, MAIN_CLINICAL_LABELS

# The concepts that get an assertion: the clinical schema's main types.
ASSERTABLE_LABELS = MAIN_CLINICAL_LABELS
STATUS_KEY = "medication_status"
MEDICATION_STATUSES = ("none", "started", "continued", "held", "stopped", "discontinued", "increased", "decreased")
SECTIONS = (
    "discharge_summary", "progress_note", "hpi", "physical_exam", "results",
    "assessment_plan", "medication_list", "problem_list", "family_history",
)
ENTITY_KEYS = {"start", "end", "text", "label", "assertion", "medication_status"}


class NotesError(ValueError):
    """The notes file has records that break the format; the message names every bad line."""


@dataclass
class NoteRecord:
    line: int
    id: str
    text: str
    section: str
    entities: List[dict]


def _entity_problems(ent: object, i: int, text: str, doc: Doc) -> List[str]:
    if not isinstance(ent, dict):
        return [f"entity {i} is not an object"]
    where = f"entity {i} ({ent.get('text')!r})"
    problems = [f"{where}: unknown key {k!r}" for k in sorted(set(ent) - ENTITY_KEYS)]
    missing = [k for k in ("start", "end", "text", "label") if k not in ent]
    if missing:
        return problems + [f"{where}: missing {', '.join(missing)}"]
    start, end, label = ent["start"], ent["end"], ent["label"]
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
        return problems + [f"{where}: bad offsets {start}-{end} (text has {len(text)} characters)"]
    if text[start:end] != ent["text"]:
        problems.append(f"{where}: text[{start}:{end}] is {text[start:end]!r}, not {ent['text']!r}")
    elif doc.char_span(start, end) is None:
        problems.append(f"{where}: {start}-{end} is not on token boundaries of medner's tokenizer "
                        f"(tokens: {[t.text for t in doc.char_span(start, end, alignment_mode='expand')]})")
    if label not in CLINICAL_LABELS:
        problems.append(f"{where}: unknown label {label!r} (known: {', '.join(CLINICAL_LABELS)})")
    assertion, status = ent.get("assertion"), ent.get("medication_status")
    if label in ASSERTABLE_LABELS and assertion not in ASSERTION_VALUES:
        problems.append(f"{where}: a {label} needs an assertion in {', '.join(ASSERTION_VALUES)}, got {assertion!r}")
    if label not in ASSERTABLE_LABELS and assertion is not None:
        problems.append(f"{where}: a {label} takes no assertion (only {', '.join(ASSERTABLE_LABELS)} do)")
    if status is not None and (label != "MEDICATION" or status not in MEDICATION_STATUSES):
        problems.append(f"{where}: medication_status {status!r} is only for a MEDICATION, one of {', '.join(MEDICATION_STATUSES)}")
    return problems


def _record_problems(record: object, tokenize: Language, seen_ids: set) -> List[str]:
    if not isinstance(record, dict):
        return ["not a JSON object"]
    missing = [k for k in ("id", "text", "section", "entities") if k not in record]
    if missing:
        return [f"missing {', '.join(missing)}"]
    text, entities = record["text"], record["entities"]
    if not isinstance(text, str) or not text.strip() or text != text.strip():
        return ["text must be a non-empty string without leading or trailing whitespace"]
    if not isinstance(entities, list):
        return ["entities must be a list"]
    problems = []
    if record["id"] in seen_ids:
        problems.append(f"duplicate id {record['id']!r}")
    seen_ids.add(record["id"])
    if record["section"] not in SECTIONS:
        problems.append(f"unknown section {record['section']!r} (known: {', '.join(SECTIONS)})")
    doc = tokenize(text)
    for i, ent in enumerate(entities):
        problems.extend(_entity_problems(ent, i, text, doc))
    if not problems:
        ordered = sorted(entities, key=lambda e: (e["start"], e["end"]))
        for a, b in zip(ordered, ordered[1:]):
            if b["start"] < a["end"]:
                problems.append(f"entities {a['text']!r} ({a['start']}-{a['end']}) and {b['text']!r} "
                                f"({b['start']}-{b['end']}) overlap")
    return problems


def read_records(path: Union[str, Path], tokenize: Optional[Language] = None) -> List[NoteRecord]:
    """Every record of ``path``, validated; ``NotesError`` names each bad line (``notes.jsonl:12: ...``)."""
    path = Path(path)
    if not path.is_file():
        raise NotesError(f"{path} does not exist")
    tokenize = tokenize or blank_biomedical()
    records, errors, seen_ids = [], [], set()
    for line_no, line in enumerate(path.read_text(encoding="utf8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            errors.append(f"{path}:{line_no}: not valid JSON ({err.msg}, column {err.colno})")
            continue
        problems = _record_problems(record, tokenize, seen_ids)
        errors.extend(f"{path}:{line_no}: {record.get('id', '?') if isinstance(record, dict) else '?'}: {p}"
                      for p in problems)
        if not problems:
            records.append(NoteRecord(line_no, record["id"], record["text"], record["section"], record["entities"]))
    if errors:
        head = "" if len(errors) == 1 else f"{len(errors)} problems in {path}:\n"
        raise NotesError(head + "\n".join(errors))
    if not records:
        raise NotesError(f"{path} has no records")
    return records


def record_doc(record: NoteRecord, nlp: Language) -> Doc:
    """The gold Doc of one record: ``doc.ents``, ``doc.spans["assertion"]`` and ``doc.spans["medication_status"]``."""
    doc = nlp.make_doc(record.text)
    ents = sorted(record.entities, key=lambda e: e["start"])
    doc.ents = [doc.char_span(e["start"], e["end"], label=e["label"]) for e in ents]
    for key, field, default in ((ASSERTION_KEY, "assertion", None), (STATUS_KEY, "medication_status", "none")):
        chosen = [(e, e.get(field, default if e["label"] == "MEDICATION" else None)) for e in ents]
        chosen = [(e, value) for e, value in chosen if value is not None]
        spans = [doc.char_span(e["start"], e["end"]) for e, _ in chosen]
        doc.spans[key] = [Span(doc, span.start, span.end, label=value) for span, (_, value) in zip(spans, chosen)]
        doc.spans[key].attrs["entity_labels"] = [e["label"] for e, _ in chosen]
    doc.user_data["note_id"], doc.user_data["section"] = record.id, record.section
    return doc


def read_notes(path: Union[str, Path], nlp: Optional[Language] = None) -> List[Doc]:
    """Gold Docs of the notes file (validated first; tokenized with medner's biomedical tokenizer unless ``nlp`` is given)."""
    nlp = nlp or blank_biomedical()
    return [record_doc(record, nlp) for record in read_records(path, nlp)]


def count_notes(records: Sequence[NoteRecord]) -> Dict[str, object]:
    """Records, sections, entities per label, assertions per label and value, medication statuses."""
    labels, assertions, statuses = Counter(), Counter(), Counter()
    for record in records:
        for ent in record.entities:
            labels[ent["label"]] += 1
            if "assertion" in ent:
                assertions[(ent["label"], ent["assertion"])] += 1
            if ent["label"] == "MEDICATION":
                statuses[ent.get("medication_status", "none")] += 1
    return {
        "records": len(records),
        "sections": dict(Counter(r.section for r in records)),
        "entities": sum(labels.values()),
        "labels": {label: labels[label] for label in CLINICAL_LABELS},
        "assertions": {label: {v: assertions[(label, v)] for v in ASSERTION_VALUES} for label in ASSERTABLE_LABELS},
        "medication_status": {s: statuses[s] for s in MEDICATION_STATUSES},
    }


def counts_table(counts: Dict[str, object]) -> str:
    """The README's count tables (markdown), from ``count_notes``."""
    lines = [f"{counts['records']} records, {counts['entities']} entities.", "",
             "| label | entities | " + " | ".join(ASSERTION_VALUES) + " |",
             "|---|---:|" + "---:|" * len(ASSERTION_VALUES)]
    for label in CLINICAL_LABELS:
        values = counts["assertions"].get(label)
        cells = [str(values[v]) for v in ASSERTION_VALUES] if values else ["–"] * len(ASSERTION_VALUES)
        lines.append(f"| {label} | {counts['labels'][label]} | " + " | ".join(cells) + " |")
    totals = [sum(counts["assertions"][label][v] for label in ASSERTABLE_LABELS) for v in ASSERTION_VALUES]
    lines.append(f"| all | {counts['entities']} | " + " | ".join(map(str, totals)) + " |")
    lines += ["", "| medication status | " + " | ".join(MEDICATION_STATUSES) + " |",
              "|---|" + "---:|" * len(MEDICATION_STATUSES),
              "| MEDICATION | " + " | ".join(str(counts["medication_status"][s]) for s in MEDICATION_STATUSES) + " |"]
    return "\n".join(lines)


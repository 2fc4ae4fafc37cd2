"""The output record of one annotated document: the one shape every path writes.

``medner annotate`` (single process and Dask) and the HTTP service build
records with :func:`doc_to_record`, so they agree byte for byte::

    {"id": ..., <passthrough fields>, "entities": [
        {"start": 10, "end": 19, "text": "cisplatin", "label": "Chemical",
         "source": "ner", "score": 0.97}, ...]}

``start``/``end`` are character offsets (Python string indices, i.e. Unicode
code points) into the input text: ``text[start:end] == entity["text"]``.
A pipeline with ``medner_relations`` adds ``"relations": [{"head": [start, end],
"tail": [start, end], "label", "score"[, "head_id", "tail_id"]}]``, the head and
tail offsets being those of entities in the record.
One entity's fields are built in :func:`entity_record`; a component that adds
a field (assertion, linking) extends that one function.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ..ner.label_filter import FILTERED_KEY, FILTERED_RELATIONS_KEY  # what a label filter (medner_label_filter) set aside
from ..relations.component import RELATIONS_KEY, get_relations
from ..tokenizer import count_words
from .inputs import BadRecord, Item

SPANS_KEY = "medner"


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
def entity_record(span, text: str, *, source: str, score: Any = None, candidates: int = 0, linked=None) -> Dict[str, Any]:
    """One entity of an output record (``text`` is the doc's text, passed in so it is built once).

    The one place an entity's fields are made: a field that a component adds
    (e.g. ``assertion``, ``kb_id``, ``candidates``) is added here.
    ``linked``: the span medner_linker wrote (the ``doc.ents`` entity with the
    same offsets when ``span`` comes from a merge group); ``candidates``: how
    many of its ranked candidates to add.
    """
    record = {
        "start": span.start_char,
        "end": span.end_char,
        "text": text[span.start_char : span.end_char],
        "label": span.label_,
        "source": source,
        "score": _score(score),
    }
    # medner_assertion's value (present/negated/uncertain/historical/family), where the pipeline set one.
    assertion = span._.assertion if span.has_extension("assertion") else None
    if assertion is not None:
        record["assertion"] = assertion
    # medner_assertion's medication status (started, held, stopped ...), only where it found one.
    status = span._.medication_status if span.has_extension("medication_status") else None
    if status:
        record["medication_status"] = status
    # medner_linker's concept id (None: NIL) and ranked (id, name, score) candidates, where it ran.
    linked = span if linked is None else linked
    kb_candidates = linked._.kb_candidates if linked.has_extension("kb_candidates") else None
    if kb_candidates is not None:
        record["kb_id"] = linked.kb_id_ or None
        if candidates > 0:
            record["candidates"] = [{"id": c[0], "name": c[1], "score": c[2]} for c in kb_candidates[:candidates]]
    return record


def doc_entities(doc, spans_key: str = SPANS_KEY, candidates: int = 0) -> List[Dict[str, Any]]:
    """Entities of an annotated doc, sorted by offsets.

    If the merge component wrote ``doc.spans[spans_key]``, that group is used,
    with ``attrs["sources"]``/``attrs["scores"]`` (when present) giving each
    span's source component and score; otherwise ``doc.ents`` with source
    ``"ents"`` and score ``None``.
    """
    text = doc.text
    if spans_key in doc.spans:
        group = doc.spans[spans_key]
        attrs = getattr(group, "attrs", {}) or {}
        sources, scores = attrs.get("sources"), attrs.get("scores")
        n = len(group)
        ents = {(e.start_char, e.end_char, e.label_): e for e in doc.ents}
        entities = []
        for i, span in enumerate(group):
            source = _lookup(sources, i, n, span)
            entities.append(
                entity_record(
                    span, text, source=str(source) if source is not None else spans_key, score=_lookup(scores, i, n, span),
                    candidates=candidates, linked=ents.get((span.start_char, span.end_char, span.label_)),
                )
            )
    else:
        entities = [entity_record(span, text, source="ents", candidates=candidates) for span in doc.ents]
    entities.sort(key=lambda e: (e["start"], e["end"], e["label"], e["source"]))
    return entities


def doc_to_record(doc, item: Item, *, include_text: bool = False, spans_key: str = SPANS_KEY,
                  candidates: int = 0) -> Dict[str, Any]:
    """The output record for one document: id, passthrough fields, entities (and relations, where found)."""
    record: Dict[str, Any] = {"id": item.id}
    if include_text:
        record["text"] = item.text
    for key, value in item.meta.items():
        if key not in record:
            record[key] = value
    record["entities"] = doc_entities(doc, spans_key, candidates)
    if RELATIONS_KEY in doc.spans:  # medner_relations ran (an empty list: it found none)
        record["relations"] = get_relations(doc)
    return record


def dumps_record(record: Dict[str, Any]) -> str:
    """One JSONL line (UTF-8 text; lone surrogates fall back to ``\\u`` escapes)."""
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(record, ensure_ascii=True)
    return line + "\n"


@dataclass
class Summary:
    documents: int = 0
    characters: int = 0
    words: int = 0
    entities: Counter = field(default_factory=Counter)
    filtered: Counter = field(default_factory=Counter)  # entities a label filter set aside, per label
    filtered_relations: int = 0  # relations set aside with them (one side's label filtered out)
    errors: int = 0
    error_reasons: Counter = field(default_factory=Counter)
    skipped: int = 0
    seconds: float = 0.0

    def add_doc(self, doc, record: Dict[str, Any]) -> None:
        self.documents += 1
        self.characters += len(doc.text)
        self.words += count_words(doc)
        self.entities.update(e["label"] for e in record["entities"])
        if FILTERED_KEY in doc.spans:
            self.filtered.update(span.label_ for span in doc.spans[FILTERED_KEY])
        if FILTERED_RELATIONS_KEY in doc.spans:
            self.filtered_relations += len(doc.spans[FILTERED_RELATIONS_KEY]) // 2

    def add_error(self, bad: BadRecord) -> None:
        self.errors += 1
        self.error_reasons[bad.reason] += 1

    def merge(self, other: "Summary") -> None:
        self.documents += other.documents
        self.characters += other.characters
        self.words += other.words
        self.entities.update(other.entities)
        self.filtered.update(other.filtered)
        self.filtered_relations += other.filtered_relations
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
            "filtered_out": sum(self.filtered.values()),
            "filtered_out_per_label": dict(sorted(self.filtered.items())),
            "relations_filtered_out": self.filtered_relations,
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
            filtered=Counter(data.get("filtered_out_per_label", {})),
            filtered_relations=data.get("relations_filtered_out", 0),
            errors=data["errors"],
            error_reasons=Counter(data.get("error_reasons", {})),
            skipped=data.get("skipped_already_done", 0),
            seconds=data.get("seconds", 0.0),
        )

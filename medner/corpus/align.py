"""Turn ``SourceDoc`` records into spaCy ``Doc`` objects, accounting for every span.

Every source span ends in exactly one outcome, so the counts of a file always
add up to the number of annotations it holds:

``kept``          aligned to token boundaries as given
``fixed``         kept after trimming surrounding whitespace and/or expanding
                  to the enclosing token boundaries
``missing``       a partial corpus's span whose tokens become *missing* values
                  (PHEE's adverse effect: it holds diseases PHEE does not label)
``outside``       a label the dataset's schema leaves out on purpose (MACCROBAT's
                  ``Coreference`` in the clinical schema): its tokens stay "O"
``overlap``       dropped because it overlaps a longer (or earlier) kept span
``unalignable``   dropped: no token span covers it (e.g. only whitespace)
``discontinuous`` dropped: a brat span in several fragments
``invalid``       dropped: offsets outside the text, empty, or the stated text
                  does not match the text at the offsets
``unknown_label`` dropped: the label has no mapping in the dataset's schema

Attributes (brat ``A`` lines) are accounted the same way, in
``FileReport.assertions`` (see ``ATTRIBUTE_OUTCOMES``), when the dataset has an
``AssertionSchema``.
"""
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from .assertions import ASSERTION_KEY, AssertionSchema, strongest
from .records import SourceDoc, SourceSpan

OUTCOMES = ("kept", "fixed", "missing", "outside", "overlap", "unalignable", "discontinuous", "invalid", "unknown_label")
DROPS = OUTCOMES[4:]
MAX_EXAMPLES = 20
# Each attribute line ends in one of these: attached to an aligned span of the
# assertion group, not an assertion (MACCROBAT's TREND), its span was dropped
# (invalid, discontinuous, unalignable, unknown label), or names nothing in the file.
ATTRIBUTE_OUTCOMES = ("attached", "not_assertion", "span_dropped", "unresolved")


class StrictAlignmentError(ValueError):
    """Raised in strict mode for the first span that would be dropped."""


@dataclass
class FileReport:
    """Outcome counts for one source file, with a few examples of each drop."""

    path: str
    docs: int = 0
    source_spans: int = 0
    counts: Counter = field(default_factory=Counter)
    examples: Dict[str, List[dict]] = field(default_factory=dict)
    skipped_lines: Counter = field(default_factory=Counter)
    # Assertion accounting: attribute outcomes, values given, labels attached to.
    assertions: Counter = field(default_factory=Counter)
    assertion_labels: Counter = field(default_factory=Counter)
    assertion_examples: Dict[str, List[dict]] = field(default_factory=dict)
    # Concept identifiers: spans the source gives an ID for, and those kept with it.
    kb_ids: Counter = field(default_factory=Counter)

    def add(self, outcome: str, doc: SourceDoc, span: SourceSpan, **detail) -> None:
        self.counts[outcome] += 1
        if span.kb_id:
            self.kb_ids["source"] += 1
            if outcome in ("kept", "fixed"):
                self.kb_ids["kept"] += 1
        if outcome in DROPS:
            bucket = self.examples.setdefault(outcome, [])
            if len(bucket) < MAX_EXAMPLES:
                bucket.append({"doc": doc.id, "start": span.start, "end": span.end,
                               "label": span.label, "line": span.line, **detail})

    @property
    def accounted(self) -> int:
        return sum(self.counts[o] for o in OUTCOMES)

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "docs": self.docs,
            "source_spans": self.source_spans,
            **{o: self.counts[o] for o in OUTCOMES},
            "adds_up": self.accounted == self.source_spans,
            "skipped_lines": dict(self.skipped_lines),
            "kb_ids": {"source": self.kb_ids["source"], "kept": self.kb_ids["kept"]},
            "examples": self.examples,
            **({"assertions": self.assertions_dict()} if self.assertions else {}),
        }

    def assertions_dict(self) -> dict:
        attributes = self.assertions["attributes"]
        return {
            "attributes": attributes,
            **{o: self.assertions[o] for o in ATTRIBUTE_OUTCOMES},
            "attached_in_ents": self.assertions["attached_in_ents"],
            "adds_up": sum(self.assertions[o] for o in ATTRIBUTE_OUTCOMES) == attributes,
            "attached_to": dict(self.assertion_labels),
            "context_spans": self.assertions["context_spans"],
            "inside_context": self.assertions["inside_context"],
            "group_spans": self.assertions["group_spans"],
            "group_in_ents": self.assertions["group_in_ents"],
            "values": {k[len("value:"):]: n for k, n in sorted(self.assertions.items()) if k.startswith("value:")},
            "examples": self.assertion_examples,
        }


def _describe(doc: SourceDoc, span: SourceSpan, why: str) -> str:
    where = f"{doc.path}:{span.line}" if span.line else doc.path
    return f"{where}: document {doc.id}, span {span.start}-{span.end} {span.label!r}: {why}"


def _check_offsets(doc: SourceDoc, span: SourceSpan) -> Optional[str]:
    if not (0 <= span.start < span.end <= len(doc.text)):
        return f"offsets outside the text (length {len(doc.text)})"
    if span.text is not None and not span.is_discontinuous:
        found = doc.text[span.start:span.end]
        if found != span.text and found.strip() != span.text.strip():
            return f"stated text {span.text!r} but the text at the offsets is {found!r}"
    return None


def _strip_whitespace(text: str, start: int, end: int) -> Tuple[int, int]:
    # spaCy's ner cannot learn entities that start or end with whitespace (E024);
    # any Unicode space counts (MACCROBAT has U+2005 inside annotations).
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def source_to_doc(
    nlp: Language,
    source: SourceDoc,
    report: FileReport,
    label_map: Optional[Callable[[str], Optional[str]]] = None,
    strict: bool = False,
    assertion_schema: Optional[AssertionSchema] = None,
    missing_labels: Sequence[str] = (),
    outside_unmapped: bool = False,
) -> Doc:
    """Tokenize ``source.text`` with ``nlp`` and set ``doc.ents`` from its spans.

    ``label_map`` maps a source label to the schema label (None: unknown label,
    or with ``outside_unmapped`` a label the schema leaves out, counted ``outside``).
    Spans labelled one of ``missing_labels`` make their tokens (those not inside
    a kept entity) missing values, so that NER training neither rewards nor
    penalises predictions there.
    In strict mode any drop raises ``StrictAlignmentError`` naming the document,
    the offsets and, where known, the line. With ``assertion_schema`` the gold
    assertions go to ``doc.spans["assertion"]`` (``set_gold_assertions``).
    """
    doc = nlp.make_doc(source.text)
    report.docs += 1
    report.source_spans += len(source.spans)
    for kind, n in source.meta.get("skipped_lines", {}).items():
        report.skipped_lines[kind] += n

    dropped_why: Dict[int, str] = {}  # id(source span) -> why it was dropped

    def drop(outcome: str, span: SourceSpan, why: str, **detail) -> None:
        if strict:
            raise StrictAlignmentError(_describe(source, span, why))
        report.add(outcome, source, span, reason=why, **detail)
        dropped_why[id(span)] = f"{outcome}: {why}"

    candidates: List[Tuple[Span, SourceSpan, bool]] = []
    missing_tokens = set()
    for span in source.spans:
        if span.label in missing_labels:
            for start, end in span.fragments or ((span.start, span.end),):
                covered = doc.char_span(start, end, alignment_mode="expand")
                missing_tokens.update(range(covered.start, covered.end) if covered is not None else ())
            report.add("missing", source, span)
            continue
        label = label_map(span.label) if label_map else span.label
        if label is None and outside_unmapped:
            report.add("outside", source, span)
            continue
        if label is None:
            drop("unknown_label", span, f"label {span.label!r} is not in the schema")
            continue
        problem = _check_offsets(source, span)
        if problem:
            drop("invalid", span, problem)
            continue
        if span.is_discontinuous:
            drop("discontinuous", span, f"discontinuous span {list(span.fragments)}")
            continue
        start, end = _strip_whitespace(source.text, span.start, span.end)
        if start == end:
            drop("unalignable", span, "the span is only whitespace")
            continue
        exact = doc.char_span(start, end, label=label, kb_id=span.kb_id, alignment_mode="strict")
        if exact is not None:
            candidates.append((exact, span, (start, end) != (span.start, span.end)))
            continue
        expanded = doc.char_span(start, end, label=label, kb_id=span.kb_id, alignment_mode="expand")
        if expanded is None or not expanded.text.strip():
            drop("unalignable", span, "no token span covers it")
            continue
        candidates.append((expanded, span, True))

    kept = filter_spans([c[0] for c in candidates])
    kept_ids = {(s.start, s.end, s.label_) for s in kept}
    claimed = set()
    for spacy_span, span, was_fixed in candidates:
        key = (spacy_span.start, spacy_span.end, spacy_span.label_)
        if key in kept_ids and key not in claimed:
            claimed.add(key)
            report.add("fixed" if was_fixed else "kept", source, span)
            continue
        winner = next(
            (k for k in kept if k.start < spacy_span.end and spacy_span.start < k.end), None
        )
        won = {"winner": [winner.start_char, winner.end_char, winner.label_]} if winner else {}
        drop("overlap", span, f"overlaps a kept span {won.get('winner')}", **won)
    doc.ents = kept
    if missing_tokens:
        set_missing(doc, missing_tokens)
    if assertion_schema is not None:
        aligned = {id(span): spacy_span for spacy_span, span, _ in candidates}
        set_gold_assertions(doc, source, aligned, dropped_why, assertion_schema, report)
    return doc


def set_missing(doc: Doc, token_indices: Iterable[int]) -> int:
    """Mark the given tokens that are outside every entity as missing NER values; return how many."""
    in_ents = {i for ent in doc.ents for i in range(ent.start, ent.end)}
    chosen = sorted(set(token_indices) - in_ents)
    runs: List[Span] = []
    for i in chosen:
        if runs and runs[-1].end == i:
            runs[-1] = doc[runs[-1].start:i + 1]
        else:
            runs.append(doc[i:i + 1])
    if runs:
        doc.set_ents([], missing=runs, default="unmodified")
    return len(chosen)


def set_gold_assertions(
    doc: Doc,
    source: SourceDoc,
    aligned: Dict[int, Span],
    dropped_why: Dict[int, str],
    schema: AssertionSchema,
    report: FileReport,
) -> None:
    """Fill ``doc.spans["assertion"]`` from the source's attributes and context spans.

    Assertable spans are event triggers (``meta["event_trigger_lines"]``) and
    context spans (``History``); every one that aligned gets a value, also when
    ``doc.ents`` dropped it for an overlap, since the value is about the span.
    """
    by_line = {span.line: span for span in source.spans}
    values: Dict[int, set] = {}  # id(source span) -> values that apply

    def note(outcome: str, attribute, **detail) -> None:
        report.assertions[outcome] += 1
        if outcome != "attached":
            bucket = report.assertion_examples.setdefault(outcome, [])
            if len(bucket) < MAX_EXAMPLES:
                bucket.append({"doc": source.id, "line": attribute.line, "attribute": attribute.name,
                               "target": attribute.target, "value": attribute.value, **detail})

    contexts = [(aligned[id(s)], schema.context_labels[s.label]) for s in source.spans
                if s.label in schema.context_labels and id(s) in aligned]
    report.assertions["context_spans"] += len(contexts)
    assertable = [by_line[line] for line in source.meta.get("event_trigger_lines", []) if line in by_line]
    assertable += [s for s in source.spans if s.label in schema.context_labels]
    for span in assertable:
        if id(span) in aligned:
            values[id(span)] = set()
    for span in assertable:
        if id(span) not in aligned:
            continue
        tokens = aligned[id(span)]
        if span.label in schema.context_labels:
            values[id(span)].add(schema.context_labels[span.label])
            continue
        inside = {value for ctx, value in contexts
                  if ctx.start <= tokens.start and tokens.end <= ctx.end and (ctx.start, ctx.end) != (tokens.start, tokens.end)}
        if inside:
            report.assertions["inside_context"] += 1
            values[id(span)] |= inside

    ent_labels = {(e.start, e.end): e.label_ for e in doc.ents}
    for attribute in source.attributes:
        report.assertions["attributes"] += 1
        target = by_line.get(attribute.span_line)
        value = schema.attribute_values.get((attribute.name, attribute.value))
        if value is None:
            note("not_assertion", attribute, reason=f"{attribute.name} {attribute.value} has no assertion value")
        elif target is None:
            note("unresolved", attribute, reason=f"{attribute.target} names no text-bound span in the file")
        elif id(target) not in aligned:
            note("span_dropped", attribute, reason=dropped_why.get(id(target), "its span is not in the group"))
        else:
            note("attached", attribute)
            tokens = aligned[id(target)]
            values.setdefault(id(target), set()).add(value)
            report.assertion_labels[tokens.label_] += 1
            report.assertions["attached_in_ents"] += (tokens.start, tokens.end) in ent_labels

    merged: Dict[Tuple[int, int], Tuple[str, set]] = {}
    for span_id, found in values.items():
        tokens = aligned[span_id]
        key = (tokens.start, tokens.end)
        label = ent_labels.get(key, tokens.label_)
        merged.setdefault(key, (label, set()))[1].update(found)
    group_spans, entity_labels = [], []
    for (start, end), (label, found) in sorted(merged.items()):
        value = strongest(found)
        group_spans.append(Span(doc, start, end, label=value))
        entity_labels.append(label)
        report.assertions[f"value:{value}"] += 1
        report.assertions["group_in_ents"] += (start, end) in ent_labels
    report.assertions["group_spans"] += len(group_spans)
    doc.spans[ASSERTION_KEY] = group_spans
    doc.spans[ASSERTION_KEY].attrs["entity_labels"] = entity_labels


def convert_documents(
    nlp: Language,
    sources: Iterable[SourceDoc],
    label_map: Optional[Callable[[str], Optional[str]]] = None,
    strict: bool = False,
    assertion_schema: Optional[AssertionSchema] = None,
    missing_labels: Sequence[str] = (),
    outside_unmapped: bool = False,
) -> Tuple[List[Doc], Dict[str, FileReport]]:
    """Convert many documents; return the docs and one ``FileReport`` per source file."""
    reports: Dict[str, FileReport] = {}
    docs = []
    for source in sources:
        report = reports.setdefault(source.path, FileReport(path=source.path))
        doc = source_to_doc(nlp, source, report, label_map=label_map, strict=strict,
                            assertion_schema=assertion_schema, missing_labels=missing_labels,
                            outside_unmapped=outside_unmapped)
        doc.user_data["medner_id"] = source.id
        docs.append(doc)
    return docs, reports

"""Gold relation documents as spaCy docs: entities from the entity aligner, relations anchored on them.

``cdr_docs`` and ``phee_docs`` turn :class:`RelationDoc` records into docs whose
``doc.ents`` are the gold mentions (``medner.corpus.align``, which accounts for
every span) and whose ``doc.spans["medner_relations"]`` holds the gold
relations (:func:`medner.relations.component.set_relations`). A relation whose
mention could not be aligned is counted as ``unanchored``, and one whose drug
is nested in its effect (both sides on the one entity ``doc.ents`` can hold)
as ``unanchored_nested``; both stay in the gold sets used for scoring, which
come from the reader, not from the docs.

PHEE's entity labels for relations: ``Drug`` -> MEDICATION, and both ``Effect``
and ``Treat-Disorder`` -> DISEASE, so that the classifier must tell an adverse
effect from the disease a drug was given for (neither the label nor the event
gives it away). A discontinuous span becomes its covering extent (counted as
``discontinuous_extended``).
"""
from collections import Counter
from dataclasses import replace
from typing import Dict, List, Optional, Tuple

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from ..corpus.align import FileReport, source_to_doc
from ..corpus.datasets import DATASETS
from .component import RELATIONS_KEY, set_relations
from .corpus import RelationDoc

PHEE_LABELS = {"Drug": "MEDICATION", "Effect": "DISEASE", "Treat-Disorder": "DISEASE"}


def cdr_docs(nlp: Language, rel_docs: List[RelationDoc], counts: Optional[Counter] = None) -> List[Doc]:
    """BC5CDR docs with gold entities (MeSH ids as ``kb_id_``) and gold CID pairs anchored on first mentions."""
    counts = counts if counts is not None else Counter()
    report = FileReport(path="bc5cdr")
    docs = []
    for rd in rel_docs:
        doc = source_to_doc(nlp, rd.source, report, label_map=DATASETS["bc5cdr"].label_map)
        doc.user_data["medner_id"] = rd.source.id
        first: Dict[str, object] = {}
        for ent in doc.ents:
            for part in ent.kb_id_.split("|"):
                first.setdefault(part, ent)
        gold = []
        for pair in rd.concept_pairs:
            if pair.head_id in first and pair.tail_id in first:
                gold.append((first[pair.head_id], first[pair.tail_id], pair.label, None, pair.head_id, pair.tail_id))
                counts["anchored"] += 1
            else:
                counts["unanchored"] += 1
        set_relations(doc, gold)
        docs.append(doc)
    counts["entity_spans_kept"] += report.counts["kept"] + report.counts["fixed"]
    counts["entity_spans_dropped"] += report.source_spans - report.counts["kept"] - report.counts["fixed"]
    return docs


def phee_docs(nlp: Language, rel_docs: List[RelationDoc], counts: Optional[Counter] = None) -> List[Doc]:
    """PHEE docs with gold Drug/Effect/Treat-Disorder entities and gold Drug -> Effect pairs."""
    counts = counts if counts is not None else Counter()
    report = FileReport(path="phee")
    docs = []
    for rd in rel_docs:
        spans = []
        for span in rd.source.spans:
            if span.label in PHEE_LABELS and span.is_discontinuous:
                counts["discontinuous_extended"] += 1
                span = replace(span, fragments=(), text=None)
            spans.append(span)
        source = replace(rd.source, spans=spans)
        doc = source_to_doc(nlp, source, report, label_map=PHEE_LABELS.get)
        doc.user_data["medner_id"] = rd.source.id
        gold = []
        for pair in rd.mention_pairs:
            head, tail = _anchor(doc, pair.head.start, pair.head.end), _anchor(doc, pair.tail.start, pair.tail.end)
            if head is None or tail is None:
                counts["unanchored"] += 1
                continue
            if head == tail:  # the drug is nested in the effect ("heparin-induced thrombocytopenia"): one entity
                counts["unanchored_nested"] += 1
                continue
            counts["anchored"] += 1
            gold.append((head, tail, pair.label, None, None, None))
        set_relations(doc, gold)
        docs.append(doc)
    for outcome in ("kept", "fixed", "overlap", "unalignable", "invalid"):
        counts[f"entity_{outcome}"] += report.counts[outcome]
    return docs


def _anchor(doc: Doc, start: int, end: int):
    """The entity with the source span's offsets, else the entity that overlaps it most."""
    best, best_overlap = None, 0
    for ent in doc.ents:
        overlap = min(end, ent.end_char) - max(start, ent.start_char)
        if (ent.start_char, ent.end_char) == (start, end):
            return ent
        if overlap > best_overlap:
            best, best_overlap = ent, overlap
    return best


def strip_relations(docs: List[Doc]) -> List[Doc]:
    """Copies of ``docs`` without stored relations (what a relation component gets as input)."""
    out = []
    for doc in docs:
        x = doc.copy()
        if RELATIONS_KEY in x.spans:
            del x.spans[RELATIONS_KEY]
        out.append(x)
    return out


def training_examples(docs: List[Doc], predicted: Optional[List[Doc]] = None) -> List[Example]:
    """Examples for ``initialize``: ``predicted`` docs (default: the gold docs, entities included) against the gold."""
    return [Example(x, gold) for x, gold in zip(strip_relations(docs if predicted is None else predicted), docs)]


def cdr_gold_set(rel_docs: List[RelationDoc]) -> set:
    return {(rd.source.id, p.head_id, p.tail_id) for rd in rel_docs for p in rd.concept_pairs}


def phee_gold_pairs(rel_docs: List[RelationDoc]) -> Dict[str, List[Tuple[tuple, tuple]]]:
    """Gold PHEE pairs per document: ((start, end) or fragments of the drug, same of the effect)."""
    def frags(span):
        return span.fragments or ((span.start, span.end),)
    return {rd.source.id: [(frags(p.head), frags(p.tail)) for p in rd.mention_pairs] for rd in rel_docs}

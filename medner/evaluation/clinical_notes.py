"""Score any pipeline on the clinical-notes regression set, in the clinical schema.

A pipeline trained on MACCROBAT predicts its 41 types (``Medication`` or medner's
``MEDICATION``, ``DIAGNOSTIC_PROCEDURE`` ...); ``to_clinical`` renames them into
the clinical labels (``medner.corpus.schema``) and drops, and
counts, the rest. The scores come from medner's own scorers: exact-span P/R/F
per label (``medner.evaluation.entities.score_entities``), overlap P/R/F
(``score_overlap``), and the assertion of the entities the NER found with the
exact gold span (``medner.assertion.evaluation.score_found_values``), with how many
gold assertion spans it found; for a pipeline with ``medner_assertion``, also the
assertion on every gold span (``medner.assertion.evaluation.evaluate_predictor``).
It is a regression check, not a benchmark to tune on.
"""
from collections import Counter
from typing import Dict, List, Optional, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from ..assertion.evaluation import component_predictor, evaluate_predictor, score_found_values
from ..corpus.notes import MEDICATION_STATUSES, STATUS_KEY
from ..corpus.schema import CLINICAL_LABELS, maccrobat_clinical_label, to_clinical_label
from .entities import predicted_spans, run_pipeline, score_entities, score_overlap

CARRIED_ATTRIBUTES = ("assertion", "medication_status")


def to_clinical(doc: Doc, spans_key: Optional[str] = None) -> Tuple[Doc, Counter]:
    """A copy of ``doc`` whose ``doc.ents`` are the predicted entities with a clinical label (their
    ``span._.assertion`` / ``span._.medication_status`` kept), and the count of dropped labels."""
    copy = Doc(doc.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
    kept, dropped = {}, Counter()
    for span in predicted_spans(doc, spans_key):
        label = to_clinical_label(span.label_) or maccrobat_clinical_label(span.label_)
        if label is None:
            dropped[span.label_] += 1
        else:
            kept[(span.start, span.end)] = (label, span)
    ents = filter_spans([Span(copy, start, end, label=label) for (start, end), (label, _) in kept.items()])
    if len(ents) < len(kept):
        dropped["(overlapping another entity)"] += len(kept) - len(ents)
    copy.ents = ents
    for ent in copy.ents:
        source = kept[(ent.start, ent.end)][1]
        for attribute in CARRIED_ATTRIBUTES:
            if Span.has_extension(attribute):
                setattr(ent._, attribute, getattr(source._, attribute))
    return copy, dropped


def score_notes(predicted: List[Doc], gold: List[Doc], spans_key: Optional[str] = None) -> Dict[str, object]:
    """Scores of predicted docs (any labels) against the gold notes docs (``medner.corpus.notes.read_notes``)."""
    converted = [to_clinical(doc, spans_key) for doc in predicted]
    clinical = [doc for doc, _ in converted]
    dropped = sum((counts for _, counts in converted), Counter())
    ner = score_entities(clinical, gold, labels=CLINICAL_LABELS)
    gold_counts = Counter(ent.label_ for doc in gold for ent in doc.ents)
    predicted_counts = Counter(ent.label_ for doc in clinical for ent in doc.ents)
    for label in CLINICAL_LABELS:
        ner["per_label"].setdefault(label, {"p": 0.0, "r": 0.0, "f": 0.0})
        ner["per_label"][label].update(gold=gold_counts[label], predicted=predicted_counts[label])
    result: Dict[str, object] = {
        "ner_exact": ner,
        "ner_overlap": score_overlap(clinical, gold, labels=CLINICAL_LABELS),
        "assertion": score_found_values(gold, clinical),
        "predicted_labels_dropped": dict(dropped.most_common()),
    }
    if Span.has_extension("medication_status"):
        result["medication_status"] = score_found_values(
            gold, clinical, key=STATUS_KEY, attribute="medication_status", values=MEDICATION_STATUSES, default="none")
    else:
        result["medication_status"] = "not scored: the pipeline sets no span._.medication_status"
    return result


def evaluate_on_notes(nlp: Language, gold: List[Doc], spans_key: Optional[str] = None) -> Dict[str, object]:
    """Run ``nlp`` on the notes' texts and score it (``score_notes``), with the time it took; a
    ``medner_assertion`` component is also scored on the gold spans (the assertion alone, no NER misses)."""
    predicted, seconds = run_pipeline(nlp, gold)
    result = {**score_notes(predicted, gold, spans_key), "docs": len(gold), "seconds": round(seconds, 3)}
    assertion_pipes = [name for name in nlp.pipe_names if nlp.get_pipe_meta(name).factory == "medner_assertion"]
    if assertion_pipes:
        result["assertion_on_gold_spans"] = evaluate_predictor(gold, component_predictor(nlp, assertion_pipes[0]))
    return result

"""Entity-level exact-match scoring of any pipeline output against gold ``doc.ents``.

A pipeline can put its entities in ``doc.ents`` (spaCy's ``ner``, the merge
component) or in a span group (``hf_token_classifier`` writes ``doc.spans["hf"]``);
``spans_key`` picks which one is scored. Scores come from spaCy's own
``Scorer.score_spans`` so they are the numbers ``spacy evaluate`` would give.
"""
import os
import time
from collections import Counter
from typing import Collection, Iterable, List, Optional

from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example


def predicted_spans(doc: Doc, spans_key: Optional[str], labels: Optional[Collection[str]] = None):
    """The entities a pipeline predicted: ``doc.spans[key]`` if asked for, else ``doc.ents``;
    only those with a label in ``labels`` when given."""
    if spans_key and spans_key != "ents":
        spans = list(doc.spans[spans_key]) if spans_key in doc.spans else []
    else:
        spans = list(doc.ents)
    return spans if labels is None else [span for span in spans if span.label_ in labels]


def _getter(spans_key: Optional[str], labels: Optional[Collection[str]]):
    def get(doc: Doc, attr: str):
        # Gold docs keep their entities in doc.ents; predicted docs where asked.
        key = spans_key if spans_key and spans_key in doc.spans else None
        return predicted_spans(doc, key, labels)
    return get


def run_pipeline(nlp: Language, gold_docs: List[Doc], batch_size: int = 64):
    """Annotate the gold texts from scratch; return the predicted docs and seconds taken."""
    texts = [doc.text for doc in gold_docs]
    start = time.perf_counter()
    predicted = list(nlp.pipe(texts, batch_size=batch_size))
    return predicted, time.perf_counter() - start


def score_entities(
    predicted: Iterable[Doc], gold: Iterable[Doc], spans_key: Optional[str] = None, labels: Optional[Collection[str]] = None
) -> dict:
    """Precision, recall and F1 (0-100) overall and per label, exact span match.

    ``labels``: score only these labels, on both sides (a pipeline trained on
    one corpus against another corpus's test set: the labels they share).
    """
    examples = [Example(p, g) for p, g in zip(predicted, gold)]
    for example in examples:
        # Gold docs read with another vocab (a blank pipeline's) lack the labels only the
        # predictions have; the scorer builds predicted spans on the gold doc, so add them.
        for span in predicted_spans(example.predicted, spans_key, labels):
            example.reference.vocab.strings.add(span.label_)
    scores = Scorer.score_spans(examples, "ents", getter=_getter(spans_key, labels), has_annotation=None)
    pct = lambda v: round(100 * (v or 0.0), 2)  # noqa: E731
    per_label = {
        label: {"p": pct(s["p"]), "r": pct(s["r"]), "f": pct(s["f"])}
        for label, s in sorted((scores.get("ents_per_type") or {}).items())
    }
    return {
        "precision": pct(scores["ents_p"]),
        "recall": pct(scores["ents_r"]),
        "f1": pct(scores["ents_f"]),
        "per_label": per_label,
    }


def evaluate_pipeline(
    nlp: Language, gold_docs: List[Doc], spans_key: Optional[str] = None, batch_size: int = 64,
    labels: Optional[Collection[str]] = None,
) -> dict:
    """Scores plus speed for ``nlp`` on ``gold_docs`` (only ``labels`` scored, when given)."""
    predicted, seconds = run_pipeline(nlp, gold_docs, batch_size=batch_size)
    n_words = sum(sum(1 for t in doc if not t.is_space) for doc in gold_docs)
    n_gold = sum(len(predicted_spans(doc, None, labels)) for doc in gold_docs)
    n_pred = sum(len(predicted_spans(doc, spans_key, labels)) for doc in predicted)
    return {
        **score_entities(predicted, gold_docs, spans_key, labels),
        "docs": len(gold_docs),
        "words": n_words,
        "gold_entities": n_gold,
        "predicted_entities": n_pred,
        "seconds": round(seconds, 3),
        "words_per_second": round(n_words / seconds) if seconds else None,
        "batch_size": batch_size,
        "cpu_count": os.cpu_count(),
    }


def score_pairs(predicted: Iterable[Collection], gold: Iterable[Collection]) -> dict:
    """Precision, recall and F1 (0-100) of exact items per document, e.g. abbreviation
    definitions as (short form, long form) strings.

    Each document's items are compared as multisets: a pair defined twice in a
    document (title and abstract) counts twice on both sides, so a gold file
    with 1,221 pair lines has 1,221 gold items.
    """
    tp = fp = fn = 0
    for predicted_items, gold_items in zip(predicted, gold):
        predicted_counts, gold_counts = Counter(predicted_items), Counter(gold_items)
        matched = sum((predicted_counts & gold_counts).values())
        tp += matched
        fp += sum(predicted_counts.values()) - matched
        fn += sum(gold_counts.values()) - matched
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    pct = lambda v: round(100 * v, 2)  # noqa: E731
    return {"precision": pct(precision), "recall": pct(recall), "f1": pct(f1), "tp": tp, "fp": fp, "fn": fn}


def score_overlap(
    predicted: Iterable[Doc], gold: Iterable[Doc], spans_key: Optional[str] = None, labels: Optional[Collection[str]] = None
) -> dict:
    """Lenient P/R/F1 (0-100) per label: a predicted entity is right when it overlaps a gold one of its
    label (precision), a gold entity is found when a predicted one of its label overlaps it (recall).

    Exact match (``score_entities``) punishes "Metformin 500 mg" against gold "Metformin"
    as a miss and a false positive; this says whether the thing was found at all.
    """
    counts: dict = {}
    for pred_doc, gold_doc in zip(predicted, gold):
        pred = [(s.label_, s.start_char, s.end_char) for s in predicted_spans(pred_doc, spans_key, labels)]
        ref = [(s.label_, s.start_char, s.end_char) for s in predicted_spans(gold_doc, None, labels)]
        for items, others, hit, total in ((pred, ref, "pred_hit", "pred"), (ref, pred, "gold_hit", "gold")):
            for label, start, end in items:
                c = counts.setdefault(label, Counter())
                c[total] += 1
                c[hit] += any(o_label == label and o_start < end and start < o_end for o_label, o_start, o_end in others)

    def prf(c: Counter) -> dict:
        p = c["pred_hit"] / c["pred"] if c["pred"] else 0.0
        r = c["gold_hit"] / c["gold"] if c["gold"] else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"p": round(100 * p, 2), "r": round(100 * r, 2), "f": round(100 * f, 2)}

    overall = prf(sum(counts.values(), Counter()))
    return {"precision": overall["p"], "recall": overall["r"], "f1": overall["f"],
            "per_label": {label: prf(c) for label, c in sorted(counts.items())}}

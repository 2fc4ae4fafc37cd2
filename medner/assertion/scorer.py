"""Scoring assertions: per-value P/R/F from (gold, predicted) pairs, and the registered ``medner.assertion_scorer.v1``."""
from typing import Callable, Dict, Iterable, Optional, Sequence, Tuple

from spacy import util
from spacy.scorer import PRFScore
from spacy.training import Example

from ..corpus.assertions import ASSERTION_KEY, ASSERTION_VALUES, PRESENT


def assertion_prf(pairs: Iterable[Tuple[str, str]], values: Sequence[str] = ASSERTION_VALUES) -> Dict[str, dict]:
    """Per-value precision/recall/F1 (and accuracy) from (gold, predicted) pairs."""
    scores = {v: PRFScore() for v in values}
    total = correct = 0
    for gold, pred in pairs:
        total += 1
        correct += gold == pred
        for v in values:
            if pred == v and gold == v:
                scores[v].tp += 1
            elif pred == v:
                scores[v].fp += 1
            elif gold == v:
                scores[v].fn += 1
    out = {v: {"p": s.precision, "r": s.recall, "f": s.fscore, "support": s.tp + s.fn} for v, s in scores.items()}
    out["accuracy"] = correct / total if total else 0.0
    out["spans"] = total
    return out


@util.registry.scorers("medner.assertion_scorer.v1")
def make_assertion_scorer() -> Callable:
    return score_assertions


def score_assertions(examples: Iterable[Example], span_key: Optional[str] = None, **kwargs) -> Dict[str, float]:
    """Score predicted ``span._.assertion`` against the references' ``doc.spans['assertion']``.

    Only spans found in both (same offsets) count: this scores the assertion, not the NER.
    """
    pairs = []
    for eg in examples:
        if ASSERTION_KEY not in eg.reference.spans:
            continue
        gold = {(s.start_char, s.end_char): s.label_ for s in eg.reference.spans[ASSERTION_KEY]}
        predicted = eg.predicted.ents if span_key is None else eg.predicted.spans.get(span_key, [])
        for span in predicted:
            key = (span.start_char, span.end_char)
            if key in gold:
                pairs.append((gold[key], span._.assertion or PRESENT))
    prf = assertion_prf(pairs)
    scores: Dict[str, float] = {"assertion_acc": prf["accuracy"]}
    for v in ASSERTION_VALUES:
        for k in ("p", "r", "f"):
            scores[f"assertion_{v}_{k}"] = prf[v][k]
    return scores

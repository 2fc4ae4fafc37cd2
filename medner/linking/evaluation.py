"""Scoring concept linking: accuracy@k on gold mentions and document-level concept F1.

* Gold mentions (BioSyn's setting): every test mention with a gold id is
  linked from its gold span. ``acc@1`` counts a mention right when the
  predicted ids share an identifier with the gold ids (BioSyn's
  ``check_label``: ``|`` and ``+`` both split); ``acc@1 strict`` needs the same
  set of concepts (composite mentions must get all their parts). "Unseen":
  mentions whose normalised text never occurs among the mentions the KB was
  built from (Tutubalina et al.'s refined test sets).
* End to end (BioCreative V CDR): per document, the set of concept ids of the
  predicted entities against the gold set; micro P/R/F1 over (document, id).
"""
from collections import defaultdict
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from spacy.tokens import Doc

from .kb.base import KnowledgeBase
from .kb.names import lower, normalise


def split_ids(kb_id: str) -> List[str]:
    """``"D1|D2"`` and ``"D1+D2"`` -> ``["D1", "D2"]``; empty -> []."""
    return [i for i in kb_id.replace("+", "|").split("|") if i]


def canonical(kb: KnowledgeBase, kb_id: str) -> str:
    """The primary id of the concept that ``kb_id`` names (itself when the KB does not know it)."""
    return kb.ids_of(kb_id)[0]


def gold_mentions(docs: Iterable[Doc], labels: Optional[Set[str]] = None) -> List[Tuple[int, int, str, str, str]]:
    """(doc index, entity index, text, label, gold id) of every entity with an id."""
    found = []
    for d, doc in enumerate(docs):
        for e, span in enumerate(doc.ents):
            if span.kb_id_ and (labels is None or span.label_ in labels):
                found.append((d, e, span.text, span.label_, span.kb_id_))
    return found


def seen_strings(docs: Iterable[Doc]) -> Set[str]:
    """Normalised texts of every entity in ``docs`` (the training side of "unseen")."""
    return {normalise(span.text) for doc in docs for span in doc.ents}


def score_gold_mentions(kb: KnowledgeBase, gold: Sequence[Tuple[int, int, str, str, str]], linked_docs: Sequence[Doc],
                        seen: Set[str], k: int = 5, subsets: Optional[Dict[str, Set[str]]] = None) -> Dict[str, dict]:
    """Accuracy@1 (lenient and strict) and @k per label, overall, unseen and with the gold id in the KB.

    ``subsets``: more groups, each the lower-cased mention texts it holds ("drugs": the
    variants of the drug dictionary); a mention in one is also scored in ``<name>`` and,
    when unseen, in ``<name>_unseen``.
    """
    tallies: Dict[str, Dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for d, e, text, label, gold_id in gold:
        span = linked_docs[d].ents[e]
        gold_ids = {canonical(kb, i) for i in split_ids(gold_id)}
        predicted = {canonical(kb, i) for i in split_ids(span.kb_id_)}
        candidates = [canonical(kb, c[0]) for c in (span._.kb_candidates or [])[:k]]
        hit1 = bool(predicted & gold_ids)
        strict = predicted == gold_ids
        hitk = hit1 or any(set(split_ids(c)) & gold_ids or c in gold_ids for c in candidates)
        groups = ["all"]
        if normalise(text) not in seen:
            groups.append("unseen")
        if all(kb.id_to_concept.get(i) is not None for i in split_ids(gold_id)):
            groups.append("in_kb")
        for name, texts in (subsets or {}).items():
            if lower(text) in texts:
                groups += [name, f"{name}_unseen"] if "unseen" in groups else [name]
        for group in groups:
            t = tallies[f"{label}/{group}"]
            t["n"] += 1
            t["acc1"] += hit1
            t["acc1_strict"] += strict
            t[f"acc{k}"] += hitk
            t["nil"] += not span.kb_id_
    out = {}
    for key, t in sorted(tallies.items()):
        n = t["n"]
        out[key] = {"n": int(n), "nil": int(t["nil"]),
                    **{m: round(100 * t[m] / n, 2) for m in ("acc1", "acc1_strict", f"acc{k}")}}
    return out


def document_concepts(kb: KnowledgeBase, doc: Doc, labels: Optional[Set[str]] = None,
                      unscored_prefixes: Tuple[str, ...] = ()) -> Dict[str, Set[str]]:
    """label -> set of canonical concept ids the document's entities carry.

    Canonical ids starting with one of ``unscored_prefixes`` are left out: a concept known
    only by its DrugBank ID ("DB") has no MeSH id, i.e. it is NIL for a MeSH measure.
    """
    found: Dict[str, Set[str]] = defaultdict(set)
    for span in doc.ents:
        if span.kb_id_ and (labels is None or span.label_ in labels):
            ids = (canonical(kb, i) for i in split_ids(span.kb_id_))
            found[span.label_].update(i for i in ids if not i.startswith(unscored_prefixes))
    return found


def concept_f1(kb: KnowledgeBase, gold_docs: Sequence[Doc], predicted_docs: Sequence[Doc],
               labels: Sequence[str], unscored_prefixes: Tuple[str, ...] = ()) -> Dict[str, dict]:
    """Micro P/R/F1 over (document, concept id) pairs, per label (the CDR normalisation measure);
    predicted ids with ``unscored_prefixes`` count as NIL (see ``document_concepts``)."""
    out = {}
    for label in labels:
        tp = fp = fn = 0
        for gold, pred in zip(gold_docs, predicted_docs):
            g = document_concepts(kb, gold, {label}).get(label, set())
            p = document_concepts(kb, pred, {label}, unscored_prefixes).get(label, set())
            tp += len(g & p)
            fp += len(p - g)
            fn += len(g - p)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {"p": round(100 * precision, 2), "r": round(100 * recall, 2), "f": round(100 * f1, 2),
                      "tp": tp, "fp": fp, "fn": fn}
    return out

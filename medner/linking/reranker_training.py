"""Fit the learned re-ranker (``medner.linking.reranker``) by cross-fitting on the TRAIN split only.

The train documents of each corpus are cut in two halves (even / odd document index). A KB is
built from the vocabularies plus the gold-ID mentions of one half; the other half's mentions whose
normalised text that half never used (unseen, as dev and test mentions are) are linked with the
shipped settings; each mention without an exact name ("fuzzy") gives its top-k candidates, label 1
for the gold concept, 0 for the others; then the halves swap. A logistic regression
(scikit-learn, train time only) is fitted on the rows of both. Dev and test are never read.
"""
import time
from pathlib import Path
from typing import Iterable, List, Sequence, Tuple

import numpy as np
import spacy
from spacy.tokens import Doc, DocBin

from ..abbreviations.component import detect_abbreviations
from .component import ConceptLinker, _long_forms
from .evaluation import canonical, seen_strings, split_ids
from .kb import KnowledgeBase
from .kb.names import normalise
from .reranker import FEATURES, Reranker, concept_features, feature_table

DATASETS = ("bc5cdr", "ncbi_disease")


def doc_mentions(docs: Iterable[Doc]) -> List[Tuple[str, str, str]]:
    """(text, label, gold id) of every gold entity with one id (composites skipped, as ``read_training_mentions``)."""
    return [(e.text, e.label_, e.kb_id_) for d in docs for e in d.ents if e.kb_id_ and "|" not in e.kb_id_]


def fold_rows(kb: KnowledgeBase, docs: Sequence[Doc], seen: set, config: dict, k: int) -> Tuple[list, list, dict]:
    """Link ``docs``' gold mentions with ``config``; for each unseen mention without an exact name whose gold
    concept is among its ``k`` candidates: its feature rows and labels (one array and list per mention). Also counts."""
    for doc in docs:
        detect_abbreviations(doc)
    linker = ConceptLinker(kb=kb, threshold=0.0, **dict(config, n_candidates=k, rerank=False))
    counts = {"mentions": 0, "unseen_fuzzy": 0, "gold_in_candidates": 0, "gold_top1": 0}
    rows, labels = [], []
    for doc in docs:
        spans = [e for e in doc.ents if e.kb_id_ and "|" not in e.kb_id_]
        long_forms = _long_forms(doc) if linker.cfg["abbreviations"] else {}
        plans = [linker._plan(doc, span, long_forms) for span in spans]
        linker._resolve({q for plan in plans for q in plan["queries"]})
        for span, plan in zip(spans, plans):
            counts["mentions"] += 1
            if plan.get("skip") or normalise(span.text) in seen:
                continue
            _, candidates, how = linker._choose(plan)
            if how != "fuzzy" or len(candidates) < 2:
                continue
            counts["unseen_fuzzy"] += 1
            gold = {canonical(kb, i) for i in split_ids(span.kb_id_)}
            y = [float(canonical(kb, c.id) in gold) for c in candidates]
            if not any(y):
                continue
            counts["gold_in_candidates"] += 1
            counts["gold_top1"] += int(y[0])
            rows.append(concept_features(kb, plan["text"], candidates))
            labels.append(y)
    return rows, labels, counts


def cross_fit(corpus_dir: Path, vocab: list, config: dict, k: int = 5, C: float = 1.0, log=print) -> Tuple[Reranker, dict]:
    """Two folds over the train documents (even / odd index); returns the fitted re-ranker and a record."""
    from sklearn.linear_model import LogisticRegression  # train time only (the ``train`` extra)

    nlp = spacy.blank("en")
    train = {d: list(DocBin().from_disk(corpus_dir / d / "train.spacy").get_docs(nlp.vocab)) for d in DATASETS}
    started = time.perf_counter()
    X, y, fold_counts = [], [], {}
    for fold in (0, 1):
        kb_half = {d: [doc for i, doc in enumerate(docs) if i % 2 == fold] for d, docs in train.items()}
        linked_half = {d: [doc for i, doc in enumerate(docs) if i % 2 != fold] for d, docs in train.items()}
        mentions = [m for d in DATASETS for m in doc_mentions(kb_half[d])]
        kb = KnowledgeBase.build(vocab, mentions)
        for dataset in DATASETS:
            rows, labels, counts = fold_rows(kb, linked_half[dataset], seen_strings(kb_half[dataset]), config, k)
            X += rows
            y += labels
            fold_counts[f"fold{fold}/{dataset}"] = counts
            log(f"fold {fold} {dataset}: {counts}")
    features = np.vstack(X)
    targets = np.concatenate([np.asarray(v) for v in y])
    model = LogisticRegression(C=C, max_iter=2000).fit(features, targets)
    reranker = Reranker(model.coef_[0].tolist(), float(model.intercept_[0]),
                        meta={"trained_on": "train split, 2-fold cross-fitting (even/odd documents)",
                              "k": k, "C": C, "rows": int(len(targets)), "mentions": len(X)})
    # how the fitted weights re-rank the training rows themselves (in-sample; dev decides)
    before = sum(r[0] for r in y)
    after = sum(lab[int(np.argmax(reranker.probabilities(x) - 1e-9 * np.arange(len(lab))))] for x, lab in zip(X, y))
    record = {"features": list(FEATURES), "weights": feature_table(reranker), "bias": round(reranker.bias, 4),
              "k": k, "C": C, "folds": fold_counts, "rows": int(len(targets)), "mentions": len(X),
              "positives": int(targets.sum()), "train_top1_tfidf": int(before), "train_top1_reranked": int(after),
              "seconds": round(time.perf_counter() - started, 1)}
    return reranker, record

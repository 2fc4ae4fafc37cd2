"""Train ``medner_relations`` on BC5CDR (CID, concept level) or PHEE (drug -> adverse effect, mention level).

Recipe (the same for both corpora):

1. fit the classifier on the training split's gold entities and relations;
2. choose ``threshold`` and ``at_least_one`` on the dev split, on the entities
   the component will see in use: a pipeline's predictions when ``pipeline`` is
   given (BC5CDR end to end), else the gold entities;
3. refit on train + dev with the chosen settings and save a pipeline that holds
   only the tokenizer and ``medner_relations``, ready to be ``source``d after a
   NER pipeline (``configs/relations_bc5cdr.cfg``).
"""
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from ..tokenizer import blank_biomedical
from .component import RelationExtractor
from .corpus import RelationReport, read_cdr_split, read_phee_split
from .evaluation import cdr_gold_and_scores, phee_gold_and_scores
from .examples import cdr_docs, phee_docs, strip_relations, training_examples

CORPORA: Dict[str, Dict[str, Any]] = {
    "bc5cdr": {"config": {"label": "CID", "level": "concept",
                          "label_pairs": [["CHEMICAL", "DISEASE"]], "regularization": 0.3},
               "read": read_cdr_split, "docs": cdr_docs, "score": cdr_gold_and_scores},
    "phee": {"config": {"label": "ADVERSE_EFFECT", "level": "mention", "max_sentence_distance": 0,
                        "label_pairs": [["MEDICATION", "DISEASE"]], "regularization": 0.3, "priors": False},
             "read": read_phee_split, "docs": phee_docs, "score": phee_gold_and_scores},
}
THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7)


def predicted_docs(pipeline: Optional[Language], gold_docs: List[Doc]) -> List[Doc]:
    """The component's input: ``pipeline``'s entities on the gold texts, or the gold docs without relations."""
    if pipeline is None:
        return strip_relations(gold_docs)
    docs = []
    for gold, doc in zip(gold_docs, pipeline.pipe([d.text for d in gold_docs], batch_size=64)):
        doc.user_data["medner_id"] = gold.user_data["medner_id"]
        docs.append(doc)
    return docs


def choose_settings(rel: RelationExtractor, inputs: List[Doc], score: Callable[[List[Doc]], dict],
                    thresholds=THRESHOLDS) -> Tuple[dict, List[dict]]:
    """Grid over threshold x at_least_one on ``inputs``; ``score(docs)`` returns a dict with ``"f"``."""
    scored = [(doc, *rel.predict_scores(doc)) for doc in inputs]
    table = []
    for at_least_one in (False, True):
        for threshold in thresholds:
            docs = []
            for doc, cands, scores in scored:
                out = doc.copy()
                rel.cfg.update(threshold=threshold, at_least_one=at_least_one)
                docs.append(rel.store(out, cands, scores))
            table.append({"threshold": threshold, "at_least_one": at_least_one, **score(docs)})
    best = max(table, key=lambda row: row["f"])
    return {"threshold": best["threshold"], "at_least_one": best["at_least_one"]}, table


def train_relations(corpus: str, asset_dir: Path, pipeline: Optional[str] = None) -> Tuple[Language, dict]:
    """Train, choose on dev, refit on train + dev; returns the relation-only pipeline and a report."""
    if corpus not in CORPORA:
        raise ValueError(f"corpus must be one of {sorted(CORPORA)}, got {corpus!r}")
    spec = CORPORA[corpus]
    nlp = blank_biomedical()
    reports, counts, splits, gold = {}, Counter(), {}, {}
    for split in ("train", "dev"):
        reports[split] = RelationReport(split)
        splits[split] = spec["read"](asset_dir, split, reports[split])
        gold[split] = spec["docs"](nlp, splits[split], counts)
    rel = nlp.add_pipe("medner_relations", config=spec["config"])
    rel.initialize(lambda: training_examples(gold["train"]))
    ner = spacy.load(pipeline) if pipeline else None
    dev_inputs = predicted_docs(ner, gold["dev"])
    chosen, table = choose_settings(rel, dev_inputs, lambda docs: spec["score"](docs, splits["dev"]))
    rel.initialize(lambda: training_examples(gold["train"] + gold["dev"]))
    rel.cfg.update(chosen)
    report = {"corpus": corpus, "trained_on": "train+dev", "chosen_on": "dev",
              "dev_entities": f"predicted by {pipeline}" if pipeline else "gold",
              "config": {k: v for k, v in rel.cfg.items()}, "chosen": chosen, "dev_grid": table,
              "features": len(rel.weights), "readers": {s: r.to_dict() for s, r in reports.items()},
              "anchoring": dict(counts)}
    return nlp, report

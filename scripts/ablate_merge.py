"""Which way of combining spaCy's CNN ner with the HF token classifier works best?

Runs a combined pipeline (configs/combined_clinical.cfg assembled with any CNN
and HF model) ONCE over dev and test with its merge component disabled, then
applies every merge policy to copies of the same docs and scores each source
and each policy with the project's scorer. The policy is chosen on dev; test
scores are reported for all rows so the README ablation table can show both.
"""
import time
from pathlib import Path

import spacy
import srsly
import typer
from spacy.tokens import Doc, DocBin
from wasabi import msg

from medner.components.merge import MergeEntities
from medner.evaluation import score_entities

POLICIES = [
    ("prefer_hf", {"sources": ["hf", "ents"], "policy": "prefer_first"}),
    ("prefer_cnn", {"sources": ["ents", "hf"], "policy": "prefer_first"}),
    ("longest", {"sources": ["hf", "ents"], "policy": "longest"}),
    ("vote_agree", {"sources": ["hf", "ents"], "policy": "vote", "min_votes": 2}),
]


def annotate(nlp, path: Path):
    gold = list(DocBin().from_disk(path).get_docs(nlp.vocab))
    with nlp.select_pipes(disable=[n for n in nlp.pipe_names if n == "merge"]):
        start = time.perf_counter()
        predicted = list(nlp.pipe([d.text for d in gold], batch_size=64))
        seconds = time.perf_counter() - start
    return gold, predicted, seconds


def merged(nlp, docs, config: dict):
    merge = MergeEntities(nlp.vocab, "ablation", label_priority=[], min_votes=config.get("min_votes", 1),
                          spans_key="medner", set_ents=True, scorer=None,
                          sources=config["sources"], policy=config["policy"])
    return [merge(Doc(nlp.vocab).from_bytes(doc.to_bytes())) for doc in docs]


def main(
    model: Path = typer.Argument(..., exists=True, help="A combined pipeline (CNN ner + hf + merge)"),
    dev: Path = typer.Argument(..., exists=True),
    test: Path = typer.Argument(..., exists=True),
    output: Path = typer.Argument(...),
):
    nlp = spacy.load(model)
    rows = {}
    for split, path in (("dev", dev), ("test", test)):
        gold, predicted, seconds = annotate(nlp, path)
        msg.info(f"{split}: annotated {len(gold)} docs in {seconds:.0f} s")
        rows.setdefault("cnn_only", {})[split] = score_entities(predicted, gold, None)
        rows.setdefault("hf_only", {})[split] = score_entities(predicted, gold, "hf")
        for name, config in POLICIES:
            rows.setdefault(f"merge_{name}", {})[split] = score_entities(merged(nlp, predicted, config), gold, None)
    best = max((r for r in rows if r.startswith("merge_")), key=lambda r: rows[r]["dev"]["f1"])
    srsly.write_json(output, {"model": str(model), "dev": str(dev), "test": str(test),
                              "policies": dict(POLICIES), "selected_on_dev": best, "rows": rows})
    msg.table([(name, r["dev"]["f1"], r["test"]["f1"], r["test"]["precision"], r["test"]["recall"])
               for name, r in rows.items()], header=("variant", "dev F1", "test F1", "test P", "test R"), divider=True)
    msg.good(f"Best merge policy on dev: {best}; wrote {output}")


if __name__ == "__main__":
    typer.run(main)

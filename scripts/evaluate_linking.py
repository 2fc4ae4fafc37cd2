"""Evaluate medner_linker: accuracy@1/@5 on gold mentions (with an ablation), concept F1 end to end,
DrugBank coverage (medner.linking.experiments)."""
import json
from pathlib import Path
from typing import List

import typer
from wasabi import msg

from medner.linking.experiments import LinkingEvaluationError, drug_id_report, end_to_end_report, gold_mention_report
from medner.linking.kb import KBFileError, KnowledgeBase
from medner.linking.reranker import Reranker, RerankerFileError
from medner.ner.vocab.sources import VocabularyFormatError, load_drug_dictionary

app = typer.Typer(add_completion=False)


def _write(output: Path, result: dict) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf8")
    msg.good(f"Wrote {output}")


def _load_kb(path: Path) -> KnowledgeBase:
    try:
        return KnowledgeBase.from_disk(path)
    except KBFileError as err:
        msg.fail(str(err), exits=1)


@app.command()
def gold(kb_dir: Path = typer.Argument(...), output: Path = typer.Argument(...), split: str = typer.Option("test"),
         seen_splits: str = typer.Option("train", help="'+'-joined splits whose mentions the KB was built from"),
         ablation: bool = typer.Option(False, "--ablation"), threshold: float = typer.Option(0.0, help="NIL threshold"),
         drugs: Path = typer.Option(None, "--drugs", exists=True, dir_okay=False, help="drug dictionary: also score the drug mentions"),
         reranker: Path = typer.Option(None, "--reranker", help="learned re-ranker weights (scripts/train_reranker.py)")):
    """Gold mentions of the three targets: accuracy@1/@5, overall and unseen."""
    try:
        variants = list(load_drug_dictionary(drugs)["drug_variant_to_canonical"]) if drugs else None
        weights = Reranker.from_disk(reranker) if reranker else None
        result = gold_mention_report(_load_kb(kb_dir), kb_dir, split, seen_splits, ablation, threshold, variants,
                                     str(drugs or ""), reranker=weights)
    except (VocabularyFormatError, RerankerFileError, LinkingEvaluationError) as err:
        msg.fail(str(err), exits=1)
    _write(output, result)


@app.command()
def e2e(pipeline: Path = typer.Argument(...), kb_dir: Path = typer.Argument(...), dataset: str = typer.Argument(...),
        output: Path = typer.Argument(...), split: str = typer.Option("test"), thresholds: str = typer.Option("0.8"),
        propagation: Path = typer.Option(None, "--propagation", exists=True, dir_okay=False),
        label_thresholds_from: Path = typer.Option(None, "--label-thresholds-from", exists=True, dir_okay=False,
                                                   help="an e2e dev report: also run with each label's best threshold there")):
    """NER + abbreviations + linker on raw texts: document-level concept P/R/F1 per label, per threshold."""
    try:
        chosen = json.loads(label_thresholds_from.read_text(encoding="utf8")).get("best_thresholds") if label_thresholds_from else None
        if label_thresholds_from and not chosen:
            raise LinkingEvaluationError(f"{label_thresholds_from} has no best_thresholds: run e2e on dev with --thresholds first")
        result = end_to_end_report(pipeline, _load_kb(kb_dir), kb_dir, dataset, split,
                                   [float(t) for t in thresholds.split(",") if t], propagation, label_thresholds=chosen)
    except LinkingEvaluationError as err:
        msg.fail(str(err), exits=1)
    _write(output, result)


@app.command("drug-ids")
def drug_ids(kb_dir: Path = typer.Argument(...), output: Path = typer.Argument(...),
             docs: List[Path] = typer.Option(..., "--docs", exists=True, dir_okay=False), label: str = typer.Option("MEDICATION")):
    """Gold ``label`` mentions given a MeSH and a DrugBank ID."""
    _write(output, drug_id_report(_load_kb(kb_dir), kb_dir, docs, label))


if __name__ == "__main__":
    app()

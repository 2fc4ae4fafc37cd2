"""Score a trained medner_relations on the test split: gold entities, end to end, co-occurrence baselines, time.

BC5CDR: (PMID, chemical, disease) sets, the BioCreative V way; PHEE: Drug ->
Effect pairs, exact and overlapping spans. With --pipeline the component runs
after that NER + linker pipeline and its added time per document is measured.
"""
from pathlib import Path
from typing import Optional

import srsly
import typer
from wasabi import msg

from medner.corpus.records import CorpusFormatError
from medner.relations.evaluation import evaluate_relations
from medner.relations.training import CORPORA


def main(
    corpus: str = typer.Argument(..., help=f"one of {sorted(CORPORA)}"),
    asset_dir: Path = typer.Argument(..., exists=True, file_okay=False),
    model_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="scripts/train_relations.py's output"),
    output: Path = typer.Argument(..., help="JSON metrics to write"),
    pipeline: Optional[str] = typer.Option(None, "--pipeline", help="NER + linker pipeline for the end-to-end scores"),
    timing_docs: int = typer.Option(50, "--timing-docs", help="Test texts to time the component on"),
):
    if corpus not in CORPORA:
        msg.fail(f"corpus must be one of {sorted(CORPORA)}, not {corpus!r}", exits=1)
    try:
        result = evaluate_relations(corpus, asset_dir, model_dir, pipeline, timing_docs=timing_docs)
    except (CorpusFormatError, OSError, ValueError) as err:
        msg.fail(str(err), exits=1)
    output.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(output, result)
    for setting in ("gold_entities", "end_to_end"):
        if setting in result:
            line = ", ".join(f"{name} {s['f']}" for name, s in result[setting].items() if isinstance(s, dict))
            msg.info(f"{corpus} test, {setting}: F1 {line}")
    if "timing" in result:
        msg.info(f"medner_relations adds {result['timing']['added_percent']} % per document")
    msg.good(f"wrote {output}")


if __name__ == "__main__":
    typer.run(main)

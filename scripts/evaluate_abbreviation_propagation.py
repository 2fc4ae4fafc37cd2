"""What ``medner_abbreviation_propagation`` does to NER F1, per pipeline, on a corpus's dev and test sets.

Each pipeline annotates the dev and test texts once; the abbreviation
detector runs once on its output; then every variant of the post-processing
step (how a long form is matched to an entity x what to do when only short
forms are tagged) is applied to a copy of those docs and scored with
medner.evaluation.entities.score_entities, beside the pipeline alone ("none"). The step
is kept for a pipeline only if its best variant on dev beats "none" on dev;
that variant's test score is reported next to the baseline's.
"""
from pathlib import Path
from typing import List, Optional

import typer

from medner.abbreviations.evaluation import evaluate_propagation


def main(
    dataset: str = typer.Argument(..., help="Corpus name: corpus/<dataset>/{dev,test}.spacy"),
    models: List[str] = typer.Argument(..., help="Pipeline directories or package names"),
    output: Optional[Path] = typer.Option(None, "--output", help="Default: metrics/abbreviation_propagation__<dataset>.json"),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus-dir"),
    batch_size: int = typer.Option(64, "--batch-size"),
):
    return evaluate_propagation(dataset, models, output, corpus_dir, batch_size)


if __name__ == "__main__":
    typer.run(main)

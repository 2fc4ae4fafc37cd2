"""Build a pip-installable wheel for a trained pipeline, plus the medner wheel it needs.

The pipeline's meta gets the labels, the corpus it was trained on with its
licence, and the test-set metrics from metrics/. Custom code (tokenizer,
components) is not copied into the package: the pipeline requires the
``medner`` distribution, whose wheel is built beside it into packages/wheels/.
"""
from pathlib import Path
from typing import List, Optional

import spacy
import typer
from wasabi import msg

import medner
from medner.corpus.datasets import DATASETS
from medner.release.packaging import SPACY_RANGE, build_medner_wheel, build_pipeline_wheel, medner_requirement, output_labels
from medner.release.records import record_package, metric_summary

def main(
    model_dir: Path = typer.Argument(..., exists=True, file_okay=False),
    name: str = typer.Argument(..., help="Package name without language, e.g. medner_bc5cdr_cnn"),
    output_dir: Path = typer.Argument(Path("packages")),
    dataset: List[str] = typer.Option([], "--dataset", help="Corpus the pipeline was trained on"),
    metrics: List[Path] = typer.Option([], "--metrics", help="metrics/*.json to put in the meta"),
    description: Optional[str] = typer.Option(None, "--description"),
    version: str = typer.Option(medner.__version__, "--version"),
    record: Path = typer.Option(Path("metrics/packages.json"), "--record", help="Committed sizes of all built packages"),
):
    build_medner_wheel(output_dir / "wheels")
    nlp = spacy.load(model_dir)
    labels = output_labels(nlp)
    meta = {
        "name": name,
        "version": version,
        "description": description or f"medner pipeline {name}: {', '.join(nlp.pipe_names)}",
        "author": "medner contributors",
        "license": "MIT (code); training data licences in 'sources'",
        "sources": [DATASETS[d].source for d in dataset],
        "requirements": [medner_requirement(nlp, version)],
        # Any spaCy 3.8.x loads these pipelines: do not make pip upgrade the user's spaCy.
        "spacy_version": SPACY_RANGE,
        "medner": {"labels": labels, "trained_on": list(dataset),
                   "test_metrics": {m.stem: metric_summary(m) for m in metrics if m.exists()}},
    }
    for path in metrics:
        if not path.exists():
            msg.warn(f"No metrics file {path}: run the evaluate command first")
    wheel = build_pipeline_wheel(model_dir, output_dir, meta)
    pkg = f"{nlp.lang}_{name}"
    record_package(record, pkg, model_dir, wheel, version)
    msg.good(f"Built {wheel} (and the medner wheel in {output_dir / 'wheels'})")


if __name__ == "__main__":
    typer.run(main)

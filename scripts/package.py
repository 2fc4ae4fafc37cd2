"""Build a pip-installable wheel for a trained pipeline, plus the medner wheel it needs.

The pipeline's meta gets the labels, the corpus it was trained on with its
licence, and the test-set metrics from metrics/. Custom code (tokenizer,
components) is not copied into the package: the pipeline requires the
``medner`` distribution, whose wheel is built beside it into packages/wheels/.
"""
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import spacy
import srsly
import typer
from wasabi import msg

import medner
from medner.corpus.datasets import DATASETS
from medner.release.packaging import SPACY_RANGE, medner_requirement, output_labels
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
    output_dir.mkdir(parents=True, exist_ok=True)
    wheels = output_dir / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels), str(Path(medner.__file__).parent.parent)], check=True)
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
    meta_path = output_dir / f"{name}.meta.json"
    srsly.write_json(meta_path, meta)
    subprocess.run([sys.executable, "-m", "spacy", "package", str(model_dir), str(output_dir),
                    "--name", name, "--version", version, "--meta-path", str(meta_path),
                    "--build", "wheel", "--force"], check=True)
    pkg = f"{nlp.lang}_{name}"
    wheel = next((output_dir / f"{pkg}-{version}" / "dist").glob("*.whl"))
    record_package(record, pkg, model_dir, wheel, version)
    msg.good(f"Built {wheel} (and the medner wheel in {wheels})")


if __name__ == "__main__":
    typer.run(main)

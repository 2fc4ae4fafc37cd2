"""Benchmark `medner annotate`: one process vs. a Dask LocalCluster (medner.bench.dask_scaling).

Annotates the texts of a DocBin (default ``corpus/bc5cdr/test.spacy``) once in
one process and once on ``--workers`` single-threaded worker processes, checks
that both give the same entities, writes ``metrics/benchmark_dask.json``.

    python scripts/benchmark_dask.py --model training/bc5cdr_cnn/model-best
"""
import json
from pathlib import Path
from typing import Optional

import typer

from medner.bench.dask_scaling import benchmark_dask

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    model: str = typer.Option(..., "--model", "-m", help="Pipeline package name or directory."),
    corpus: Path = typer.Option(Path("corpus/bc5cdr/test.spacy"), "--corpus", exists=True, help="DocBin whose texts are annotated."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N documents."),
    workers: int = typer.Option(2, "--workers", "-w", min=1),
    batch_size: int = typer.Option(64, "--batch-size"),
    partition_size: int = typer.Option(0, "--partition-size", help="Documents per partition (0: docs / (4 * workers))."),
    output: Path = typer.Option(Path("metrics/benchmark_dask.json"), "--output", "-o"),
) -> None:
    result = benchmark_dask(model, corpus, limit=limit, workers=workers, batch_size=batch_size,
                            partition_size=partition_size)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    if not result["same_entities"]:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()

"""Evaluate the pipelines x test sets matrix of configs/evaluation.yml: one metrics JSON per cell.

Each pipeline directory is loaded once and run over its test sets (medner.evaluation.matrix);
``--pipelines`` / ``--datasets`` re-run a few rows or columns.
"""
from pathlib import Path
from typing import List, Optional

import spacy
import typer
from wasabi import msg

from medner.evaluation.matrix import MatrixError, check_inputs, evaluate_cells, load_matrix, matrix_cells


def _names(option: str) -> List[str]:
    return [name.strip() for name in option.split(",") if name.strip()]


def main(
    config: Path = typer.Argument(Path("configs/evaluation.yml"), help="The matrix: test sets, pipelines"),
    pipelines: str = typer.Option("", "--pipelines", help="Comma-separated pipeline names (default: all)"),
    datasets: str = typer.Option("", "--datasets", help="Comma-separated test set names (default: all)"),
    metrics_dir: Optional[Path] = typer.Option(None, "--metrics-dir", help="Write here instead of the config's metrics_dir"),
    batch_size: int = typer.Option(64, "--batch-size"),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="-1: CPU"),
):
    try:
        matrix = load_matrix(config)
        if metrics_dir is not None:
            matrix.metrics_dir = str(metrics_dir)
        cells = matrix_cells(matrix, _names(pipelines), _names(datasets))
        check_inputs(cells)
        if not cells:
            raise MatrixError(f"No cells of {config} match --pipelines {pipelines!r} --datasets {datasets!r}")
        if gpu_id >= 0:
            spacy.require_gpu(gpu_id)
        evaluated = evaluate_cells(cells, batch_size=batch_size, gpu_id=gpu_id)
    except MatrixError as err:
        msg.fail(str(err), exits=1)
    rows = [(cell.pipeline, cell.test_set, record["scored"], record["f1"], record["words_per_second"], str(cell.output))
            for cell, record in evaluated]
    msg.table(rows, header=("pipeline", "test set", "scored", "F1", "words/s", "file"), divider=True)
    msg.good(f"{len(rows)} evaluations from {config}")


if __name__ == "__main__":
    typer.run(main)

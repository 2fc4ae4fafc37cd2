"""Evaluate the pipelines x test sets matrix of configs/evaluation.yml: one metrics JSON per cell.

Each pipeline directory is loaded once and run over its test sets;
``--pipelines`` / ``--datasets`` re-run a few rows or columns.
"""
from pathlib import Path
from typing import Dict, List, Optional

import spacy
import srsly
import typer
from spacy.tokens import DocBin
from wasabi import msg

from medner.evaluation.matrix import (
    MatrixError, cells_by_model, check_inputs, evaluation_record, load_matrix, matrix_cells, shared_labels,
)


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
    except MatrixError as err:
        msg.fail(str(err), exits=1)
    if not cells:
        msg.fail(f"No cells of {config} match --pipelines {pipelines!r} --datasets {datasets!r}", exits=1)
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    gold_bins: Dict[str, DocBin] = {}
    rows = []
    for model_path, model_cells in cells_by_model(cells).items():
        nlp = spacy.load(model_path)
        for cell in model_cells:
            if cell.gold_path not in gold_bins:
                gold_bins[cell.gold_path] = DocBin().from_disk(cell.gold_path)
            gold = list(gold_bins[cell.gold_path].get_docs(nlp.vocab))
            labels = shared_labels(nlp, gold) if cell.shared_labels_only else None
            if cell.shared_labels_only and not labels:
                msg.fail(f"{cell.pipeline} shares no label with {cell.gold_path}: drop {cell.test_set} from its "
                         f"test_sets in {config}", exits=1)
            record = evaluation_record(
                nlp, gold, pipeline=cell.pipeline, dataset=cell.test_set, model=cell.model_path,
                gold_path=cell.gold_path, spans_key=cell.spans_key, labels=labels, batch_size=batch_size, gpu_id=gpu_id,
            )
            cell.output.parent.mkdir(parents=True, exist_ok=True)
            srsly.write_json(cell.output, record)
            rows.append((cell.pipeline, cell.test_set, record["scored"], record["f1"], record["words_per_second"],
                         str(cell.output)))
        del nlp
    msg.table(rows, header=("pipeline", "test set", "scored", "F1", "words/s", "file"), divider=True)
    msg.good(f"{len(rows)} evaluations from {config}")


if __name__ == "__main__":
    typer.run(main)

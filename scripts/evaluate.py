"""Evaluate one pipeline on one gold .spacy file: exact-match P/R/F1 overall and per label, WPS.

For ad-hoc checks; the project's evaluations are the matrix in configs/evaluation.yml
(scripts/evaluate_matrix.py), which writes the same record.
"""
from pathlib import Path
from typing import Optional

import spacy
import srsly
import typer
from spacy.tokens import DocBin
from wasabi import msg

from medner.evaluation.matrix import evaluation_record, predicted_labels, shared_labels


def main(
    model: str = typer.Argument(..., help="Pipeline directory or installed package name"),
    gold_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Gold .spacy file (test set)"),
    output: Path = typer.Argument(..., help="metrics/<pipeline>__<dataset>.json"),
    spans_key: Optional[str] = typer.Option(None, "--spans-key", help="Score doc.spans[KEY] instead of doc.ents"),
    batch_size: int = typer.Option(64, "--batch-size"),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="-1: CPU"),
    shared_labels_only: bool = typer.Option(False, "--shared-labels", help="Score only the labels the pipeline and the gold set share (cross-corpus)"),
):
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(model)
    gold = list(DocBin().from_disk(gold_path).get_docs(nlp.vocab))
    labels = None
    if shared_labels_only:
        labels = shared_labels(nlp, gold)
        if not labels:
            msg.fail(f"{model} predicts {predicted_labels(nlp)}, none of them in {gold_path}", exits=1)
        msg.info(f"Scoring the shared labels only: {labels}")
    pipeline_name, dataset = (output.stem.split("__", 1) + [""])[:2]
    record = evaluation_record(nlp, gold, pipeline=pipeline_name, dataset=dataset, model=model, gold_path=str(gold_path),
                               spans_key=spans_key, labels=labels, batch_size=batch_size, gpu_id=gpu_id)
    output.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(output, record)
    rows = [("ALL", record["precision"], record["recall"], record["f1"])]
    rows += [(label, s["p"], s["r"], s["f"]) for label, s in record["per_label"].items()]
    msg.table(rows, header=("label", "P", "R", "F1"), divider=True)
    msg.good(f"{pipeline_name} on {dataset}: F1 {record['f1']} at {record['words_per_second']} words/s -> {output}")


if __name__ == "__main__":
    typer.run(main)

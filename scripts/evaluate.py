"""Evaluate a pipeline on a gold .spacy file: exact-match P/R/F1 overall and per label, WPS."""
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import spacy
import srsly
import typer
from spacy.tokens import DocBin
from wasabi import msg

from medner.evaluation import evaluate_pipeline


def main(
    model: str = typer.Argument(..., help="Pipeline directory or installed package name"),
    gold_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Gold .spacy file (test set)"),
    output: Path = typer.Argument(..., help="metrics/<pipeline>__<dataset>.json"),
    spans_key: Optional[str] = typer.Option(None, "--spans-key", help="Score doc.spans[KEY] instead of doc.ents"),
    batch_size: int = typer.Option(64, "--batch-size"),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="-1: CPU"),
    shared_labels: bool = typer.Option(False, "--shared-labels", help="Score only the labels the pipeline and the gold set share (cross-corpus)"),
):
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(model)
    gold = list(DocBin().from_disk(gold_path).get_docs(nlp.vocab))
    labels = None
    if shared_labels:
        predicts = {label for name in nlp.pipe_names for label in getattr(nlp.get_pipe(name), "labels", ()) or ()}
        labels = sorted(predicts & {ent.label_ for doc in gold for ent in doc.ents})
        if not labels:
            msg.fail(f"{model} predicts {sorted(predicts)}, none of them in {gold_path}", exits=1)
        msg.info(f"Scoring the shared labels only: {labels}")
    result = evaluate_pipeline(nlp, gold, spans_key=spans_key, batch_size=batch_size, labels=labels)
    pipeline_name, dataset = (output.stem.split("__", 1) + [""])[:2]
    record = {
        "pipeline": pipeline_name,
        "dataset": dataset,
        "model": str(model),
        "model_name": f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}",
        "model_version": nlp.meta.get("version"),
        "pipe_names": nlp.pipe_names,
        "scored": (spans_key or "ents") + (f" ({', '.join(labels)} only)" if labels else ""),
        "labels_scored": labels,
        "gold": str(gold_path),
        **result,
        "machine": f"{platform.machine()}, {result['cpu_count']} CPUs" + (f", GPU {gpu_id}" if gpu_id >= 0 else ""),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(output, record)
    rows = [("ALL", result["precision"], result["recall"], result["f1"])]
    rows += [(label, s["p"], s["r"], s["f"]) for label, s in result["per_label"].items()]
    msg.table(rows, header=("label", "P", "R", "F1"), divider=True)
    msg.good(f"{pipeline_name} on {dataset}: F1 {result['f1']} at {result['words_per_second']} words/s -> {output}")


if __name__ == "__main__":
    typer.run(main)

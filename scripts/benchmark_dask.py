"""Benchmark `medner annotate`: one process vs. a Dask LocalCluster.

Writes the texts of a DocBin (default ``corpus/bc5cdr/test.spacy``) to a JSONL
file, annotates it once in one process and once on a LocalCluster of
``--workers`` single-threaded worker processes, checks that both give the
same entities, and writes wall seconds, words per second and the ratio to
``metrics/benchmark_dask.json``.

    python scripts/benchmark_dask.py --model training/bc5cdr_cnn/model-best
    python scripts/benchmark_dask.py --model en_medner_bc5cdr_cnn --limit 50 --output /tmp/b.json
"""
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def write_texts(docbin: Path, out: Path, limit: Optional[int]) -> int:
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    n = 0
    with open(out, "w", encoding="utf-8") as f:
        for i, doc in enumerate(DocBin().from_disk(docbin).get_docs(nlp.vocab)):
            if limit is not None and i >= limit:
                break
            f.write(json.dumps({"id": i, "text": doc.text}, ensure_ascii=False) + "\n")
            n += 1
    return n


def entities_by_id(records):
    return {r["id"]: r["entities"] for r in records}


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
    from medner.annotate import annotate_file, load_pipeline, read_records
    from medner.annotate.dask import annotate_dask, preload_pipeline, start_client

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inp = tmp / "texts.jsonl"
        n_docs = write_texts(corpus, inp, limit)
        if partition_size <= 0:
            partition_size = max(1, -(-n_docs // (4 * workers)))

        # One process: load + annotate.
        t0 = time.perf_counter()
        nlp = load_pipeline(model)
        t_loaded = time.perf_counter()
        single = annotate_file(inp, tmp / "single.jsonl", nlp, batch_size=batch_size, progress=False)
        t1 = time.perf_counter()

        # Dask: cluster start + annotate (workers load the pipeline inside the run).
        t2 = time.perf_counter()
        client, cluster = start_client("local", workers)
        t_started = time.perf_counter()
        try:
            preload_pipeline(client, model)
            t_preloaded = time.perf_counter()
            dask_summary, parts = annotate_dask(
                inp, tmp / "dask_out", model, client=client, partition_size=partition_size,
                batch_size=batch_size, progress=False,
            )
        finally:
            t3 = time.perf_counter()
            client.close()
            cluster.close()

        same = entities_by_id(read_records(tmp / "single.jsonl")) == entities_by_id(read_records(tmp / "dask_out"))
        words = single.words
        single_wall, dask_wall = t1 - t0, t3 - t2
        single_annotate, dask_annotate = t1 - t_loaded, t3 - t_preloaded
        result = {
            "model": model,
            "corpus": str(corpus),
            "documents": n_docs,
            "words": words,
            "characters": single.characters,
            "entities": sum(single.entities.values()),
            "same_entities": same,
            "single_process": {
                "wall_seconds": round(single_wall, 3),
                "load_seconds": round(t_loaded - t0, 3),
                "annotate_seconds": round(single_annotate, 3),
                "words_per_second": round(words / single_wall, 1),
            },
            "dask_local": {
                "workers": workers,
                "threads_per_worker": 1,
                "partitions": len(parts),
                "partition_size": partition_size,
                "wall_seconds": round(dask_wall, 3),
                "cluster_start_seconds": round(t_started - t2, 3),
                "worker_load_seconds": round(t_preloaded - t_started, 3),
                "annotate_seconds": round(dask_annotate, 3),
                "words_per_second": round(dask_summary.words / dask_wall, 1),
            },
            "speedup_wall": round(single_wall / dask_wall, 3),
            "speedup_annotate": round(single_annotate / dask_annotate, 3),
            "note": "wall_seconds include pipeline loading (single) and cluster start + pipeline loading on every "
            "worker (dask); annotate_seconds exclude loading and cluster start",
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    if not same:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()

"""Speed, memory and size of every packaged pipeline, side by side in one run.

    python scripts/benchmark.py metrics/benchmark.json --gold corpus/bc5cdr/test.spacy \
        --pipeline bc5cdr_cnn=training/bc5cdr_cnn/model-best --pipeline bc5cdr_hf=training/bc5cdr_hf/pipeline ...

Each pipeline runs in its own subprocess (peak memory per pipeline), warms up
on a few texts, then annotates the same fixed BC5CDR test abstracts with
``nlp.pipe`` at each batch size. Words are whitespace words of the texts, the
same count for every pipeline. Size is the pipeline directory on disk and, if
built, its wheel (found in metrics/packages.json by the model directory).
"""
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import typer
from wasabi import msg

from medner.bench.timing import count_words, directory_size_mb, gold_texts, loadavg, machine_info, peak_rss_mb

WARMUP_TEXTS = 5


def worker(model: str, gold: Path, n_docs: int, batch_sizes: List[int], threads: int) -> dict:
    import spacy
    import torch

    torch.set_num_threads(threads)
    texts = gold_texts(gold, n_docs)
    start = time.perf_counter()
    nlp = spacy.load(model)
    result = {"load_seconds": round(time.perf_counter() - start, 2), "pipe_names": nlp.pipe_names,
              "words": count_words(texts), "docs": len(texts), "runs": {}}
    list(nlp.pipe(texts[:WARMUP_TEXTS]))
    for batch_size in batch_sizes:
        start = time.perf_counter()
        n_ents = sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=batch_size))
        seconds = time.perf_counter() - start
        result["runs"][str(batch_size)] = {"seconds": round(seconds, 2), "entities": n_ents,
                                           "words_per_second": round(result["words"] / seconds)}
    result["peak_rss_mb"] = round(peak_rss_mb())
    return result


def main(
    output: Path = typer.Argument(..., help="metrics/benchmark.json"),
    pipeline: List[str] = typer.Option(..., "--pipeline", help="NAME=PATH_OR_PACKAGE, repeatable"),
    gold: Path = typer.Option(Path("corpus/bc5cdr/test.spacy"), "--gold", exists=True),
    n_docs: int = typer.Option(200, "--n-docs"),
    batch_sizes: str = typer.Option("1,64", "--batch-sizes"),
    threads: int = typer.Option(2, "--threads"),
    packages_record: Path = typer.Option(Path("metrics/packages.json"), "--packages-record",
                                         help="scripts/package.py's record: which wheel was built from which model"),
    worker_mode: bool = typer.Option(False, "--worker", hidden=True),
):
    sizes = [int(b) for b in batch_sizes.split(",")]
    if worker_mode:
        name, model = pipeline[0].split("=", 1)
        print(json.dumps(worker(model, gold, n_docs, sizes, threads)))
        return
    report = {"command": " ".join(["python"] + sys.argv), "machine": machine_info(), "gold": str(gold),
              "n_docs": n_docs, "threads": threads, "loadavg_start": loadavg(), "pipelines": {}}
    packages = json.loads(packages_record.read_text(encoding="utf8")) if packages_record.exists() else {}
    for spec in pipeline:
        name, model = spec.split("=", 1)
        msg.info(f"{name}: {model} (load {loadavg()})")
        proc = subprocess.run([sys.executable, __file__, str(output), "--pipeline", spec, "--gold", str(gold),
                               "--n-docs", str(n_docs), "--batch-sizes", batch_sizes, "--threads", str(threads),
                               "--worker"], capture_output=True, text=True)
        if proc.returncode != 0:
            msg.fail(f"{name} failed:\n{proc.stderr[-2000:]}", exits=1)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["model"] = model
        if Path(model).exists():
            result["size_on_disk_mb"] = round(directory_size_mb(Path(model)), 1)
        package = next((entry for entry in packages.values() if entry["model"] == model), None)
        if package:
            result["wheel"], result["wheel_mb"] = package["wheel"], package["wheel_mb"]
        report["pipelines"][name] = result
    report["loadavg_end"] = loadavg()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf8")
    rows = [(name, *(r["runs"][str(b)]["words_per_second"] for b in sizes), r["peak_rss_mb"],
             r.get("size_on_disk_mb"), r.get("wheel_mb")) for name, r in report["pipelines"].items()]
    msg.table(rows, header=("pipeline", *(f"WPS b={b}" for b in sizes), "peak MB", "disk MB", "wheel MB"), divider=True)
    msg.good(f"Wrote {output} (load average {report['loadavg_start']} -> {report['loadavg_end']})")


if __name__ == "__main__":
    typer.run(main)

"""Speed, memory and size of every packaged pipeline, side by side in one run (medner.bench.pipelines).

    python scripts/benchmark.py metrics/benchmark.json --gold corpus/bc5cdr/test.spacy \
        --pipeline bc5cdr_cnn=training/bc5cdr_cnn/model-best --pipeline bc5cdr_hf=training/bc5cdr_hf/pipeline ...
"""
import json
import sys
from pathlib import Path
from typing import List

import typer
from wasabi import msg

from medner.bench.pipelines import BenchmarkError, benchmark_pipelines


def main(
    output: Path = typer.Argument(..., help="metrics/benchmark.json"),
    pipeline: List[str] = typer.Option(..., "--pipeline", help="NAME=PATH_OR_PACKAGE, repeatable"),
    gold: Path = typer.Option(Path("corpus/bc5cdr/test.spacy"), "--gold", exists=True),
    n_docs: int = typer.Option(200, "--n-docs"),
    batch_sizes: str = typer.Option("1,64", "--batch-sizes"),
    threads: int = typer.Option(2, "--threads"),
    packages_record: Path = typer.Option(Path("metrics/packages.json"), "--packages-record",
                                         help="scripts/package.py's record: which wheel was built from which model"),
):
    sizes = [int(b) for b in batch_sizes.split(",")]
    if any("=" not in spec for spec in pipeline):
        msg.fail(f"--pipeline takes NAME=PATH_OR_PACKAGE, got {[s for s in pipeline if '=' not in s]}", exits=1)
    try:
        report = benchmark_pipelines(dict(spec.split("=", 1) for spec in pipeline), gold, n_docs, sizes, threads,
                                     packages_record, log=msg.info)
    except BenchmarkError as err:
        msg.fail(str(err), exits=1)
    report = {"command": " ".join(["python"] + sys.argv), **report}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf8")
    rows = [(name, *(r["runs"][str(b)]["words_per_second"] for b in sizes), r["peak_rss_mb"],
             r.get("size_on_disk_mb"), r.get("wheel_mb")) for name, r in report["pipelines"].items()]
    msg.table(rows, header=("pipeline", *(f"WPS b={b}" for b in sizes), "peak MB", "disk MB", "wheel MB"), divider=True)
    msg.good(f"Wrote {output} (load average {report['loadavg_start']} -> {report['loadavg_end']})")


if __name__ == "__main__":
    typer.run(main)

"""Cost of concept linking: KB build time and size, pipeline load time, peak RSS, mentions per second
(medner.bench.linker: fresh worker processes, best of --runs).
"""
import json
from pathlib import Path

import typer
from wasabi import msg

from medner.bench.linker import benchmark_linker
from medner.bench.pipelines import BenchmarkError


def main(
    kb_dir: Path = typer.Argument(..., exists=True, file_okay=False),
    pipeline: Path = typer.Argument(..., exists=True, file_okay=False, help="NER pipeline with the linker (scripts/add_linker.py)"),
    output: Path = typer.Argument(...),
    corpus: Path = typer.Option(Path("corpus/bc5cdr/test.spacy"), exists=True, dir_okay=False),
    threads: int = typer.Option(2),
    runs: int = typer.Option(3, help="Fresh worker processes per pipeline; the fastest is reported"),
):
    try:
        result = benchmark_linker(kb_dir, pipeline, corpus, threads=threads, runs=runs)
    except BenchmarkError as err:
        msg.fail(str(err), exits=1)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf8")
    linker_only, full = result["linker_only"], result["ner_and_linker"]
    msg.good(f"KB {result['kb_size_mb']} MB, built in {result['kb_build_seconds']} s; linker-only load "
             f"{linker_only['load_seconds']} s, {linker_only['mentions_per_second']} mentions/s, "
             f"peak RSS {linker_only['peak_rss_mb']} MB; NER+linker load {full['load_seconds']} s, "
             f"peak RSS {full['peak_rss_mb']} MB")


if __name__ == "__main__":
    typer.run(main)

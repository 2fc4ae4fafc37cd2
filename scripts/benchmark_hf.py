"""Speed and memory of one HF token classifier run four ways on the same texts (medner.bench.hf has the details).

    python scripts/benchmark_hf.py MODEL_DIR metrics/benchmark_hf.json \\
        --gold corpus/bc5cdr/test.spacy --n-docs 300 --long-docs 3 [--combined PIPELINE_DIR]
"""
import json
import os
import sys
from pathlib import Path
from typing import Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import typer  # noqa: E402

from medner.bench.hf import benchmark, summary_lines  # noqa: E402


def main(
    model_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="HF token classifier directory"),
    output: Path = typer.Argument(..., help="JSON file to write"),
    gold: Path = typer.Option(Path("corpus/bc5cdr/test.spacy"), "--gold", exists=True, dir_okay=False,
                              help="DocBin whose texts are used"),
    n_docs: int = typer.Option(300, "--n-docs", help="Number of documents of --gold"),
    long_docs: int = typer.Option(3, "--long-docs", help="Number of very long concatenated documents"),
    long_chars: int = typer.Option(50_000, "--long-chars", help="Minimum characters per long document"),
    combined: Optional[Path] = typer.Option(None, "--combined", exists=True, file_okay=False,
                                            help="Saved combined pipeline (spacy.load)"),
    threads: int = typer.Option(0, "--threads", help="torch threads per system (0: all available cores)"),
    batch_size: int = typer.Option(16, "--batch-size", help="Windows/chunks per forward pass (all systems)"),
    stride: int = typer.Option(128, "--stride", help="Overlap in word pieces between windows (all systems)"),
    warmup: int = typer.Option(5, "--warmup", help="Texts processed before timing"),
    systems: str = typer.Option("raw,hf_token_pipe,medner,combined", "--systems", help="Comma-separated subset"),
    profile: str = typer.Option("auto", "--profile", help="auto (if the target is missed) | always | never"),
    timeout: float = typer.Option(3600.0, "--timeout", help="Seconds per system subprocess"),
):
    """Time raw transformers / hf_token_pipe / medner (/ combined) on the same texts."""
    if profile not in ("auto", "always", "never"):
        raise typer.BadParameter("--profile must be auto, always or never")
    command = " ".join(["python", *sys.argv])
    report = benchmark(model_dir, output, gold, n_docs, long_docs, long_chars, combined, threads, batch_size,
                       stride, warmup, systems, profile, timeout, command)
    typer.echo("\n".join(summary_lines(report)))
    typer.echo(json.dumps(report["comparison"], indent=2))
    typer.echo(report["contention_note"])
    typer.echo(f"Wrote {output}")


if __name__ == "__main__":
    typer.run(main)

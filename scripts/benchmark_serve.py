"""Load test of `medner serve` on loopback against `medner annotate` on the same texts (medner.bench.serve).

    python scripts/benchmark_serve.py --model training/release/clinical \
        --corpus corpus/maccrobat/test.spacy --n-docs 0 --output metrics/benchmark_serve.json
"""
from pathlib import Path

import typer

from medner.bench.serve import benchmark_serve

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    model: str = typer.Option(..., "--model", "-m", help="Pipeline (short name, package or directory) for both the CLI and the service."),
    corpus: Path = typer.Option(Path("corpus/bc5cdr/test.spacy"), "--corpus", exists=True, help="DocBin whose texts are annotated."),
    n_docs: int = typer.Option(300, "--n-docs", help="Texts for the throughput comparison."),
    clients: int = typer.Option(8, "--clients", help="Concurrent clients for the throughput runs."),
    request_docs: int = typer.Option(16, "--request-docs", help="Documents per request in the batched throughput run."),
    concurrency: str = typer.Option("1,8,32", "--concurrency", help="Client counts for the latency runs."),
    requests: int = typer.Option(400, "--requests", help="Single-sentence requests per latency level."),
    rounds: int = typer.Option(2, "--rounds", min=1, help="Repeat the throughput and latency runs; RSS is taken after each round."),
    batch_size: int = typer.Option(64, "--batch-size", help="medner annotate --batch-size and medner serve --batch-docs."),
    timeout_s: float = typer.Option(60.0, "--timeout", help="Seconds per request."),
    max_seconds: float = typer.Option(900.0, "--max-seconds", help="Stop sending after this long in all."),
    output: Path = typer.Option(Path("metrics/benchmark_serve.json"), "--output", "-o"),
) -> None:
    return benchmark_serve(model, corpus, n_docs, clients, request_docs, concurrency, requests, rounds, batch_size, timeout_s, max_seconds, output)


if __name__ == "__main__":
    app()

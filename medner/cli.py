"""The ``medner`` command line (``medner = "medner.cli:app"`` in pyproject.toml)."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from .annotate.long_text import DEFAULT_MAX_BATCH_CHARS, DEFAULT_MAX_CHARS

app = typer.Typer(
    name="medner",
    help="Medical named-entity recognition with spaCy: annotate clinical notes and biomedical text.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """medner command line."""
    # A callback keeps `medner annotate` a subcommand while it is the only one.


class InputFormat(str, Enum):
    auto = "auto"
    txt = "txt"
    jsonl = "jsonl"
    parquet = "parquet"


class OutputFormat(str, Enum):
    jsonl = "jsonl"
    parquet = "parquet"


@app.command()
def annotate(
    input_path: Path = typer.Argument(
        ..., exists=True, help="A .txt file, a directory of .txt files, a JSONL file ({'id', 'text'} per line) or a Parquet file with a 'text' column."
    ),
    output: Path = typer.Argument(
        ..., help="Output JSONL file (single process) or output directory of part-*.jsonl/.parquet files (--dask)."
    ),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="Pipeline: a shipped short name (clinical, bc5cdr, ncbi; default: clinical), an installed pipeline package or a pipeline directory."
    ),
    batch_size: int = typer.Option(64, "--batch-size", "-b", min=1, help="Documents per nlp.pipe batch."),
    n_process: int = typer.Option(1, "--n-process", "-n", min=1, help="spaCy worker processes (single-machine path)."),
    max_chars: int = typer.Option(
        DEFAULT_MAX_CHARS, "--max-chars", min=0, help="Annotate documents longer than this in chunks of at most this many characters, cut at paragraph/line/sentence breaks, and rejoin them (bounded memory); 0: whole documents."
    ),
    max_batch_chars: int = typer.Option(
        DEFAULT_MAX_BATCH_CHARS, "--max-batch-chars", min=0, help="Also cut nlp.pipe batches at this many characters (0: by --batch-size only)."
    ),
    errors: Optional[Path] = typer.Option(
        None, "--errors", help="Error file (JSONL: source, line, id, reason, detail). Default: <output>.errors.jsonl, or errors.jsonl in the --dask output directory."
    ),
    html: Optional[Path] = typer.Option(
        None, "--html", help="displaCy HTML: one page for small runs, else a directory with one file per document and index.html."
    ),
    html_page_limit: int = typer.Option(100, "--html-page-limit", help="Largest run rendered as a single HTML page."),
    summary_path: Optional[Path] = typer.Option(None, "--summary", help="Also write the summary as JSON here."),
    limit: Optional[int] = typer.Option(None, "--limit", min=0, help="Annotate at most this many new documents, then stop (rerun to continue)."),
    include_text: bool = typer.Option(False, "--include-text/--no-include-text", help="Copy the input text into each record."),
    input_format: InputFormat = typer.Option(InputFormat.auto, "--input-format", help="Input format; 'auto' decides by suffix."),
    text_field: str = typer.Option("text", "--text-field", help="Text field of JSONL/Parquet records."),
    id_field: str = typer.Option("id", "--id-field", help="Id field of JSONL/Parquet records."),
    spans_key: str = typer.Option("medner", "--spans-key", help="Span group written by the merge component (else doc.ents)."),
    restart: bool = typer.Option(False, "--restart", help="Delete the existing output instead of resuming (single process)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    dask: Optional[str] = typer.Option(
        None, "--dask", help="Run on Dask: a scheduler address (tcp://host:8786) or 'local' for a LocalCluster on this machine."
    ),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Worker processes of --dask local (one thread each)."),
    partition_size: int = typer.Option(1000, "--partition-size", min=1, help="Documents per Dask partition."),
    output_format: OutputFormat = typer.Option(OutputFormat.jsonl, "--format", help="Part file format with --dask."),
    print_entities: bool = typer.Option(False, "--print", help="Also print each document's entities as a table (single process)."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to run on (spacy.require_gpu; needs cupy); -1: CPU."),
    candidates: int = typer.Option(0, "--candidates", min=0, help="With a linking pipeline (medner_linker): add each entity's top N concept candidates with scores (kb_id is always written)."),
    labels: Optional[str] = typer.Option(
        None, "--labels", "-l", help="Keep only these entity labels, comma-separated (e.g. MEDICATION,DISEASE); the summary counts the others. Default: all."
    ),
) -> None:
    """Annotate documents and write one JSONL record per document with its entities."""
    from wasabi import Printer

    from .annotate import (
        AnnotateOptions, DaskOptions, UnknownLabel, annotate_file, default_errors_path, load_pipeline, print_summary,
    )
    from .annotate.outputs import SettingsChanged
    from .annotate.pipelines import PipelineNotFound, resolve

    msg = Printer()
    options = AnnotateOptions(
        input_format=None if input_format == InputFormat.auto else input_format.value,
        text_field=text_field, id_field=id_field, batch_size=batch_size, max_chars=max_chars,
        max_batch_chars=max_batch_chars, gpu_id=gpu_id, include_text=include_text, spans_key=spans_key,
        n_process=n_process, limit=limit, errors_path=errors, html=html, html_page_limit=html_page_limit,
        resume=not restart, progress=progress, candidates=candidates, labels=tuple((labels or "").split(",")),
    )
    try:
        model = resolve(model)
    except PipelineNotFound as error:
        msg.fail(str(error), exits=1)
    if dask is not None:
        from .annotate.dask import annotate_dask

        if html is not None or n_process != 1 or limit is not None or errors is not None:
            msg.warn("--html, --n-process, --limit and --errors apply to the single-process path; ignored with --dask")
        dask_options = DaskOptions(
            scheduler=dask, workers=workers, partition_size=partition_size, output_format=output_format.value
        )
        try:
            summary, parts = annotate_dask(input_path, output, model, options, dask_options)
        except UnknownLabel as error:
            msg.fail(f"--labels: {error}", exits=1)
        except ValueError as error:  # e.g. resuming an output written with other settings
            msg.fail(str(error), exits=1)
        msg.good(f"Wrote {len(parts)} new partition(s) to {output}")
        errors_file = output / "errors.jsonl"
    else:
        if output.is_dir():
            msg.fail(f"{output} is a directory; the single-process path writes one JSONL file", exits=1)
        if output_format != OutputFormat.jsonl:
            msg.warn("--format parquet needs --dask; writing JSONL")
        msg.info(f"Loading {model}")
        try:
            nlp = load_pipeline(model, gpu_id=gpu_id, labels=options.labels)
        except UnknownLabel as error:
            msg.fail(f"--labels: {error}", exits=1)
        except ValueError as error:  # spacy.require_gpu: no GPU or no cupy; a broken pipeline file (e.g. a KB)
            msg.fail(f"--gpu-id {gpu_id}: {error}" if gpu_id >= 0 else str(error), exits=1)
        msg.good(f"Loaded {model}: {', '.join(nlp.pipe_names) or '(no components)'}")
        try:
            summary = annotate_file(input_path, output, nlp, options)
        except (SettingsChanged, UnknownLabel) as error:  # resuming an output written with other --labels, ...
            msg.fail(str(error), exits=1)
        errors_file = errors or default_errors_path(output)
        msg.good(f"Wrote {summary.documents} record(s) to {output}")
        if print_entities:
            print_records(output, msg)
    data = summary.to_dict()
    print_summary(data, msg)
    if summary.errors:
        msg.warn(f"{summary.errors} bad record(s), see {errors_file}")
    if summary_path is not None:
        summary_path.parent.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def print_records(output: Path, msg) -> None:
    """Every record of ``output`` as a table of its entities (for people; the file is for programs)."""
    from .annotate import read_records

    columns = [("start", "r"), ("end", "r"), ("text", "l"), ("label", "l"), ("score", "r"), ("assertion", "l"),
               ("kb_id", "l")]
    for record in read_records(output):
        entities = record["entities"]
        # optional fields (score, assertion, kb_id) only where the pipeline gives them
        shown = [(name, align) for name, align in columns if any(e.get(name) is not None for e in entities)
                 or name in ("start", "end", "text", "label")]
        rows = [tuple("" if e.get(name) is None else f"{e[name]:.2f}" if name == "score" else e[name]
                      for name, _ in shown) for e in entities]
        msg.divider(f"{record['id']}: {len(rows)} entities")
        if rows:
            msg.table(rows, header=[name for name, _ in shown], aligns=[align for _, align in shown])


@app.command()
def serve(
    model: Optional[List[str]] = typer.Option(
        None, "--model", "-m", help="Pipeline to serve, as for `medner annotate --model` (default: the shipped default, clinical); repeat to serve several (the first is the default)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", "-p", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Worker processes; each loads the pipelines once."),
    max_body_bytes: int = typer.Option(5_000_000, "--max-body-bytes", min=1, help="Largest request body (413 above)."),
    max_text_chars: int = typer.Option(1_000_000, "--max-text-chars", min=1, help="Most characters per text (413 above)."),
    max_texts: int = typer.Option(256, "--max-texts", min=1, help="Most texts per request (413 above)."),
    request_timeout: float = typer.Option(60.0, "--request-timeout", help="Seconds a request may take (504 after)."),
    batch_docs: int = typer.Option(64, "--batch-docs", min=1, help="Most documents of concurrent requests in one nlp.pipe call."),
    batch_wait_ms: float = typer.Option(5.0, "--batch-wait-ms", min=0, help="Longest wait for more documents before a batch that is not full runs."),
    max_chars: int = typer.Option(DEFAULT_MAX_CHARS, "--max-chars", min=0, help="Annotate texts longer than this in chunks, as `medner annotate --max-chars`."),
    max_batch_chars: int = typer.Option(DEFAULT_MAX_BATCH_CHARS, "--max-batch-chars", min=0, help="Also cut nlp.pipe batches at this many characters."),
    spans_key: str = typer.Option("medner", "--spans-key", help="Span group written by the merge component (else doc.ents)."),
    graceful_timeout: float = typer.Option(30.0, "--graceful-timeout", help="On SIGTERM/SIGINT, seconds to finish in-flight requests."),
    keep_alive: float = typer.Option(30.0, "--keep-alive", help="Seconds an idle keep-alive connection stays open."),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log", help="One JSON line per request on stderr."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    labels: Optional[str] = typer.Option(
        None, "--labels", "-l", help="Entity labels a request without 'labels' gets, comma-separated (each pipeline: those it has); the page checks them first. Default: all."
    ),
) -> None:
    """Serve pipelines over HTTP: POST /annotate, GET /health, GET /info, and a page at /."""
    from wasabi import Printer

    msg = Printer()
    try:
        from .serve.app import serve as run_service
        from .serve.options import ServeOptions
    except ImportError as e:
        msg.fail(f"medner serve needs the 'serve' extra ({e.name} is missing): pip install 'medner[serve]'", exits=1)
    options = ServeOptions(
        models=list(model or []), host=host, port=port, workers=workers, max_body_bytes=max_body_bytes,
        max_text_chars=max_text_chars, max_texts=max_texts, request_timeout_s=request_timeout, batch_docs=batch_docs,
        batch_wait_ms=batch_wait_ms, max_chars=max_chars, max_batch_chars=max_batch_chars, spans_key=spans_key,
        graceful_timeout_s=graceful_timeout, keep_alive_s=keep_alive, access_log=access_log, log_level=log_level,
        labels=[label.strip() for label in (labels or "").split(",") if label.strip()],
    )
    try:
        run_service(options)
    except ValueError as e:
        msg.fail(str(e), exits=1)


@app.command()
def battery(
    models: List[str] = typer.Argument(..., help="Pipelines: shipped short names, installed packages or directories."),
    output: Path = typer.Option(Path("reports/battery.json"), "--output", "-o", help="JSON report."),
    long_chars: int = typer.Option(1_000_000, "--long-chars", min=0, help="Length of the long document (0: leave it out)."),
    no_space_chars: int = typer.Option(100_000, "--no-space-chars", min=1, help="Length of the lines without spaces."),
    multiprocess: bool = typer.Option(True, "--multiprocess/--no-multiprocess", help="Also compare nlp.pipe(n_process=2) with one process."),
    chunked_max_chars: int = typer.Option(
        50_000, "--chunked-max-chars", min=0, help="Also run every case through medner.annotate.long_text.pipe_chunked with this --max-chars (0: skip)."
    ),
) -> None:
    """Run the bad-input battery (awkward texts, every check) over pipelines; exit 1 if anything failed."""
    import os

    from wasabi import Printer

    from .bench.battery import battery_for_pipeline, battery_report, print_pipeline_result

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    msg = Printer()
    results = []
    for model in models:
        msg.divider(model)
        try:
            entry = battery_for_pipeline(
                model, long_chars=long_chars, no_space_chars=no_space_chars, multiprocess=multiprocess,
                chunked_max_chars=chunked_max_chars,
            )
        except ImportError as error:  # psutil, from the bench extra
            msg.fail(str(error), exits=1)
        results.append(entry)
        print_pipeline_result(entry, msg)
    report = battery_report(results)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, ensure_ascii=True) + "\n", encoding="utf8")
    (msg.good if report["ok"] else msg.fail)(f"battery {'passed' if report['ok'] else 'FAILED'}: {output}")
    raise typer.Exit(0 if report["ok"] else 1)


if __name__ == "__main__":  # pragma: no cover
    app()

"""Scale ``medner annotate`` out with Dask (``medner annotate --dask ADDRESS``).

The input is cut into deterministic partitions (line ranges of JSONL files,
row ranges of Parquet files, lists of ``.txt`` files) that become a
``dask.bag``; every partition is read *on the worker*, annotated with the same
:func:`medner.annotate.annotate_items` / :func:`medner.annotate.doc_to_record`
as the single-process path, and written to ``OUTPUT_DIR/part-00000.jsonl``
(or ``.parquet``). Each worker process loads the pipeline once and keeps it in
a module-level cache.

Output directory layout::

    OUTPUT_DIR/
      _manifest.json          # input, model, partition plan (checked on resume)
      part-00000.jsonl        # records (written to a temp file, renamed when complete)
      ...
      _errors/part-00000.jsonl, _summaries/part-00000.json   # per partition
      errors.jsonl            # all bad records, concatenated in partition order
      summary.json            # totals of the whole output + this run's timing

Rerunning the same command skips partitions whose ``part-*`` file exists, so
an interrupted run resumes at partition granularity. Workers must see the
input files and the pipeline at the same paths (shared filesystem, pipeline
package installed in every worker environment).
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from .annotate import (
    BadRecord,
    Item,
    ReadResult,
    SPANS_KEY,
    Summary,
    annotate_items,
    detect_format,
    doc_to_record,
    dumps_record,
    id_key,
    input_files,
    iter_jsonl,
    iter_parquet,
    load_pipeline,
    read_txt_file,
)
from .long_text import DEFAULT_MAX_BATCH_CHARS, DEFAULT_MAX_CHARS

DEFAULT_PARTITION_SIZE = 1000
MANIFEST = "_manifest.json"

# --------------------------------------------------------------------------- #
# Worker-side pipeline cache: one load per worker process.
# --------------------------------------------------------------------------- #
_PIPELINES: Dict[str, Any] = {}
_LOCK = threading.Lock()


def get_pipeline(model: str) -> Tuple[Any, bool]:
    """The cached pipeline for ``model`` in this process and whether this call loaded it."""
    with _LOCK:
        if model in _PIPELINES:
            return _PIPELINES[model], False
        nlp = load_pipeline(model)
        _PIPELINES[model] = nlp
        return nlp, True


def _preload(model: str) -> bool:
    return get_pipeline(model)[1]


def preload_pipeline(client, model: Union[str, Path]) -> Dict[str, bool]:
    """Load the pipeline on every worker now (worker address -> loaded by this call)."""
    return client.run(_preload, resolve_model(model))


# --------------------------------------------------------------------------- #
# Partition plan
# --------------------------------------------------------------------------- #
def plan_partitions(
    input_path: Union[str, Path], fmt: Optional[str] = None, partition_size: int = DEFAULT_PARTITION_SIZE
) -> List[Dict[str, Any]]:
    """Cut the input into partitions of at most ``partition_size`` records.

    Partitions never span files. For JSONL the file is scanned once for line
    offsets (no JSON parsing), so each worker reads only its byte range.
    """
    if partition_size < 1:
        raise ValueError("partition_size must be >= 1")
    input_path = Path(input_path).resolve()
    fmt = fmt or detect_format(input_path)
    files = input_files(input_path, fmt)
    plan: List[Dict[str, Any]] = []
    if fmt == "txt":
        for i in range(0, len(files), partition_size):
            chunk = files[i : i + partition_size]
            plan.append({"format": "txt", "root": str(input_path), "files": [str(f) for f in chunk], "n": len(chunk)})
    elif fmt == "jsonl":
        for file in files:
            start, first_line, n, pos, lineno = 0, 1, 0, 0, 0
            with open(file, "rb") as f:
                for raw in f:
                    if n == partition_size and raw.strip():
                        plan.append({"format": "jsonl", "file": str(file), "start": start, "end": pos, "first_line": first_line, "n": n})
                        start, first_line, n = pos, lineno + 1, 0
                    lineno += 1
                    pos += len(raw)
                    if raw.strip():
                        n += 1
            if n:
                plan.append({"format": "jsonl", "file": str(file), "start": start, "end": pos, "first_line": first_line, "n": n})
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        for file in files:
            rows = pq.ParquetFile(file).metadata.num_rows
            for lo in range(0, rows, partition_size):
                hi = min(lo + partition_size, rows)
                plan.append({"format": "parquet", "file": str(file), "row_start": lo, "row_stop": hi, "n": hi - lo})
    else:
        raise ValueError(f"Unknown input format: {fmt}")
    return plan


def read_partition(spec: Dict[str, Any], *, text_field: str = "text", id_field: str = "id") -> Iterator[ReadResult]:
    fmt = spec["format"]
    if fmt == "txt":
        root = Path(spec["root"])
        for file in spec["files"]:
            yield read_txt_file(Path(file), root)
    elif fmt == "jsonl":
        yield from iter_jsonl(
            spec["file"], spec["start"], spec["end"], spec["first_line"], text_field=text_field, id_field=id_field
        )
    elif fmt == "parquet":
        yield from iter_parquet(
            spec["file"], spec["row_start"], spec["row_stop"], text_field=text_field, id_field=id_field
        )
    else:
        raise ValueError(f"Unknown partition format: {fmt}")


def part_name(index: int, output_format: str) -> str:
    return f"part-{index:05d}.{output_format}"


# --------------------------------------------------------------------------- #
# Worker task
# --------------------------------------------------------------------------- #
def _entities_type():
    import pyarrow as pa

    return pa.list_(
        pa.struct(
            [
                ("start", pa.int64()),
                ("end", pa.int64()),
                ("text", pa.string()),
                ("label", pa.string()),
                ("source", pa.string()),
                ("score", pa.float64()),
            ]
        )
    )


def write_parquet(records: List[Dict[str, Any]], path: Union[str, Path]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rest = [{k: v for k, v in r.items() if k != "entities"} for r in records]
    try:
        table = pa.Table.from_pylist(rest) if rest else pa.table({"id": pa.array([], pa.string())})
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise ValueError(f"Records can't be stored as Parquet ({e}); use --format jsonl") from e
    table = table.append_column("entities", pa.array([r["entities"] for r in records], type=_entities_type()))
    pq.write_table(table, str(path))


def run_partition(
    index: int,
    spec: Dict[str, Any],
    *,
    model: str,
    output_dir: str,
    output_format: str = "jsonl",
    batch_size: int = 64,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_batch_chars: int = DEFAULT_MAX_BATCH_CHARS,
    include_text: bool = False,
    text_field: str = "text",
    id_field: str = "id",
    spans_key: str = SPANS_KEY,
) -> Dict[str, Any]:
    """Annotate one partition and write its part file; returns its summary."""
    start = time.perf_counter()
    out_dir = Path(output_dir)
    nlp, loaded = get_pipeline(model)
    summary = Summary()
    errors: List[BadRecord] = []
    records: List[Dict[str, Any]] = []
    seen = set()

    def on_error(bad: BadRecord) -> None:
        summary.add_error(bad)
        errors.append(bad)

    def items() -> Iterator[ReadResult]:
        for result in read_partition(spec, text_field=text_field, id_field=id_field):
            if isinstance(result, Item):
                key = id_key(result.id)
                if key in seen:
                    result = BadRecord(result.source, result.line, "duplicate_id", "id already seen in this input", result.id)
                seen.add(key)
            yield result

    final = out_dir / part_name(index, output_format)
    tmp = out_dir / f".{final.name}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") if output_format == "jsonl" else _NullFile() as out:
        for item, doc in annotate_items(
            nlp, items(), on_error=on_error, batch_size=batch_size, max_chars=max_chars, max_batch_chars=max_batch_chars
        ):
            record = doc_to_record(doc, item, include_text=include_text, spans_key=spans_key)
            summary.add_doc(doc, record)
            if output_format == "jsonl":
                out.write(dumps_record(record))
            else:
                records.append(record)
    if output_format == "parquet":
        write_parquet(records, tmp)
    summary.seconds = time.perf_counter() - start
    result = summary.to_dict()
    result.update(
        {"partition": index, "worker": f"{socket.gethostname()}:{os.getpid()}", "loaded_model": loaded}
    )
    (out_dir / "_errors").mkdir(exist_ok=True)
    (out_dir / "_summaries").mkdir(exist_ok=True)
    with open(out_dir / "_errors" / f"part-{index:05d}.jsonl", "w", encoding="utf-8") as f:
        for bad in errors:
            f.write(dumps_record(bad.to_json()))
    (out_dir / "_summaries" / f"part-{index:05d}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    os.replace(tmp, final)  # the part file appears only once complete
    return result


class _NullFile:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _run_partition_task(pair: Tuple[int, Dict[str, Any]], kwargs: Dict[str, Any]) -> Dict[str, Any]:
    index, spec = pair
    return run_partition(index, spec, **kwargs)


# --------------------------------------------------------------------------- #
# Client side
# --------------------------------------------------------------------------- #
def resolve_model(model: Optional[Union[str, Path]]) -> str:
    """What every worker loads: an absolute directory or an installed package name
    (short names and the default resolved here, once, by :mod:`medner.pipelines`)."""
    from .pipelines import resolve

    return resolve(model)


def start_client(scheduler: str = "local", workers: int = 2):
    """A ``distributed.Client``: a new LocalCluster (``"local"``) or a scheduler address."""
    from distributed import Client, LocalCluster

    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        return Client(cluster), cluster
    return Client(scheduler), None


def annotate_dask(
    input_path: Union[str, Path],
    output_dir: Union[str, Path],
    model: Union[str, Path],
    *,
    scheduler: str = "local",
    workers: int = 2,
    client=None,
    partition_size: int = DEFAULT_PARTITION_SIZE,
    output_format: str = "jsonl",
    batch_size: int = 64,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_batch_chars: int = DEFAULT_MAX_BATCH_CHARS,
    include_text: bool = False,
    input_format: Optional[str] = None,
    text_field: str = "text",
    id_field: str = "id",
    spans_key: str = SPANS_KEY,
    limit_partitions: Optional[int] = None,
    progress: bool = True,
) -> Tuple[Summary, List[Dict[str, Any]]]:
    """Annotate ``input_path`` on a Dask cluster into ``output_dir``.

    Returns the summary of this run (``skipped`` = documents of partitions
    already done) and the per-partition results of this run.
    ``limit_partitions`` stops after that many new partitions (for tests and
    dry runs).
    """
    import dask.bag as db
    from distributed import as_completed
    from tqdm import tqdm

    start_time = time.perf_counter()
    if output_format not in {"jsonl", "parquet"}:
        raise ValueError("output_format must be 'jsonl' or 'parquet'")
    out_dir = Path(output_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    model = resolve_model(model)
    plan = plan_partitions(input_path, input_format, partition_size)
    manifest = {
        "input": str(Path(input_path).resolve()),
        "model": model,
        "output_format": output_format,
        "partition_size": partition_size,
        "include_text": include_text,
        "max_chars": max_chars,
        "partitions": plan,
    }
    manifest_path = out_dir / MANIFEST
    if manifest_path.exists():
        previous = json.loads(manifest_path.read_text(encoding="utf-8"))
        if previous != manifest:
            raise ValueError(
                f"{out_dir} holds the output of a different run (input, model, format or partitioning "
                f"changed); use a new output directory or delete it"
            )
    else:
        manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")

    summary = Summary()
    todo = []
    for i, spec in enumerate(plan):
        if (out_dir / part_name(i, output_format)).exists():
            done = out_dir / "_summaries" / f"part-{i:05d}.json"
            summary.skipped += json.loads(done.read_text())["documents"] if done.exists() else spec["n"]
        else:
            todo.append((i, spec))
    if limit_partitions is not None:
        todo = todo[:limit_partitions]

    results: List[Dict[str, Any]] = []
    if todo:
        own_client = own_cluster = None
        if client is None:
            client, own_cluster = start_client(scheduler, workers)
            own_client = client
        kwargs = dict(
            model=model,
            output_dir=str(out_dir),
            output_format=output_format,
            batch_size=batch_size,
            max_chars=max_chars,
            max_batch_chars=max_batch_chars,
            include_text=include_text,
            text_field=text_field,
            id_field=id_field,
            spans_key=spans_key,
        )
        try:
            bag = db.from_sequence(todo, npartitions=len(todo)).map(_run_partition_task, kwargs)
            futures = client.compute(bag.to_delayed())
            bar = tqdm(total=sum(s["n"] for _, s in todo), unit="doc", disable=not progress, desc="annotate (dask)")
            try:
                for future in as_completed(futures):
                    for part in future.result():
                        results.append(part)
                        summary.merge(Summary.from_dict(part))
                        bar.update(part["documents"] + part["errors"])
                        elapsed = time.perf_counter() - start_time
                        bar.set_postfix(words_s=f"{summary.words / elapsed:,.0f}", errors=summary.errors, refresh=False)
            finally:
                bar.close()
        finally:
            if own_client is not None:
                own_client.close()
            if own_cluster is not None:
                own_cluster.close()
    summary.seconds = time.perf_counter() - start_time
    results.sort(key=lambda r: r["partition"])
    _write_totals(out_dir, plan, output_format, summary)
    return summary, results


def _write_totals(out_dir: Path, plan: List[Dict[str, Any]], output_format: str, run: Summary) -> None:
    """``errors.jsonl`` (all partitions) and ``summary.json`` (whole output + this run)."""
    total = Summary()
    complete = 0
    with open(out_dir / "errors.jsonl", "w", encoding="utf-8") as errors:
        for i in range(len(plan)):
            if not (out_dir / part_name(i, output_format)).exists():
                continue
            complete += 1
            part_summary = out_dir / "_summaries" / f"part-{i:05d}.json"
            if part_summary.exists():
                total.merge(Summary.from_dict(json.loads(part_summary.read_text(encoding="utf-8"))))
            part_errors = out_dir / "_errors" / f"part-{i:05d}.jsonl"
            if part_errors.exists():
                errors.write(part_errors.read_text(encoding="utf-8"))
    total.skipped = 0
    data = {
        "output": total.to_dict(),
        "partitions": len(plan),
        "partitions_complete": complete,
        "this_run": run.to_dict(),
    }
    data["output"].pop("seconds")
    for key in ("documents_per_second", "words_per_second", "skipped_already_done"):
        data["output"].pop(key)
    (out_dir / "summary.json").write_text(json.dumps(data, indent=2), encoding="utf-8")

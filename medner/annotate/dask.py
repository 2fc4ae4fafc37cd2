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
      errors.jsonl            # all bad records in partition order (only if there are any)
      summary.json            # totals of the whole output + this run's timing

Ids: as on the single-process path, the first occurrence of an id in input
order wins and later ones become ``duplicate_id`` errors, across partitions
too: before annotating, the workers read every partition's ids and the
client decides, in partition order, which lines are duplicates.

Rerunning the same command skips partitions whose ``part-*`` file exists, so
an interrupted run resumes at partition granularity. The manifest keeps the
input, the model, the partitioning and every setting that decides the
records (:data:`medner.annotate.options.RECORD_SETTINGS`); resuming with a
different one is refused, naming it. Workers must see the
input files and the pipeline at the same paths (shared filesystem, pipeline
package installed in every worker environment).
"""
from __future__ import annotations

import dataclasses
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from . import AnnotateOptions, DaskOptions, Summary, annotate_items, doc_to_record, dumps_record, inputs, load_pipeline
from .options import DEFAULT_PARTITION_SIZE

MANIFEST = "_manifest.json"

# --------------------------------------------------------------------------- #
# Worker-side pipeline cache: one load per worker process.
# --------------------------------------------------------------------------- #
_PIPELINES: Dict[str, Any] = {}
_LOCK = threading.Lock()


def get_pipeline(model: str, gpu_id: int = -1, labels: Tuple[str, ...] = ()) -> Tuple[Any, bool]:
    """The cached pipeline for ``model`` (entities filtered to ``labels``) in this process and whether this call loaded it."""
    key = (model, gpu_id, tuple(labels))
    with _LOCK:
        if key in _PIPELINES:
            return _PIPELINES[key], False
        nlp = load_pipeline(model, gpu_id=gpu_id, labels=labels)
        _PIPELINES[key] = nlp
        return nlp, True


def _preload(model: str, gpu_id: int = -1) -> bool:
    return get_pipeline(model, gpu_id)[1]


def preload_pipeline(client, model: Union[str, Path], gpu_id: int = -1) -> Dict[str, bool]:
    """Load the pipeline on every worker now (worker address -> loaded by this call)."""
    return client.run(_preload, resolve_model(model), gpu_id)


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
    fmt = fmt or inputs.detect_format(input_path)
    files = inputs.input_files(input_path, fmt)
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


def read_partition(spec: Dict[str, Any], *, text_field: str = "text", id_field: str = "id") -> Iterator[inputs.ReadResult]:
    fmt = spec["format"]
    if fmt == "txt":
        root = Path(spec["root"])
        for file in spec["files"]:
            yield inputs.read_txt_file(Path(file), root)
    elif fmt == "jsonl":
        yield from inputs.iter_jsonl(
            spec["file"], spec["start"], spec["end"], spec["first_line"], text_field=text_field, id_field=id_field
        )
    elif fmt == "parquet":
        yield from inputs.iter_parquet(
            spec["file"], spec["row_start"], spec["row_stop"], text_field=text_field, id_field=id_field
        )
    else:
        raise ValueError(f"Unknown partition format: {fmt}")


def part_name(index: int, output_format: str) -> str:
    return f"part-{index:05d}.{output_format}"


def partition_ids(spec: Dict[str, Any], text_field: str = "text", id_field: str = "id") -> List[Tuple[int, str]]:
    """``(line, id key)`` of every document of a partition (bad records have no id to claim)."""
    return [
        (result.line, inputs.id_key(result.id))
        for result in read_partition(spec, text_field=text_field, id_field=id_field)
        if isinstance(result, inputs.Item)
    ]


def duplicate_lines(ids_per_partition: List[List[Tuple[int, str]]]) -> Dict[int, List[int]]:
    """Partition index -> lines whose id an earlier document (in input order) already has."""
    seen: set = set()
    duplicates: Dict[int, List[int]] = {}
    for index, ids in enumerate(ids_per_partition):
        for line, key in ids:
            if key in seen:
                duplicates.setdefault(index, []).append(line)
            else:
                seen.add(key)
    return duplicates


def find_duplicates(client, plan: List[Dict[str, Any]], options: AnnotateOptions) -> Dict[int, List[int]]:
    """Read every partition's ids on the workers; the duplicates, decided in partition order.

    Text-file ids are paths relative to the input directory, unique by construction.
    """
    if not plan or plan[0]["format"] == "txt":
        return {}
    futures = client.map(
        partition_ids, plan, text_field=options.text_field, id_field=options.id_field, pure=False
    )
    return duplicate_lines(client.gather(futures))


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
    options: AnnotateOptions,
    output_format: str = "jsonl",
    duplicates: Iterable[int] = (),
) -> Dict[str, Any]:
    """Annotate one partition and write its part file; returns its summary.

    ``duplicates``: lines of this partition whose id an earlier document has
    (:func:`find_duplicates`); they become ``duplicate_id`` errors.
    """
    start = time.perf_counter()
    out_dir = Path(output_dir)
    nlp, loaded = get_pipeline(model, options.gpu_id, options.labels)
    summary = Summary()
    errors: List[inputs.BadRecord] = []
    records: List[Dict[str, Any]] = []
    duplicate_set = set(duplicates)

    def on_error(bad: inputs.BadRecord) -> None:
        summary.add_error(bad)
        errors.append(bad)

    def items() -> Iterator[inputs.ReadResult]:
        for result in read_partition(spec, text_field=options.text_field, id_field=options.id_field):
            if isinstance(result, inputs.Item) and result.line in duplicate_set:
                result = inputs.duplicate_id(result)
            yield result

    final = out_dir / part_name(index, output_format)
    tmp = out_dir / f".{final.name}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") if output_format == "jsonl" else _NullFile() as out:
        for item, doc in annotate_items(
            nlp, items(), on_error=on_error, batch_size=options.batch_size, max_chars=options.max_chars,
            max_batch_chars=options.max_batch_chars,
        ):
            record = doc_to_record(doc, item, include_text=options.include_text, spans_key=options.spans_key,
                                   candidates=options.candidates)
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


def _run_partition_task(task: Tuple[int, Dict[str, Any], List[int]], kwargs: Dict[str, Any]) -> Dict[str, Any]:
    index, spec, duplicates = task
    return run_partition(index, spec, duplicates=duplicates, **kwargs)


# --------------------------------------------------------------------------- #
# Client side
# --------------------------------------------------------------------------- #
def resolve_model(model: Optional[Union[str, Path]]) -> str:
    """What every worker loads: an absolute directory or an installed package name
    (short names and the default resolved here, once, by :mod:`medner.annotate.pipelines`)."""
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
    options: Optional[AnnotateOptions] = None,
    dask_options: Optional[DaskOptions] = None,
    *,
    client=None,
    **overrides: Any,
) -> Tuple[Summary, List[Dict[str, Any]]]:
    """Annotate ``input_path`` on a Dask cluster into ``output_dir``.

    ``options`` / ``dask_options`` (defaults: ``AnnotateOptions()`` /
    ``DaskOptions()``), with any field of either overridden by keyword
    (``annotate_dask(inp, out, model, partition_size=5)``). ``client``: an
    existing ``distributed.Client`` (else one is started from
    ``dask_options.scheduler``). Returns the summary of this run
    (``skipped`` = documents of partitions already done) and the
    per-partition results of this run.
    """
    import dask.bag as db
    from distributed import as_completed
    from tqdm import tqdm

    option_names = {f.name for f in dataclasses.fields(AnnotateOptions)}
    opts = dataclasses.replace(options or AnnotateOptions(), **{k: v for k, v in overrides.items() if k in option_names})
    dopts = dataclasses.replace(dask_options or DaskOptions(), **{k: v for k, v in overrides.items() if k not in option_names})
    start_time = time.perf_counter()
    out_dir = Path(output_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    model = resolve_model(model)
    if opts.labels:  # an unknown label: one error here, before the manifest, not one per worker
        load_pipeline(model, labels=opts.labels)
    plan = plan_partitions(input_path, opts.input_format, dopts.partition_size)
    manifest = {
        "input": str(Path(input_path).resolve()),
        "model": model,
        "output_format": dopts.output_format,
        "partition_size": dopts.partition_size,
        **opts.record_settings(),
        "partitions": plan,
    }
    check_manifest(out_dir / MANIFEST, manifest)

    summary = Summary()
    todo = []
    for i, spec in enumerate(plan):
        if (out_dir / part_name(i, dopts.output_format)).exists():
            done = out_dir / "_summaries" / f"part-{i:05d}.json"
            summary.skipped += json.loads(done.read_text())["documents"] if done.exists() else spec["n"]
        else:
            todo.append((i, spec))
    if dopts.limit_partitions is not None:
        todo = todo[: dopts.limit_partitions]

    results: List[Dict[str, Any]] = []
    if todo:
        own_client = own_cluster = None
        if client is None:
            client, own_cluster = start_client(dopts.scheduler, dopts.workers)
            own_client = client
        kwargs = dict(model=model, output_dir=str(out_dir), options=opts, output_format=dopts.output_format)
        try:
            duplicates = find_duplicates(client, plan, opts)
            tasks = [(i, spec, duplicates.get(i, [])) for i, spec in todo]
            bag = db.from_sequence(tasks, npartitions=len(tasks)).map(_run_partition_task, kwargs)
            futures = client.compute(bag.to_delayed())
            bar = tqdm(total=sum(s["n"] for _, s in todo), unit="doc", disable=not opts.progress, desc="annotate (dask)")
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
    _write_totals(out_dir, plan, dopts.output_format, summary)
    return summary, results


def check_manifest(path: Path, manifest: Dict[str, Any]) -> None:
    """Write the manifest of a new output; refuse to resume an output written with other settings."""
    if not path.exists():
        path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        return
    previous = json.loads(path.read_text(encoding="utf-8"))
    changed = sorted(key for key in set(previous) | set(manifest) if previous.get(key) != manifest.get(key))
    if changed:
        raise ValueError(
            f"{path.parent} holds the output of a different run ({', '.join(changed)} changed); "
            f"use a new output directory or delete it"
        )


def _write_totals(out_dir: Path, plan: List[Dict[str, Any]], output_format: str, run: Summary) -> None:
    """``errors.jsonl`` (all partitions) and ``summary.json`` (whole output + this run)."""
    total = Summary()
    complete = 0
    errors: List[str] = []
    for i in range(len(plan)):
        if not (out_dir / part_name(i, output_format)).exists():
            continue
        complete += 1
        part_summary = out_dir / "_summaries" / f"part-{i:05d}.json"
        if part_summary.exists():
            total.merge(Summary.from_dict(json.loads(part_summary.read_text(encoding="utf-8"))))
        part_errors = out_dir / "_errors" / f"part-{i:05d}.jsonl"
        if part_errors.exists():
            errors.append(part_errors.read_text(encoding="utf-8"))
    # as on the single-process path: an error file only when there are errors, never a stale one
    errors_file = out_dir / "errors.jsonl"
    if any(errors):
        errors_file.write_text("".join(errors), encoding="utf-8")
    elif errors_file.exists():
        errors_file.unlink()
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

"""`medner annotate --dask`: a LocalCluster of two worker processes gives the
same records as the single-process CLI, loads the pipeline once per worker
and resumes partition by partition."""
import json

import pytest

pytest.importorskip("distributed")

from typer.testing import CliRunner  # noqa: E402

from medner.annotate import read_records  # noqa: E402
from medner.cli import app  # noqa: E402
from medner.annotate.dask import annotate_dask, plan_partitions, read_partition  # noqa: E402

from test_annotate_cli import check_records, make_nlp, make_texts, write_jsonl  # noqa: E402

runner = CliRunner()
N_DOCS = 20
BAD_LINES = [b'{"id": "nulltext", "text": null}\n', b"{not json\n", b'{"id": "ok-last", "text": "hepatitis"}\n']


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dask")
    model = tmp / "tiny"
    make_nlp().to_disk(model)
    texts = make_texts(N_DOCS)
    inp = write_jsonl(tmp / "in.jsonl", texts, BAD_LINES)
    single = tmp / "single.jsonl"
    result = runner.invoke(app, ["annotate", str(inp), str(single), "-m", str(model), "--no-progress"])
    assert result.exit_code == 0, result.output
    texts_by_id = {f"doc-{i}": t for i, t in enumerate(texts)}
    texts_by_id["ok-last"] = "hepatitis"
    return tmp, model, inp, single, texts_by_id


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def by_id(records):
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "duplicate ids"
    return {r["id"]: r for r in records}


def test_partition_plan_covers_every_line_once(setup):
    _, _, inp, _, _ = setup
    plan = plan_partitions(inp, partition_size=6)
    assert [p["n"] for p in plan] == [6, 6, 6, 5]
    lines = [r.line for spec in plan for r in read_partition(spec)]
    assert lines == list(range(1, N_DOCS + len(BAD_LINES) + 1))


def test_cli_dask_matches_single_process(setup, client):
    """The CLI pointed at the scheduler of a LocalCluster with two worker processes."""
    tmp, model, inp, single, texts_by_id = setup
    out = tmp / "dask_out"
    result = runner.invoke(
        app,
        ["annotate", str(inp), str(out), "-m", str(model), "--dask", client.scheduler.address,
         "--partition-size", "4", "--summary", str(tmp / "dask_summary.json"), "--no-progress"],
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert sorted(p.name for p in out.glob("part-*.jsonl")) == [f"part-{i:05d}.jsonl" for i in range(6)]
    expected, got = by_id(read_records(single)), by_id(read_records(out))
    assert len(got) == N_DOCS + 1
    assert got == expected  # same ids, passthrough fields and entities
    assert [r["id"] for r in read_records(out)] == [r["id"] for r in read_records(single)]  # input order
    check_records(got.values(), texts_by_id)
    errors = [json.loads(l) for l in (out / "errors.jsonl").read_text().splitlines()]
    single_errors = [json.loads(l) for l in (tmp / "single.errors.jsonl").read_text().splitlines()]
    assert [(e["line"], e["reason"]) for e in errors] == [(e["line"], e["reason"]) for e in single_errors]
    assert [e["reason"] for e in errors] == ["non_string_text", "invalid_json"]
    summary = json.loads((tmp / "dask_summary.json").read_text())
    assert summary["documents"] == N_DOCS + 1 and summary["errors"] == 2
    # Each worker process loaded the pipeline exactly once.
    parts = [json.loads(p.read_text()) for p in sorted((out / "_summaries").glob("part-*.json"))]
    workers = {p["worker"] for p in parts}
    loads = [p["worker"] for p in parts if p["loaded_model"]]
    assert sorted(loads) == sorted(workers) and 1 <= len(workers) <= 2


def test_dask_resume_and_parquet(setup, client):
    pa = pytest.importorskip("pyarrow")
    tmp, model, inp, single, texts_by_id = setup
    out = tmp / "resume_out"
    summary, parts = annotate_dask(inp, out, model, client=client, partition_size=5, limit_partitions=2, progress=False)
    assert len(parts) == 2 and len(read_records(out)) == 10
    summary, parts = annotate_dask(inp, out, model, client=client, partition_size=5, progress=False)
    assert summary.skipped == 10 and len(parts) == 3
    assert by_id(read_records(out)) == by_id(read_records(single))
    # Loaded once per worker across both runs (the cache outlives tasks).
    all_parts = [json.loads(p.read_text()) for p in sorted((out / "_summaries").glob("part-*.json"))]
    loads = [p["worker"] for p in all_parts if p["loaded_model"]]
    assert len(loads) == len(set(loads))
    # A different partitioning into the same directory is refused.
    with pytest.raises(ValueError, match="different run"):
        annotate_dask(inp, out, model, client=client, partition_size=7, progress=False)

    # Parquet in, Parquet out.
    import pyarrow.parquet as pq

    rows = [r for r in read_records(single)]
    table = pa.table({"id": [r["id"] for r in rows], "text": [texts_by_id[r["id"]] for r in rows], "site": [r.get("site", "-") for r in rows]})
    pq.write_table(table, tmp / "in.parquet", row_group_size=4)
    pout = tmp / "parquet_out"
    summary, parts = annotate_dask(
        tmp / "in.parquet", pout, model, client=client, partition_size=6, output_format="parquet", progress=False
    )
    assert len(list(pout.glob("part-*.parquet"))) == 4
    got = by_id(read_records(pout))
    assert {k: (v["site"], v["entities"]) for k, v in got.items()} == {
        r["id"]: (r.get("site", "-"), r["entities"]) for r in rows
    }


def test_dask_duplicate_ids_across_partitions_match_single_process(setup, client):
    """The first occurrence of an id wins on both paths, also when the copies are in different partitions."""
    tmp, model, _, _, _ = setup
    lines = [
        {"id": "a", "text": "Cisplatin caused nephrotoxicity."},
        {"id": "b", "text": "No findings."},
        {"id": "c", "text": "Aspirin for fever."},
        {"id": "a", "text": "A second document claiming id a."},  # partition 1 (size 2): a duplicate of line 1
        {"id": 1, "text": "integer id"},
        {"id": "1", "text": "string id: not the same id as 1"},
        {"id": 1, "text": "a duplicate of the integer id"},  # partition 3
        {"id": "c", "text": "and of c"},
    ]
    inp = tmp / "dups.jsonl"
    inp.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    single = tmp / "dups_single.jsonl"
    result = runner.invoke(app, ["annotate", str(inp), str(single), "-m", str(model), "--no-progress"])
    assert result.exit_code == 0, result.output
    out = tmp / "dups_dask"
    summary, _ = annotate_dask(inp, out, model, client=client, partition_size=2, progress=False)
    assert read_records(out) == read_records(single)
    assert [r["id"] for r in read_records(out)] == ["a", "b", "c", 1, "1"]
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    single_errors = [json.loads(line) for line in (tmp / "dups_single.errors.jsonl").read_text().splitlines()]
    assert errors == single_errors
    assert [(e["line"], e["id"], e["reason"]) for e in errors] == [(4, "a", "duplicate_id"), (7, 1, "duplicate_id"), (8, "c", "duplicate_id")]
    assert summary.errors == 3 and summary.documents == 5


def test_dask_resume_with_other_record_settings_is_refused(setup, client):
    """Every setting that decides the records is in the manifest: resuming with another value is refused, naming it."""
    tmp, model, _, _, _ = setup
    inp = tmp / "small.jsonl"
    inp.write_text("".join(json.dumps({"id": i, "text": "Aspirin.", "body": "x", "doc_id": i}) + "\n" for i in range(3)))
    out = tmp / "resume_settings"
    annotate_dask(inp, out, model, client=client, partition_size=2, limit_partitions=1, progress=False)
    for setting, value in [("text_field", "body"), ("id_field", "doc_id"), ("spans_key", "other"), ("max_batch_chars", 123)]:
        with pytest.raises(ValueError, match=rf"different run \({setting} changed\)"):
            annotate_dask(inp, out, model, client=client, partition_size=2, progress=False, **{setting: value})
    # the CLI says so in one line, no traceback
    result = runner.invoke(
        app, ["annotate", str(inp), str(out), "-m", str(model), "--dask", client.scheduler.address,
              "--partition-size", "2", "--text-field", "body", "--no-progress"],
    )
    assert result.exit_code == 1 and "(text_field changed)" in result.output and "Traceback" not in result.output
    # the same settings resume
    summary, parts = annotate_dask(inp, out, model, client=client, partition_size=2, progress=False)
    assert summary.skipped == 2 and len(parts) == 1 and len(read_records(out)) == 3


def test_dask_writes_no_empty_error_file(setup, client):
    """As on the single-process path: errors.jsonl only when a record failed; a stale one is removed."""
    tmp, model, _, _, _ = setup
    inp = tmp / "clean.jsonl"
    inp.write_text("".join(json.dumps({"id": i, "text": "Aspirin for fever."}) + "\n" for i in range(4)))
    out = tmp / "clean_out"
    out.mkdir()
    (out / "errors.jsonl").write_text('{"reason": "from an earlier run"}\n')
    summary, parts = annotate_dask(inp, out, model, client=client, partition_size=2, progress=False)
    assert summary.errors == 0 and len(parts) == 2 and len(read_records(out)) == 4
    assert not (out / "errors.jsonl").exists()

"""`medner annotate`: inputs, offsets, error file, resumability, HTML, summary."""
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.language import Language
from spacy.tokens import Span
from typer.testing import CliRunner

from medner.annotate import annotate_file, load_done_ids, read_records
from medner.cli import app
from ruler import ruler_nlp

runner = CliRunner()

CHEMICALS = ["cisplatin", "haloperidol", "5-fluorouracil", "β-carotene"]
DISEASES = ["renal failure", "hepatitis", "Parkinson's disease"]


def make_nlp():
    return ruler_nlp({"Chemical": CHEMICALS, "Disease": DISEASES})


def expected_entities(text):
    """Gold (start, end, label) of the ruler's patterns, found by regex."""
    out = []
    for label, names in (("Chemical", CHEMICALS), ("Disease", DISEASES)):
        for name in names:
            for m in re.finditer(re.escape(name), text, flags=re.IGNORECASE):
                out.append((m.start(), m.end(), label))
    return sorted(out)


def make_texts(n):
    templates = [
        "Patient {i} received {c} and developed {d}.",
        "🙂 Note {i}:\r\n{c} was stopped because of {d}; no further {d}.",
        "Ｆｕｌｌ-width {i} — {c}/{c} combination, {d}.",
        "No findings in record {i}.",
        "",
    ]
    texts = []
    for i in range(n):
        t = templates[i % len(templates)]
        texts.append(t.format(i=i, c=CHEMICALS[i % len(CHEMICALS)], d=DISEASES[i % len(DISEASES)]))
    return texts


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny"
    make_nlp().to_disk(path)
    return path


def write_jsonl(path, texts, extra_lines=()):
    with open(path, "wb") as f:
        for i, text in enumerate(texts):
            rec = {"id": f"doc-{i}", "text": text, "meta": {"n": i, "tags": ["a", i]}, "site": "x"}
            f.write((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
        for line in extra_lines:
            f.write(line)
    return path


def check_records(records, texts_by_id):
    for rec in records:
        text = texts_by_id[rec["id"]]
        got = [(e["start"], e["end"], e["label"]) for e in rec["entities"]]
        assert got == expected_entities(text), rec["id"]
        for e in rec["entities"]:
            assert text[e["start"] : e["end"]] == e["text"]
            assert e["source"] == "ents" and e["score"] is None


def invoke(*args):
    result = runner.invoke(app, ["annotate", *map(str, args), "--no-progress"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def test_jsonl_offsets_passthrough_and_summary(tmp_path, model_dir):
    texts = make_texts(12)
    inp = write_jsonl(tmp_path / "in.jsonl", texts)
    out = tmp_path / "out.jsonl"
    invoke(inp, out, "--model", model_dir, "--summary", tmp_path / "summary.json", "--batch-size", 5)
    records = read_records(out)
    assert [r["id"] for r in records] == [f"doc-{i}" for i in range(12)]
    check_records(records, {f"doc-{i}": t for i, t in enumerate(texts)})
    assert records[0]["meta"] == {"n": 0, "tags": ["a", 0]} and records[0]["site"] == "x"
    assert list(records[0]) == ["id", "meta", "site", "entities"]
    assert sum(len(r["entities"]) for r in records) > 12
    assert records[4]["entities"] == []  # empty text is a valid document
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["documents"] == 12 and summary["errors"] == 0
    assert summary["characters"] == sum(len(t) for t in texts)
    n_ents = sum(len(expected_entities(t)) for t in texts)
    assert summary["entities"] == n_ents == sum(summary["entities_per_label"].values())
    assert summary["words"] > 0 and summary["words_per_second"] > 0
    assert not (tmp_path / "out.errors.jsonl").exists(), "a run without bad records leaves no error file"


def test_bad_records_go_to_error_file(tmp_path, model_dir):
    texts = make_texts(3)
    extra = [
        b'{"id": "missing"}\n',  # line 4
        b'{"id": "null", "text": null}\n',  # 5
        b'{"id": "num", "text": 42}\n',  # 6
        b'{"id": "broken", "text": \n',  # 7
        b"\n",  # 8: blank lines are skipped
        b'["not", "an", "object"]\n',  # 9
        b'{"id": "latin1", "text": "caf\xe9"}\n',  # 10
        b'{"id": "doc-0", "text": "duplicate"}\n',  # 11
        b'{"id": "empty", "text": ""}\n',  # 12: valid
        b'{"text": "no id: cisplatin"}',  # 13: valid, id generated, no final newline
    ]
    inp = write_jsonl(tmp_path / "in.jsonl", texts, extra)
    out = tmp_path / "out.jsonl"
    result = invoke(inp, out, "-m", model_dir, "--errors", tmp_path / "err.jsonl", "--summary", tmp_path / "s.json")
    assert "7 bad record(s)" in result.output
    errors = [json.loads(l) for l in (tmp_path / "err.jsonl").read_text().splitlines()]
    assert [(e["line"], e["reason"]) for e in errors] == [
        (4, "missing_text"),
        (5, "non_string_text"),
        (6, "non_string_text"),
        (7, "invalid_json"),
        (9, "not_an_object"),
        (10, "undecodable"),
        (11, "duplicate_id"),
    ]
    assert all(e["source"] == str(inp) for e in errors)
    records = {r["id"]: r for r in read_records(out)}
    assert set(records) == {"doc-0", "doc-1", "doc-2", "empty", "in.jsonl:13"}
    assert records["empty"]["entities"] == []
    assert [e["text"] for e in records["in.jsonl:13"]["entities"]] == ["cisplatin"]
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["errors"] == 7 and summary["documents"] == 5
    assert summary["error_reasons"]["non_string_text"] == 2


def test_txt_directory_and_file(tmp_path, model_dir):
    root = tmp_path / "notes"
    (root / "sub").mkdir(parents=True)
    texts = {"a.txt": "Haloperidol\r\ninduced hepatitis.\r\n", "sub/b.txt": "β-carotene 🙂 and renal failure", "c.txt": ""}
    for name, text in texts.items():
        (root / name).write_bytes(text.encode("utf-8"))
    (root / "bad.txt").write_bytes(b"line one\nline two \xff\xfe cisplatin\n")
    (root / "ignored.md").write_text("cisplatin")
    out = tmp_path / "out.jsonl"
    invoke(root, out, "-m", model_dir)
    records = read_records(out)
    assert [r["id"] for r in records] == ["a.txt", "c.txt", "sub/b.txt"]
    check_records(records, texts)
    assert [e["text"] for e in records[0]["entities"]] == ["Haloperidol", "hepatitis"]
    (err,) = [json.loads(l) for l in (tmp_path / "out.errors.jsonl").read_text().splitlines()]
    assert err["reason"] == "undecodable" and err["line"] == 2 and err["id"] == "bad.txt"

    out2 = tmp_path / "one.jsonl"
    invoke(root / "a.txt", out2, "-m", model_dir)
    (rec,) = read_records(out2)
    assert rec["id"] == "a.txt" and rec["entities"] == records[0]["entities"]


def test_resume_after_limit_no_duplicates(tmp_path, model_dir):
    texts = make_texts(10)
    inp = write_jsonl(tmp_path / "in.jsonl", texts, [b"{bad json\n"])
    out = tmp_path / "out.jsonl"
    invoke(inp, out, "-m", model_dir, "--limit", 4, "--batch-size", 3)
    assert [r["id"] for r in read_records(out)] == [f"doc-{i}" for i in range(4)]
    invoke(inp, out, "-m", model_dir, "--limit", 3, "--batch-size", 3)
    assert len(read_records(out)) == 7
    invoke(inp, out, "-m", model_dir, "--summary", tmp_path / "s.json")
    records = read_records(out)
    assert [r["id"] for r in records] == [f"doc-{i}" for i in range(10)]
    check_records(records, {f"doc-{i}": t for i, t in enumerate(texts)})
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["skipped_already_done"] == 7 and summary["documents"] == 3 and summary["errors"] == 1
    # The error file is rewritten by each run, not appended to.
    assert len((tmp_path / "out.errors.jsonl").read_text().splitlines()) == 1
    # --restart starts over.
    invoke(inp, out, "-m", model_dir, "--restart", "--limit", 2)
    assert len(read_records(out)) == 2


class Interrupt(BaseException):
    """Stands in for Ctrl-C / SIGTERM (not caught as a pipeline error)."""


def test_resume_after_interruption(tmp_path):
    texts = make_texts(9)
    inp = write_jsonl(tmp_path / "in.jsonl", texts)
    out = tmp_path / "out.jsonl"
    nlp = make_nlp()
    calls = {"n": 0, "on_disk": None}

    @Language.component("interrupt_after_5_test")
    def interrupt(doc):
        calls["n"] += 1
        if calls["n"] > 5:
            # What a SIGKILL now would leave: records must already be flushed.
            calls["on_disk"] = out.read_text(encoding="utf-8").count("\n")
            raise Interrupt()
        return doc

    crashing = make_nlp()
    crashing.add_pipe("interrupt_after_5_test")
    with pytest.raises(Interrupt):
        annotate_file(inp, out, crashing, batch_size=1, progress=False)
    # Everything produced before the interruption was on disk before it.
    assert calls["on_disk"] == 5
    assert [r["id"] for r in read_records(out)] == [f"doc-{i}" for i in range(5)]
    # A run killed in the middle of a write leaves a partial line: it is cut off.
    with open(out, "a", encoding="utf-8") as f:
        f.write('{"id": "doc-5", "entities": [{"sta')
    assert load_done_ids(out, repair=False) == {json.dumps(f"doc-{i}") for i in range(5)}
    summary = annotate_file(inp, out, nlp, batch_size=4, progress=False)
    records = read_records(out)
    assert [r["id"] for r in records] == [f"doc-{i}" for i in range(9)]
    assert summary.skipped == 5 and summary.documents == 4
    check_records(records, {f"doc-{i}": t for i, t in enumerate(texts)})


def test_pipeline_error_is_reported_and_run_continues(tmp_path):
    @Language.component("boom_test")
    def boom(doc):
        if "BOOM" in doc.text:
            raise ValueError("boom")
        return doc

    nlp = make_nlp()
    nlp.add_pipe("boom_test")
    texts = ["cisplatin", "BOOM hepatitis", "renal failure"]
    inp = write_jsonl(tmp_path / "in.jsonl", texts)
    out = tmp_path / "out.jsonl"
    summary = annotate_file(inp, out, nlp, batch_size=8, progress=False)
    assert [r["id"] for r in read_records(out)] == ["doc-0", "doc-2"]
    (err,) = [json.loads(l) for l in (tmp_path / "out.errors.jsonl").read_text().splitlines()]
    assert err == {"source": str(inp), "line": 2, "id": "doc-1", "reason": "pipeline_error", "detail": "ValueError: boom"}
    assert summary.errors == 1 and summary.documents == 2


def test_span_group_sources_and_scores(tmp_path):
    @Language.component("fake_merge_test")
    def fake_merge(doc):
        spans = list(doc.ents) + [Span(doc, 0, 1, label="Test")]  # overlapping spans are fine
        doc.spans["medner"] = spans
        doc.spans["medner"].attrs["sources"] = ["ner"] * len(doc.ents) + ["hf_token_classifier"]
        doc.spans["medner"].attrs["scores"] = [0.5] * len(doc.ents) + [0.25]
        return doc

    nlp = make_nlp()
    nlp.add_pipe("fake_merge_test")
    inp = write_jsonl(tmp_path / "in.jsonl", ["Cisplatin caused renal failure."])
    out = tmp_path / "out.jsonl"
    annotate_file(inp, out, nlp, progress=False, html=tmp_path / "page.html")
    (rec,) = read_records(out)
    assert rec["entities"] == [
        {"start": 0, "end": 9, "text": "Cisplatin", "label": "Chemical", "source": "ner", "score": 0.5},
        {"start": 0, "end": 9, "text": "Cisplatin", "label": "Test", "source": "hf_token_classifier", "score": 0.25},
        {"start": 17, "end": 30, "text": "renal failure", "label": "Disease", "source": "ner", "score": 0.5},
    ]
    page = (tmp_path / "page.html").read_text()
    assert "failure" in page and "hf_token_classifier" not in page and ">Test<" in page.replace(" ", "").replace("\n", "")


def test_html_single_page_and_directory(tmp_path, model_dir):
    texts = make_texts(5)
    inp = write_jsonl(tmp_path / "in.jsonl", texts)
    invoke(inp, tmp_path / "a.jsonl", "-m", model_dir, "--html", tmp_path / "page.html")
    page = (tmp_path / "page.html").read_text()
    assert all(f"doc-{i}" in page for i in range(5)) and "Chemical" in page
    invoke(inp, tmp_path / "b.jsonl", "-m", model_dir, "--html", tmp_path / "many.html", "--html-page-limit", 2)
    pages = sorted((tmp_path / "many").glob("*.html"))
    assert len(pages) == 6  # 5 documents + index.html
    index = (tmp_path / "many" / "index.html").read_text()
    assert all(f">doc-{i}</a>" in index for i in range(5))


def test_parquet_input_and_n_process(tmp_path, model_dir):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    texts = make_texts(8)
    table = pa.table({"id": list(range(8)), "text": texts, "year": [2000 + i for i in range(8)]})
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=3)
    invoke(tmp_path / "in.parquet", tmp_path / "a.jsonl", "-m", model_dir)
    records = read_records(tmp_path / "a.jsonl")
    assert [(r["id"], r["year"]) for r in records] == [(i, 2000 + i) for i in range(8)]
    check_records(records, dict(enumerate(texts)))
    invoke(tmp_path / "in.parquet", tmp_path / "b.jsonl", "-m", model_dir, "--n-process", 2, "--batch-size", 2)
    assert read_records(tmp_path / "b.jsonl") == records


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parts=st.lists(
        st.one_of(
            st.sampled_from(CHEMICALS + DISEASES),
            st.text(alphabet=st.sampled_from(list("ab xyz\n\r\t,.;()-/é🙂\u00a0")), max_size=8),
        ),
        max_size=12,
    )
)
def test_offsets_always_index_the_input_text(tmp_path, parts):
    from medner.annotate import Item, doc_to_record

    nlp = _HYPO_NLP
    text = " ".join(parts)
    rec = doc_to_record(nlp(text), Item("x", text, {}, "mem"))
    assert nlp(text).text == text
    for e in rec["entities"]:
        assert text[e["start"] : e["end"]] == e["text"]
        assert e["text"].lower() in {n.lower() for n in CHEMICALS + DISEASES}


_HYPO_NLP = make_nlp()


def test_gpu_id_without_a_gpu_is_one_line(tmp_path, model_dir):
    """``--gpu-id`` goes to ``spacy.require_gpu``; where that cannot work, one line says why."""
    import importlib.util

    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("cupy is installed: --gpu-id may work here")
    inp = write_jsonl(tmp_path / "in.jsonl", ["Aspirin."])
    result = runner.invoke(app, ["annotate", str(inp), str(tmp_path / "out.jsonl"), "-m", str(model_dir), "--gpu-id", "0", "--no-progress"])
    assert result.exit_code == 1
    assert "--gpu-id 0: Cannot use GPU, CuPy is not installed" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out.jsonl").exists()

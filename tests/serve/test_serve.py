"""`medner serve`: the API, its limits, batching, shutdown and the CLI, against rule-based pipelines with known outputs.

One uvicorn server per module runs in a thread on a free loopback port;
pipelines are entity rulers (exact, known entities) plus test components that
sleep, fail on a marker word, or record the longest text they were given.
"""
import asyncio
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from spacy.language import Language

from medner.annotate import AnnotateOptions, Item, annotate_file, doc_to_record, read_records
from medner.serve.app import create_app
from medner.serve.options import ServeOptions
from ruler import ruler_nlp
from serve_helpers import free_port, running_server

ROOT = Path(__file__).resolve().parents[2]
TERMS = {"MEDICATION": ["Warfarin", "Aspirin", "Metformin"], "DISEASE": ["blood clots", "diabetes", "renal failure"]}
SENTENCE = "The patient was prescribed Warfarin to prevent blood clots."
SLEEP = {"seconds": 0.0}
LONGEST_SEEN = {"chars": 0}


@Language.component("medner_test_sleep")
def sleep_component(doc):
    time.sleep(SLEEP["seconds"])
    return doc


@Language.component("medner_test_fail_on_boom")
def fail_on_boom(doc):
    if "BOOM" in doc.text:
        raise RuntimeError("the test component failed on BOOM")
    return doc


@Language.component("medner_test_longest")
def record_longest(doc):
    LONGEST_SEEN["chars"] = max(LONGEST_SEEN["chars"], len(doc.text))
    return doc


def rules():
    return ruler_nlp(TERMS)


def faulty_rules():
    nlp = rules()
    nlp.add_pipe("medner_test_fail_on_boom")
    return nlp


def slow_rules():
    nlp = rules()
    nlp.add_pipe("medner_test_sleep")
    return nlp


def chunk_recording_rules():
    nlp = rules()
    nlp.add_pipe("medner_test_longest")
    return nlp


OPTIONS = dict(max_body_bytes=20_000, max_text_chars=2_000, max_texts=40, request_timeout_s=5.0,
               batch_docs=64, batch_wait_ms=20.0, max_chars=120, max_batch_chars=10_000)


@pytest.fixture(scope="module")
def service():
    pipelines = {"rules": rules(), "faulty": faulty_rules(), "slow": slow_rules(), "chunks": chunk_recording_rules()}
    app = create_app(ServeOptions(**OPTIONS), pipelines)
    with running_server(app) as (url, server):
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client, pipelines


def expected_record(nlp, doc_id, text, meta=None):
    return doc_to_record(nlp(text), Item(doc_id, text, meta or {}, "test"))


# --------------------------------------------------------------------------- #
# Records: the CLI's
# --------------------------------------------------------------------------- #
def test_single_text_gets_the_cli_record(service):
    client, pipelines = service
    response = client.post("/annotate", json={"text": SENTENCE})
    assert response.status_code == 200
    body = response.json()
    assert body["pipeline"] == "rules" and body["errors"] == 0
    [record] = body["documents"]
    assert [(e["text"], e["label"]) for e in record["entities"]] == [("Warfarin", "MEDICATION"), ("blood clots", "DISEASE")]
    assert record == expected_record(pipelines["rules"], 0, SENTENCE)


def test_documents_match_medner_annotate_jsonl_output(service, tmp_path):
    """The same documents through `medner annotate`'s annotate_file and through the service: identical records."""
    client, pipelines = service
    documents = [
        {"id": "note-1", "text": SENTENCE, "ward": "3B"},
        {"id": 7, "text": "Metformin for diabetes; Aspirin later.\r\nNo renal failure."},
        {"id": "empty", "text": ""},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(d) + "\n" for d in documents), encoding="utf-8")
    annotate_file(source, tmp_path / "out.jsonl", pipelines["rules"], AnnotateOptions(progress=False))
    cli_records = list(read_records(tmp_path / "out.jsonl"))
    response = client.post("/annotate", json={"documents": documents})
    assert response.status_code == 200
    assert response.json()["documents"] == cli_records
    assert sum(len(r["entities"]) for r in cli_records) == 6


def test_bad_documents_are_reported_and_the_rest_annotated(service):
    client, _ = service
    response = client.post("/annotate", json={"documents": [
        {"id": "a", "text": "Aspirin"}, {"id": "b"}, {"id": "c", "text": 12}, "not an object",
        {"id": 1.5, "text": "x"}, {"id": "d", "text": "diabetes"},
    ]})
    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == 4
    docs = body["documents"]
    assert [d["id"] for d in docs] == ["a", "b", "c", 3, 4, "d"]
    assert docs[0]["entities"][0]["text"] == "Aspirin" and docs[5]["entities"][0]["label"] == "DISEASE"
    assert [d["error"]["reason"] for d in docs[1:5]] == ["missing_text", "non_string_text", "not_an_object", "invalid_id"]
    assert docs[2]["error"]["detail"] == "documents[2]: 'text' is int"


def test_texts_with_a_non_string_entry(service):
    client, _ = service
    body = client.post("/annotate", json={"texts": ["Warfarin", None, "Aspirin"]}).json()
    assert [d["id"] for d in body["documents"]] == [0, 1, 2]
    assert body["documents"][1]["error"] == {"reason": "non_string_text", "detail": "texts[1] is NoneType, not a string"}
    assert body["documents"][2]["entities"][0]["text"] == "Aspirin"


def test_pipeline_failure_is_reported_for_that_document_only(service):
    client, _ = service
    body = client.post("/annotate", json={"pipeline": "faulty", "texts": ["Aspirin", "BOOM Warfarin", "diabetes"]}).json()
    assert body["errors"] == 1
    assert body["documents"][1]["error"]["reason"] == "pipeline_error"
    assert "the test component failed on BOOM" in body["documents"][1]["error"]["detail"]
    assert body["documents"][0]["entities"][0]["text"] == "Aspirin"
    assert body["documents"][2]["entities"][0]["text"] == "diabetes"


def test_long_text_goes_through_the_cli_chunking(service):
    """max_chars=120: the pipeline never sees more than 120 characters, and the
    entities of the whole 1,500-character text keep their offsets."""
    client, pipelines = service
    text = " ".join([SENTENCE] * 25)
    LONGEST_SEEN["chars"] = 0
    body = client.post("/annotate", json={"text": text, "pipeline": "chunks", "include_text": True}).json()
    assert 0 < LONGEST_SEEN["chars"] <= 120
    record = body["documents"][0]
    assert record["text"] == text
    assert len(record["entities"]) == 50
    assert all(text[e["start"]:e["end"]] == e["text"] for e in record["entities"])
    assert record["entities"] == expected_record(pipelines["rules"], 0, text)["entities"]


def test_html_is_displacy_with_the_label_colours(service):
    client, _ = service
    info = client.get("/info").json()
    colors = info["pipelines"][0]["colors"]
    record = client.post("/annotate", json={"text": SENTENCE, "html": True}).json()["documents"][0]
    assert f'background: {colors["MEDICATION"]}' in record["html"]
    assert "Warfarin<span" in record["html"] and ">MEDICATION</span>" in record["html"]


# --------------------------------------------------------------------------- #
# Limits
# --------------------------------------------------------------------------- #
def test_body_over_the_limit_is_413_with_the_limit(service):
    client, _ = service
    response = client.post("/annotate", json={"text": "a" * 25_000})
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"
    assert "over the limit of 20,000 bytes (--max-body-bytes)" in response.json()["message"]


def test_chunked_body_over_the_limit_is_413(service):
    """No Content-Length (chunked upload): counted while read."""
    client, _ = service

    def chunks():
        yield b'{"text": "'
        for _ in range(30):
            yield b"a" * 1000
        yield b'"}'

    response = client.post("/annotate", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "20,000 bytes" in response.json()["message"]


def test_text_over_the_limit_is_413_naming_the_text(service):
    client, _ = service
    response = client.post("/annotate", json={"texts": ["Aspirin", "b" * 2_001]})
    assert response.status_code == 413
    assert response.json() == {"error": "text_too_long", "message": "text 1 (id 1) has 2,001 characters; the limit is 2,000 characters per text (--max-text-chars)"}


def test_too_many_texts_is_413(service):
    client, _ = service
    response = client.post("/annotate", json={"texts": ["x"] * 41})
    assert response.status_code == 413
    assert response.json()["message"] == "request has 41 texts; the limit is 40 per request (--max-texts)"


@pytest.mark.parametrize("content,field,message", [
    (b'{"text": "Aspirin', "body", "body is not valid JSON at character"),
    (b'{"texts": "Aspirin"}', "texts", "texts: Input should be a valid list"),
    (b'{"text": 5}', "text", "text: Input should be a valid string"),
    (b'{"text": "a", "html": "yes"}', "html", "html: Input should be a valid boolean"),
    (b'{"text": "a", "texts": ["b"]}', "body", "give exactly one of 'text', 'texts' or 'documents' (got text, texts)"),
    (b'{"txt": "a"}', "txt", "txt: Extra inputs are not permitted"),
    (b'["Aspirin"]', "body", "body must be a JSON object"),
])
def test_invalid_json_or_types_are_422_naming_the_field(service, content, field, message):
    client, _ = service
    response = client.post("/annotate", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    assert field in body["fields"]
    assert message in body["message"]


def test_unknown_pipeline_is_422_listing_the_loaded_ones(service):
    client, _ = service
    response = client.post("/annotate", json={"text": "a", "pipeline": "bc5cdr"})
    assert response.status_code == 422
    assert response.json()["message"] == "pipeline: 'bc5cdr' is not loaded; loaded: rules, faulty, slow, chunks"


def test_request_over_the_timeout_is_504(service):
    client, _ = service
    SLEEP["seconds"] = 0.6
    try:
        app = create_app(ServeOptions(**dict(OPTIONS, request_timeout_s=0.2)), {"slow": slow_rules()})
        with running_server(app) as (url, _):
            response = httpx.post(f"{url}/annotate", json={"text": SENTENCE}, timeout=10)
    finally:
        SLEEP["seconds"] = 0.0
    assert response.status_code == 504
    assert response.json()["message"].startswith("annotation took longer than the limit of 0.2 s per request (--request-timeout)")


# --------------------------------------------------------------------------- #
# Batching, info, health, schema, logs
# --------------------------------------------------------------------------- #
def test_concurrent_requests_share_batches_and_get_their_own_records(service):
    """32 clients at once: fewer nlp.pipe batches than requests, and every
    response holds the entities of its own text (no mix-up across requests)."""
    client, _ = service
    before = client.get("/health").json()["pipelines"]["slow"]
    drugs = ["Warfarin", "Aspirin", "Metformin"]
    texts = [f"Patient {i} was given {drugs[i % 3]} for diabetes." for i in range(32)]
    SLEEP["seconds"] = 0.05

    async def run():
        async with httpx.AsyncClient(base_url=str(client.base_url), timeout=30) as aclient:
            return await asyncio.gather(*(aclient.post("/annotate", json={"text": t, "pipeline": "slow", "include_text": True}) for t in texts))

    try:
        responses = asyncio.run(run())
    finally:
        SLEEP["seconds"] = 0.0
    for i, response in enumerate(responses):
        record = response.json()["documents"][0]
        assert record["text"] == texts[i]
        assert [e["text"] for e in record["entities"]] == [drugs[i % 3], "diabetes"]
    after = client.get("/health").json()["pipelines"]["slow"]
    assert after["documents"] - before["documents"] == 32
    assert after["batches"] - before["batches"] < 32
    assert after["largest_batch"] > 1


def test_info_lists_pipelines_labels_colours_and_limits(service):
    client, _ = service
    info = client.get("/info").json()
    assert info["default"] == "rules"
    first = info["pipelines"][0]
    assert first["name"] == "rules" and first["components"] == ["entity_ruler"]
    assert first["labels"] == ["DISEASE", "MEDICATION"]
    assert set(first["colors"]) == {"DISEASE", "MEDICATION"} and first["colors"]["DISEASE"] != first["colors"]["MEDICATION"]
    assert info["limits"]["max_text_chars"] == 2_000 and info["limits"]["max_texts"] == 40
    health = client.get("/health").json()
    assert health["status"] == "ok" and set(health["pipelines"]) == {"rules", "faulty", "slow", "chunks"}


def test_openapi_schema_has_examples(service):
    client, _ = service
    schema = client.get("/openapi.json").json()
    request = schema["components"]["schemas"]["AnnotateRequest"]
    assert {"text": "The patient was prescribed Warfarin to prevent blood clots."} in request["examples"]
    responses = schema["paths"]["/annotate"]["post"]["responses"]
    assert {"200", "413", "422", "504"} <= set(responses)


def test_access_log_is_one_json_line_per_request(service, caplog):
    client, _ = service
    def access_lines():
        return [json.loads(r.getMessage()) for r in caplog.records if r.name == "medner.serve.access"]

    with caplog.at_level(logging.INFO, logger="medner.serve.access"):
        client.post("/annotate", json={"texts": ["Aspirin", "x"]})
        # the middleware logs after the last body chunk is sent, so the server thread may write the
        # line just after the client has the response; an earlier test's request may also land here
        deadline = time.monotonic() + 5
        while not any(line["path"] == "/annotate" for line in access_lines()) and time.monotonic() < deadline:
            time.sleep(0.01)
    lines = access_lines()
    annotate = [line for line in lines if line["path"] == "/annotate"]
    assert len(annotate) == 1 and annotate[0]["status"] == 200, lines
    assert annotate[0]["documents"] == 2 and annotate[0]["method"] == "POST" and annotate[0]["ms"] > 0


def test_page_and_its_files_are_served(service):
    client, _ = service
    page = client.get("/")
    assert page.status_code == 200 and "<textarea" in page.text
    for name in ("app.js", "app.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert "http://" not in page.text and "https://" not in page.text  # nothing from another site


# --------------------------------------------------------------------------- #
# Shutdown and the CLI
# --------------------------------------------------------------------------- #
def test_graceful_shutdown_finishes_the_request_in_flight():
    SLEEP["seconds"] = 0.8
    result = {}
    try:
        app = create_app(ServeOptions(**OPTIONS), {"slow": slow_rules()})
        with running_server(app) as (url, server):
            thread = threading.Thread(target=lambda: result.update(response=httpx.post(f"{url}/annotate", json={"text": SENTENCE}, timeout=10)))
            thread.start()
            time.sleep(0.3)
            server.should_exit = True  # what uvicorn's SIGTERM handler does
            thread.join(timeout=10)
    finally:
        SLEEP["seconds"] = 0.0
    assert result["response"].status_code == 200
    assert [e["text"] for e in result["response"].json()["documents"][0]["entities"]] == ["Warfarin", "blood clots"]


def test_cli_serves_a_pipeline_directory_with_two_workers_and_stops_on_sigterm(tmp_path):
    model_dir = tmp_path / "rules"
    rules().to_disk(model_dir)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "medner", "serve", "--model", str(model_dir), "--port", str(port), "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).json()["status"] == "ok":
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "medner serve did not start in 60 s"
            time.sleep(0.3)
        body = httpx.post(f"{url}/annotate", json={"text": SENTENCE}, timeout=10).json()
        assert body["pipeline"] == str(model_dir)
        assert [e["label"] for e in body["documents"][0]["entities"]] == ["MEDICATION", "DISEASE"]
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    access = [json.loads(line) for line in output.splitlines() if line.startswith('{"ts"')]
    assert any(a["path"] == "/annotate" and a["status"] == 200 for a in access)


def test_cli_unknown_model_is_one_line():
    from typer.testing import CliRunner

    from medner.cli import app

    result = CliRunner().invoke(app, ["serve", "--model", "no_such_pipeline_xyz"])
    assert result.exit_code == 1
    assert "No pipeline 'no_such_pipeline_xyz'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("overrides,message", [
    ({"port": 0}, "port must be in 1..65535, got 0"),
    ({"max_texts": 0}, "max_texts must be at least 1, got 0"),
    ({"request_timeout_s": 0}, "request_timeout_s must be positive, got 0"),
    ({"log_level": "loud"}, "log_level must be one of debug, info, warning, error, critical, got 'loud'"),
    ({"models": ["bc5cdr", "bc5cdr"]}, "a pipeline is given twice: ['bc5cdr', 'bc5cdr']"),
])
def test_bad_options_are_one_clear_line(overrides, message):
    with pytest.raises(ValueError) as error:
        ServeOptions(**overrides).check()
    assert str(error.value) == message


def test_options_reach_worker_processes_through_the_environment(monkeypatch):
    from medner.serve.options import OPTIONS_ENV

    options = ServeOptions(models=["ncbi"], port=9001, max_texts=7, batch_wait_ms=0.0)
    monkeypatch.setenv(OPTIONS_ENV, options.to_env())
    assert ServeOptions.from_env() == options


def test_service_logs_go_to_the_current_stderr_not_a_replaced_one(monkeypatch):
    # an in-process service (tests, notebooks) outlives the stderr it was set up with: a record
    # written after that stream is replaced and closed must reach the new one, not raise in logging
    import io

    from medner.serve.app import configure_logging

    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("info")
    first.close()
    monkeypatch.setattr(sys, "stderr", second)
    try:
        logging.getLogger("medner.serve").info('{"event": "check"}')
    finally:
        for name in ("medner.serve", "medner.serve.access"):  # back to logging's defaults for the other tests
            logging.getLogger(name).handlers[:] = []
            logging.getLogger(name).setLevel(logging.NOTSET)
        logging.getLogger("medner.serve").propagate = True
    assert second.getvalue() == '{"event": "check"}\n'

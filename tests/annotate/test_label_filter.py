"""`medner_label_filter` and `--labels`: the entities a user asked for, the rest set aside, never lost.

Rule-based pipelines (known entities) for exact checks, and the shipped clinical
pipeline (when installed) for real model predictions with assertions.
"""
import json

import pytest
import spacy
from spacy.language import Language
from typer.testing import CliRunner

from medner.annotate import FILTERED_KEY, AnnotateOptions, UnknownLabel, add_label_filter, annotate_file, read_records
from medner.annotate.records import Summary
from medner.ner.label_filter import RELATIONS_KEY, default_page_labels, parse_labels
from medner.relations.component import RELATIONS_KEY as COMPONENT_RELATIONS_KEY, get_relations, set_relations
from medner.cli import app
from medner.annotate.pipelines import load
from ruler import ruler_nlp

TERMS = {"MEDICATION": ["Warfarin", "Metformin"], "DISEASE": ["diabetes", "blood clots"], "ANATOMY": ["heart", "left arm"]}
TEXT = "Warfarin for blood clots; pain in the left arm. Metformin for diabetes.\r\nThe heart is normal."
TEXTS = [TEXT, "No medication today.", "", "Metformin stopped; heart failure."]
runner = CliRunner()


def rules():
    return ruler_nlp(TERMS)


def triples(spans):
    return sorted((s.start_char, s.end_char, s.label_) for s in spans)


@Language.component("medner_test_scored_group")
def scored_group(doc):
    """doc.spans["medner"] with aligned scores/sources, as medner_merge_entities writes it."""
    doc.spans["medner"] = list(doc.ents)
    group = doc.spans["medner"]
    group.attrs["scores"] = [round(0.5 + 0.01 * s.start_char, 2) for s in group]
    group.attrs["sources"] = [f"src-{s.label_}" for s in group]
    return doc


def test_keeps_the_chosen_labels_and_moves_the_rest():
    unfiltered = rules()(TEXT)
    assert {e.label_ for e in unfiltered.ents} == {"MEDICATION", "DISEASE", "ANATOMY"}
    nlp = add_label_filter(rules(), ["MEDICATION", "DISEASE"])
    assert nlp.pipe_names[-1] == "label_filter"
    doc = nlp(TEXT)
    assert triples(doc.ents) == [t for t in triples(unfiltered.ents) if t[2] != "ANATOMY"]
    assert triples(doc.spans[FILTERED_KEY]) == [t for t in triples(unfiltered.ents) if t[2] == "ANATOMY"]
    assert [doc.text[s.start_char:s.end_char] for s in doc.spans[FILTERED_KEY]] == ["left arm", "heart"]
    assert all(token.ent_iob_ == "O" for span in doc.spans[FILTERED_KEY] for token in span)


def test_no_labels_keeps_everything_and_keep_filtered_false_drops():
    doc = add_label_filter(rules(), [])(TEXT)
    assert len(doc.ents) == 6 and FILTERED_KEY not in doc.spans
    doc = add_label_filter(rules(), "ANATOMY", keep_filtered=False)(TEXT)
    assert {e.label_ for e in doc.ents} == {"ANATOMY"} and FILTERED_KEY not in doc.spans


def test_merge_group_and_its_scores_are_filtered_alike():
    nlp = rules()
    nlp.add_pipe("medner_test_scored_group")
    unfiltered = nlp(TEXT)
    before = unfiltered.spans["medner"]
    expected = [(s.start_char, s.label_, score, source) for s, score, source in
                zip(before, before.attrs["scores"], before.attrs["sources"]) if s.label_ == "DISEASE"]
    doc = add_label_filter(nlp, ["DISEASE"])(TEXT)
    group = doc.spans["medner"]
    assert [(s.start_char, s.label_, score, source) for s, score, source in
            zip(group, group.attrs["scores"], group.attrs["sources"])] == expected
    assert len(expected) == 2
    # the group repeats doc.ents: each set-aside span is kept once
    assert triples(doc.spans[FILTERED_KEY]) == [t for t in triples(before) if t[2] != "DISEASE"]


@Language.component("medner_test_relations")
def treats_relations(doc):
    """Each medication "treats" every disease of the doc, as medner_relations stores relations (with scores)."""
    meds = [e for e in doc.ents if e.label_ == "MEDICATION"]
    diseases = [e for e in doc.ents if e.label_ == "DISEASE"]
    set_relations(doc, [(m, d, "TREATS", 0.5 + 0.1 * i, None, None)
                        for i, (m, d) in enumerate((m, d) for m in meds for d in diseases)])
    return doc


def test_relations_go_with_the_entities_set_aside_and_stay_with_the_kept_ones():
    nlp = rules()
    nlp.add_pipe("medner_test_relations")
    unfiltered = nlp(TEXT)
    assert [(r["head"], r["tail"]) for r in get_relations(unfiltered)] == [([0, 8], [13, 24]), ([0, 8], [62, 70]),
                                                                         ([48, 57], [13, 24]), ([48, 57], [62, 70])]
    kept_both = add_label_filter(nlp, ["MEDICATION", "DISEASE"])(TEXT)
    assert get_relations(kept_both) == get_relations(unfiltered) and "filtered_relations" not in kept_both.spans
    doc = add_label_filter(nlp, ["DISEASE"])(TEXT)
    assert get_relations(doc) == []  # no relation points at a medication the output no longer has
    assert get_relations(doc, "filtered_relations") == get_relations(unfiltered)  # set aside, scores aligned
    dropped = add_label_filter(nlp, ["DISEASE"], keep_filtered=False)(TEXT)
    assert get_relations(dropped) == [] and "filtered_relations" not in dropped.spans
    assert RELATIONS_KEY == COMPONENT_RELATIONS_KEY  # the filter names the component's group without importing it
    summary = Summary()
    summary.add_doc(doc, {"entities": []})
    assert summary.to_dict()["relations_filtered_out"] == 4
    assert Summary.from_dict(summary.to_dict()).filtered_relations == 4


def test_unknown_label_is_one_line_naming_the_known_ones():
    with pytest.raises(UnknownLabel) as error:
        add_label_filter(rules(), ["MEDICATION", "DRUG"])
    assert str(error.value) == "unknown label DRUG; this pipeline's labels: ANATOMY, DISEASE, MEDICATION"


def test_round_trip_to_disk_and_bytes_and_config_override(tmp_path):
    nlp = add_label_filter(rules(), ["DISEASE", "MEDICATION"])
    expected = triples(nlp(TEXT).ents)
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert loaded.get_pipe("label_filter").labels == ["DISEASE", "MEDICATION"]
    assert triples(loaded(TEXT).ents) == expected
    copy = spacy.util.load_model_from_config(nlp.config).from_bytes(nlp.to_bytes())
    assert triples(copy(TEXT).ents) == expected
    assert json.loads((tmp_path / "p" / "label_filter" / "cfg").read_text()) == {
        "labels": ["DISEASE", "MEDICATION"], "keep_filtered": True, "spans_key": "medner"}
    # the config setting of spacy.load, for a pipeline that has the component
    anatomy = spacy.load(tmp_path / "p", config={"components": {"label_filter": {"labels": ["ANATOMY"]}}})
    assert {e.label_ for e in anatomy(TEXT).ents} == {"ANATOMY"}
    # a typo in that setting: the first document fails with the one line (medner's loader: at load)
    typo = spacy.load(tmp_path / "p", config={"components": {"label_filter": {"labels": ["ANATOMYY"]}}})
    with pytest.raises(UnknownLabel, match=r"^label_filter \(medner_label_filter\): unknown label ANATOMYY; this pipeline's labels: ANATOMY, DISEASE"):
        typo(TEXT)
    with pytest.raises(UnknownLabel):
        load(tmp_path / "p", config={"components": {"label_filter": {"labels": ["ANATOMYY"]}}})
    # medner's loader replaces the saved filter's labels instead of stacking a second filter
    relabelled = load(tmp_path / "p", labels="ANATOMY")
    assert relabelled.pipe_names.count("label_filter") == 1
    assert {e.label_ for e in relabelled(TEXT).ents} == {"ANATOMY"}


def test_initialize_checks_the_labels():
    nlp = rules()
    label_filter = nlp.add_pipe("medner_label_filter", config={"labels": ["NOPE"]})
    with pytest.raises(UnknownLabel, match="unknown label NOPE; this pipeline's labels: ANATOMY, DISEASE, MEDICATION"):
        label_filter.initialize(lambda: [], nlp=nlp)


def test_labels_parse_and_page_defaults():
    assert parse_labels(" MEDICATION, DISEASE,,MEDICATION ") == ["MEDICATION", "DISEASE"]
    assert default_page_labels(["ANATOMY", "DISEASE", "MEDICATION", "TEST"]) == ["DISEASE", "MEDICATION", "TEST"]
    assert default_page_labels(["Chemical", "Disease"]) == ["Chemical", "Disease"]
    assert default_page_labels(["GENE", "CELL"]) == ["GENE", "CELL"]  # none of the main types: all


@pytest.mark.skipif(not spacy.util.is_package("en_medner_clinical_cnn"),
                    reason="the shipped clinical pipeline is not installed (scripts/install.sh)")
def test_shipped_clinical_pipeline_keeps_assertions_on_the_set_aside_spans():
    text = ("The patient was prescribed Warfarin and aspirin. She denies chest pain and fever. "
            "He underwent surgery of the left knee.")
    full = load("clinical")(text)
    nlp = load("clinical", labels=["MEDICATION", "SIGN_SYMPTOM"])
    doc = nlp(text)
    kept = [(e.start_char, e.end_char, e.label_, e._.assertion) for e in full.ents if e.label_ in ("MEDICATION", "SIGN_SYMPTOM")]
    moved = [(e.start_char, e.end_char, e.label_, e._.assertion) for e in full.ents if e.label_ not in ("MEDICATION", "SIGN_SYMPTOM")]
    assert kept and moved  # real predictions on both sides
    assert [(e.start_char, e.end_char, e.label_, e._.assertion) for e in doc.ents] == kept
    assert sorted((s.start_char, s.end_char, s.label_, s._.assertion) for s in doc.spans[FILTERED_KEY]) == sorted(moved)
    assert any(a == "negated" for *_, a in kept)


# --------------------------------------------------------------------------- #
# medner annotate --labels
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "rules"
    rules().to_disk(path)
    return path


@pytest.fixture
def inputs(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(TEXTS)), encoding="utf-8")
    return path


def invoke(*args):
    return runner.invoke(app, ["annotate", *map(str, args), "--no-progress"])


def test_cli_labels_output_has_only_those_labels(tmp_path, model_dir, inputs):
    out = tmp_path / "out.jsonl"
    result = invoke(inputs, out, "-m", model_dir, "--labels", "MEDICATION,DISEASE", "--summary", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    records = read_records(out)
    labels = [e["label"] for r in records for e in r["entities"]]
    assert sorted(set(labels)) == ["DISEASE", "MEDICATION"] and len(labels) == 5
    for record, text in zip(records, TEXTS):
        assert all(text[e["start"]:e["end"]] == e["text"] for e in record["entities"])
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["filtered_out_per_label"] == {"ANATOMY": 3} and summary["filtered_out"] == 3
    # the API gives the same records
    annotate_file(inputs, tmp_path / "api.jsonl", load(model_dir), AnnotateOptions(progress=False, labels=("DISEASE", "MEDICATION")))
    assert read_records(tmp_path / "api.jsonl") == records


def test_cli_unknown_label_is_one_line_exit_1(tmp_path, model_dir, inputs):
    result = invoke(inputs, tmp_path / "out.jsonl", "-m", model_dir, "--labels", "MEDICATION,Drug")
    assert result.exit_code == 1
    assert "✘ --labels: unknown label Drug; this pipeline's labels: ANATOMY, DISEASE, MEDICATION" in " ".join(result.output.split())
    assert "Traceback" not in result.output and not (tmp_path / "out.jsonl").exists()


def test_cli_resume_with_other_labels_is_refused(tmp_path, model_dir, inputs):
    out = tmp_path / "out.jsonl"
    assert invoke(inputs, out, "-m", model_dir, "--labels", "MEDICATION", "--limit", 2).exit_code == 0
    result = invoke(inputs, out, "-m", model_dir, "--labels", "DISEASE")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "was written with other settings (labels ['MEDICATION'] -> ['DISEASE'])" in " ".join(result.output.split())
    result = invoke(inputs, out, "-m", model_dir)  # no filter is another setting too
    assert result.exit_code == 1 and "labels ['MEDICATION'] -> None" in " ".join(result.output.split())
    # the same labels in another order resume; --restart starts over with new ones
    assert invoke(inputs, out, "-m", model_dir, "--labels", "MEDICATION,MEDICATION").exit_code == 0
    assert len(read_records(out)) == len(TEXTS)
    assert {e["label"] for r in read_records(out) for e in r["entities"]} == {"MEDICATION"}
    assert invoke(inputs, out, "-m", model_dir, "--labels", "DISEASE", "--restart").exit_code == 0
    assert {e["label"] for r in read_records(out) for e in r["entities"]} == {"DISEASE"}


def test_dask_labels_and_resume(tmp_path, model_dir, inputs):
    pytest.importorskip("distributed")
    from medner.annotate.dask import annotate_dask

    out = tmp_path / "dask"
    options = AnnotateOptions(progress=False, labels=("MEDICATION", "DISEASE"))
    annotate_dask(inputs, out, str(model_dir), options, scheduler="local", workers=1, partition_size=2)
    single = tmp_path / "single.jsonl"
    annotate_file(inputs, single, load(model_dir), options)
    assert read_records(out) == read_records(single)
    assert {e["label"] for r in read_records(out) for e in r["entities"]} == {"MEDICATION", "DISEASE"}
    with pytest.raises(ValueError, match=r"\(labels changed\)"):
        annotate_dask(inputs, out, str(model_dir), AnnotateOptions(progress=False, labels=("ANATOMY",)), workers=1, partition_size=2)
    with pytest.raises(UnknownLabel, match="unknown label Drug"):
        annotate_dask(inputs, tmp_path / "typo", str(model_dir), AnnotateOptions(progress=False, labels=("Drug",)))
    assert not (tmp_path / "typo" / "_manifest.json").exists()


# --------------------------------------------------------------------------- #
# medner serve --labels and a request's labels
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def service():
    pytest.importorskip("fastapi")
    import httpx

    from medner.serve.app import create_app
    from medner.serve.options import ServeOptions
    from serve_helpers import running_server

    own_filter = add_label_filter(rules(), ["ANATOMY"])  # a pipeline that ships its own filter
    app = create_app(ServeOptions(labels=["MEDICATION", "DISEASE"]), {"rules": rules(), "anatomy-only": own_filter})
    with running_server(app) as (url, _), httpx.Client(base_url=url, timeout=30) as client:
        yield client


def entity_labels(response):
    assert response.status_code == 200, response.text
    return [[e["label"] for e in d["entities"]] for d in response.json()["documents"]]


def test_serve_default_labels_and_request_labels(service, inputs, model_dir, tmp_path):
    # the service's --labels, then a request's own, then every label
    default = service.post("/annotate", json={"text": TEXT})
    assert entity_labels(default) == [["MEDICATION", "DISEASE", "MEDICATION", "DISEASE"]]
    assert default.json()["documents"][0]["filtered_out"] == {"ANATOMY": 2}
    own = service.post("/annotate", json={"texts": TEXTS, "labels": ["ANATOMY"]})
    assert entity_labels(own) == [["ANATOMY", "ANATOMY"], [], [], ["ANATOMY"]]
    assert [d.get("filtered_out") for d in own.json()["documents"]] == [{"DISEASE": 2, "MEDICATION": 2}, None, None, {"MEDICATION": 1}]
    everything = service.post("/annotate", json={"text": TEXT, "labels": []})
    assert entity_labels(everything) == [["MEDICATION", "DISEASE", "ANATOMY", "MEDICATION", "DISEASE", "ANATOMY"]]
    assert "filtered_out" not in everything.json()["documents"][0]
    # the entities are those of medner annotate --labels
    annotate_file(inputs, tmp_path / "cli.jsonl", load(model_dir), AnnotateOptions(progress=False, labels=("ANATOMY",)))
    assert [d["entities"] for d in own.json()["documents"]] == [r["entities"] for r in read_records(tmp_path / "cli.jsonl")]


def test_serve_pipeline_own_filter_is_its_default_and_can_be_widened(service):
    assert entity_labels(service.post("/annotate", json={"text": TEXT, "pipeline": "anatomy-only", "labels": []}))[0].count("MEDICATION") == 2
    info = {p["name"]: p for p in service.get("/info").json()["pipelines"]}
    # --labels is the default for every pipeline (those it has); the page checks them
    assert info["rules"]["default_labels"] == ["MEDICATION", "DISEASE"] == info["rules"]["page_labels"]
    assert info["rules"]["labels"] == ["ANATOMY", "DISEASE", "MEDICATION"]


def test_serve_unknown_request_label_is_422_naming_the_pipeline_labels(service):
    response = service.post("/annotate", json={"text": TEXT, "labels": ["MEDICATION", "Drug"]})
    assert response.status_code == 422
    assert response.json() == {"error": "unknown_label", "message":
                               "labels: unknown label Drug; pipeline 'rules' labels: ANATOMY, DISEASE, MEDICATION"}


def test_serve_page_labels_default_to_the_main_types():
    from medner.serve.app import service_labels

    nlp = ruler_nlp({"MEDICATION": ["Warfarin"], "ANATOMY": ["heart"], "TEST": ["ECG"]})
    assert service_labels({"clinical": nlp}, []) == {"clinical": (["ANATOMY", "MEDICATION", "TEST"], [])}
    assert default_page_labels(["ANATOMY", "MEDICATION", "TEST"]) == ["MEDICATION", "TEST"]
    with pytest.raises(UnknownLabel, match=r"^--labels: unknown label DISEASE; this pipeline's labels: ANATOMY, MEDICATION, TEST$"):
        service_labels({"clinical": nlp}, ["DISEASE"])
    genes = ruler_nlp({"GENE": ["BRCA1"]})
    with pytest.raises(UnknownLabel, match=r"^--labels: unknown label DISEASE; the served pipelines' labels: ANATOMY, GENE, MEDICATION, TEST$"):
        service_labels({"clinical": nlp, "genes": genes}, ["MEDICATION", "DISEASE"])
    with pytest.raises(UnknownLabel, match=r"^--labels: pipeline 'genes' has none of MEDICATION; its labels: GENE$"):
        service_labels({"clinical": nlp, "genes": genes}, ["MEDICATION"])
    assert service_labels({"clinical": nlp, "genes": genes}, ["GENE", "TEST"]) == {
        "clinical": (["ANATOMY", "MEDICATION", "TEST"], ["TEST"]), "genes": (["GENE"], ["GENE"])}


def test_cli_serve_unknown_label_is_one_line(model_dir):
    pytest.importorskip("fastapi")
    result = runner.invoke(app, ["serve", "--model", str(model_dir), "--labels", "MEDICATION,Drug"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "✘ --labels: unknown label Drug; this pipeline's labels: ANATOMY, DISEASE, MEDICATION" in " ".join(result.output.split())

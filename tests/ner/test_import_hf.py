"""``medner import-hf``: a Hugging Face token classifier by Hub id (through an offline cache) or
directory becomes a spaCy pipeline that loads offline, annotates with exact offsets and medner's labels.

The models are tiny random BERTs (``tests/tiny_bert.py``), made context-free with
keywords so their predictions are known; the "Hub" is a temporary ``HF_HOME``
laid out as ``huggingface_hub`` caches a download. Nothing touches the network.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import spacy  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from medner.annotate import read_records  # noqa: E402
from medner.cli import app  # noqa: E402
from medner.ner.hf import hub  # noqa: E402
from medner.annotate.pipelines import is_installed  # noqa: E402

from tiny_bert import lay_out_hf_cache, make_tiny_token_classifier  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
REVISION = "4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2"
MACCROBAT_TAGS = ["O", "B-Medication", "I-Medication", "B-Disease_disorder", "I-Disease_disorder",
                  "B-Sign_symptom", "I-Sign_symptom", "B-Diagnostic_procedure", "I-Diagnostic_procedure", "B-Age", "I-Age"]
MACCROBAT_KEYWORDS = {"aspirin": "B-Medication", "renal": "B-Disease_disorder", "failure": "I-Disease_disorder",
                      "fever": "B-Sign_symptom", "biopsy": "B-Diagnostic_procedure"}
TEXT = "Aspirin (81 mg) was stopped; renal failure\r\nand fever 😀 after biopsy."
EXPECTED = [("Aspirin", "MEDICATION"), ("renal failure", "DISEASE"), ("fever", "SIGN_SYMPTOM"), ("biopsy", "TEST")]
runner = CliRunner()


@pytest.fixture(scope="module")
def maccrobat_model(tmp_path_factory):
    return make_tiny_token_classifier(tmp_path_factory.mktemp("m") / "model", MACCROBAT_TAGS, keywords=MACCROBAT_KEYWORDS)


@pytest.fixture()
def hf_cache(tmp_path, monkeypatch):
    """An empty offline Hugging Face cache that this process's huggingface_hub uses."""
    from huggingface_hub import constants

    cache = tmp_path / "hf_home" / "hub"
    cache.mkdir(parents=True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def entities(nlp, text):
    return [(e.text, e.label_, e.start_char, e.end_char) for e in nlp(text).ents]


def check_expected(found, text=TEXT):
    assert [(t, label) for t, label, _, _ in found] == EXPECTED
    assert all(text[start:end] == t for t, _, start, end in found)


def test_hub_id_from_offline_cache_to_a_pipeline_that_needs_neither(tmp_path, maccrobat_model):
    """`medner import-hf org/name` as a user runs it: HF_HOME cache, HF_HUB_OFFLINE=1, a subprocess."""
    hf_home = tmp_path / "hf_home"
    lay_out_hf_cache(maccrobat_model, hf_home, "medner-test/tiny-maccrobat", REVISION)
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("HF_HUB_CACHE", None)
    out = tmp_path / "pipeline"
    run = subprocess.run([sys.executable, "-m", "medner", "import-hf", "medner-test/tiny-maccrobat", str(out),
                          "--labels-map", "maccrobat"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert REVISION in run.stdout and "Medication -> MEDICATION" in run.stdout
    shutil.rmtree(hf_home)  # the pipeline holds its own weights and tokenizer
    saved = out / "hf" / "model"
    assert (saved / "model.safetensors").is_file() and not (saved / "model.safetensors").is_symlink()
    assert (saved / "tokenizer.json").is_file()
    nlp = spacy.load(out)
    assert nlp.pipe_names == ["hf"]
    assert nlp.config["components"]["hf"]["model_dir"] is None  # nothing points back at the cache
    imported = nlp.meta["medner"]["import_hf"]
    assert imported["model"] == "medner-test/tiny-maccrobat" and imported["revision"] == REVISION
    assert imported["unmapped_labels"] == ["Age"]  # a MACCROBAT type outside the clinical schema: kept, listed
    assert "Kept as they are (no --labels-map rule): Age" in " ".join(run.stdout.split())
    assert nlp.get_pipe("hf").labels == ("MEDICATION", "DISEASE", "SIGN_SYMPTOM", "TEST", "Age")
    check_expected(entities(nlp, TEXT))

    notes = tmp_path / "notes.jsonl"
    notes.write_text(json.dumps({"id": "n1", "text": TEXT}) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["annotate", str(notes), str(tmp_path / "out.jsonl"), "--model", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    (record,) = read_records(tmp_path / "out.jsonl")
    found = [(e["text"], e["label"], e["start"], e["end"]) for e in record["entities"]]
    check_expected(found)


def test_directory_with_a_json_map_lists_what_it_kept(tmp_path):
    model = make_tiny_token_classifier(tmp_path / "biobert-ner", ["Chemical", "Disease", "Gene"],
                                       keywords={"aspirin": "B-Chemical", "fever": "B-Disease", "brca": "B-Gene"})
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"B-Chemical": "CHEMICAL", "disease": "DISEASE", "Protein": "PROTEIN"}))
    out = tmp_path / "pipeline"
    result = runner.invoke(app, ["import-hf", str(model), str(out), "--labels-map", str(labels)])
    assert result.exit_code == 0, result.output
    assert "Kept as they are (no --labels-map rule): Gene" in result.output
    assert "keys the model does not predict: Protein" in result.output
    nlp = spacy.load(out)
    assert nlp.meta["medner"]["import_hf"]["unmapped_labels"] == ["Gene"]
    assert nlp.meta["medner"]["import_hf"]["revision"] is None
    assert nlp.meta["name"] == "hf_biobert_ner"
    text = "Aspirin, not BRCA, caused fever."
    assert [(t, label) for t, label, _, _ in entities(nlp, text)] == [("Aspirin", "CHEMICAL"), ("BRCA", "Gene"), ("fever", "DISEASE")]


def test_presets_follow_the_corpus_schemas_ignoring_case():
    maccrobat = hub.map_labels(["Medication", "Disease_disorder", "Therapeutic_procedure", "Sign_symptom", "Lab_value",
                                "DIAGNOSTIC_PROCEDURE", "Biological_structure", "Administration", "Coreference"], "maccrobat")
    assert maccrobat.label_map == {"Medication": "MEDICATION", "Disease_disorder": "DISEASE", "Therapeutic_procedure": "TREATMENT",
                                   "Sign_symptom": "SIGN_SYMPTOM", "Lab_value": "LAB_VALUE", "DIAGNOSTIC_PROCEDURE": "TEST",
                                   "Biological_structure": "ANATOMY", "Administration": "ROUTE", "Coreference": "Coreference"}
    assert maccrobat.unmapped == ["Coreference"]
    bc5cdr = hub.map_labels(["CHEMICAL", "Disease", "Gene"], "bc5cdr")
    assert bc5cdr.label_map == {"CHEMICAL": "CHEMICAL", "Disease": "DISEASE", "Gene": "Gene"}
    assert bc5cdr.unmapped == ["Gene"]
    ncbi = hub.map_labels(["Disease", "SpecificDisease"], "ncbi_disease")
    assert ncbi.label_map == {"Disease": "DISEASE", "SpecificDisease": "DISEASE"} and not ncbi.unmapped
    plain = hub.map_labels(["Chemical"], None)
    assert plain.label_map == {"Chemical": "Chemical"} and plain.unmapped == ["Chemical"]


def assert_one_line_failure(result, *expected):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    # one message (wasabi wraps it to the terminal's width)
    assert result.output.count("\u2718") == 1, result.output
    message = " ".join(result.output.split())
    for text in expected:
        assert text in message, message


def test_model_not_in_the_cache_says_how_to_get_it(tmp_path, hf_cache, monkeypatch):
    result = runner.invoke(app, ["import-hf", "medner-test/absent", str(tmp_path / "out")])
    assert_one_line_failure(result, "medner-test/absent is not in the Hugging Face cache", str(hf_cache), "HF_HUB_OFFLINE")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    result = runner.invoke(app, ["import-hf", "medner-test/absent", str(tmp_path / "out")])
    assert_one_line_failure(result, "rerun with --allow-download", "huggingface-cli download medner-test/absent")
    result = runner.invoke(app, ["import-hf", "no/such/dir", str(tmp_path / "out")])
    assert_one_line_failure(result, "neither a directory nor a Hugging Face model id")
    assert not (tmp_path / "out").exists()


def test_a_sequence_classifier_is_refused(tmp_path, hf_cache):
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8,
                        id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1})
    BertForSequenceClassification(config).save_pretrained(tmp_path / "sentiment")
    lay_out_hf_cache(tmp_path / "sentiment", hf_cache.parent, "medner-test/sentiment")
    result = runner.invoke(app, ["import-hf", "medner-test/sentiment", str(tmp_path / "out")])
    assert_one_line_failure(result, "BertForSequenceClassification, not a token-classification (NER) model")


def test_a_slow_only_tokenizer_is_refused(tmp_path, hf_cache):
    """A tokenizer class without a fast version (CTRL's BPE) cannot give character offsets."""
    from transformers import CTRLTokenizer

    model = make_tiny_token_classifier(tmp_path / "slow", ["Chemical"])
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        (model / name).unlink(missing_ok=True)
    (tmp_path / "vocab.json").write_text(json.dumps({"<unk>": 0, "a": 1, "b": 2}))
    (tmp_path / "merges.txt").write_text("#version: 0.2\na b\n")
    CTRLTokenizer(str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt")).save_pretrained(model)
    lay_out_hf_cache(model, hf_cache.parent, "medner-test/slow-tokenizer")
    result = runner.invoke(app, ["import-hf", "medner-test/slow-tokenizer", str(tmp_path / "out")])
    assert_one_line_failure(result, "has only a slow tokenizer (CTRLTokenizer)", "tokenizer.json")


def test_unknown_labels_map_and_missing_shipped_pipeline(tmp_path, maccrobat_model, monkeypatch):
    result = runner.invoke(app, ["import-hf", str(maccrobat_model), str(tmp_path / "a"), "--labels-map", "i2b2"])
    assert_one_line_failure(result, "--labels-map i2b2: neither a preset (maccrobat, bc5cdr, ncbi_disease) nor a JSON file")
    monkeypatch.setattr(hub, "LINKER_SOURCES", ("en_medner_not_installed",))
    result = runner.invoke(app, ["import-hf", str(maccrobat_model), str(tmp_path / "b"), "--with-linker"])
    assert_one_line_failure(result, "--with-linker", "en_medner_not_installed", "pip install --no-index --find-links releases/")


@pytest.mark.skipif(not is_installed("en_medner_clinical_cnn"), reason="needs the shipped clinical pipeline (releases/0.2.0)")
def test_with_linker_and_assertion_from_the_shipped_pipeline(tmp_path, maccrobat_model):
    out = tmp_path / "pipeline"
    result = runner.invoke(app, ["import-hf", str(maccrobat_model), str(out), "--labels-map", "maccrobat",
                                 "--with-linker", "--with-assertion"])
    assert result.exit_code == 0, result.output
    nlp = spacy.load(out)
    factories = [nlp.get_pipe_meta(name).factory for name in nlp.pipe_names]
    # the shipped clinical pipeline's assertion and linker (0.2.0 also had an abbreviation detector)
    assert factories[:2] == ["hf_token_classifier", "medner_assertion"] and factories[-1] == "medner_linker", factories
    doc = nlp("No fever. Aspirin was given for renal failure.")
    found = {e.text: (e.label_, e._.assertion, e.kb_id_) for e in doc.ents}
    assert found["fever"][1] == "negated" and found["Aspirin"][1] == "present"
    assert found["Aspirin"][2] == "D001241"  # MeSH aspirin
    assert found["renal failure"][2], found


@pytest.mark.skipif(not is_installed("en_medner_bc5cdr_cnn_fast"), reason="needs the shipped bc5cdr pipeline (releases/0.2.0)")
def test_merge_with_a_shipped_cnn_adds_what_only_the_classifier_finds(tmp_path):
    model = make_tiny_token_classifier(tmp_path / "model", ["Chemical", "Disease"],
                                       keywords={"cisplatin": "B-Chemical", "thermoplegia": "B-Disease"})
    out = tmp_path / "pipeline"
    result = runner.invoke(app, ["import-hf", str(model), str(out), "--labels-map", "bc5cdr", "--merge-with", "bc5cdr"])
    assert result.exit_code == 0, result.output
    nlp = spacy.load(out)
    names = nlp.pipe_names
    assert names.index("ner") < names.index("hf") < names.index("merge") < names.index("medner_linker")
    assert nlp.meta["medner"]["import_hf"]["merged_with"].startswith("en_medner_bc5cdr_cnn_fast")
    text = "Cisplatin-induced nephrotoxicity with thermoplegia."
    doc = nlp(text)
    merged = doc.spans["medner"]
    found = {(s.text, s.label_, source) for s, source in zip(merged, merged.attrs["sources"])}
    # the CNN's entities win overlaps (prefer_first); the classifier adds what the CNN missed
    assert ("Cisplatin", "CHEMICAL", "ents") in found and ("thermoplegia", "DISEASE", "hf") in found, found
    assert [e.text for e in doc.ents] == [s.text for s in merged]
    assert all(text[e.start_char:e.end_char] == e.text for e in doc.ents)


def test_service_serves_the_imported_pipeline(tmp_path, maccrobat_model):
    import httpx

    from medner.serve.app import create_app
    from medner.serve.options import ServeOptions
    from serve_helpers import running_server

    out = tmp_path / "pipeline"
    assert runner.invoke(app, ["import-hf", str(maccrobat_model), str(out), "--labels-map", "maccrobat"]).exit_code == 0
    with running_server(create_app(ServeOptions(models=[str(out)]))) as (url, _):
        response = httpx.post(f"{url}/annotate", json={"text": TEXT}, timeout=60)
    assert response.status_code == 200, response.text
    (record,) = response.json()["documents"]
    check_expected([(e["text"], e["label"], e["start"], e["end"]) for e in record["entities"]])


@pytest.mark.slow
def test_packaged_pipeline_installs_by_name_in_a_clean_venv(tmp_path, maccrobat_model):
    """--package: the wheel (plus medner's) installs in a fresh venv and annotates by package name, offline."""
    import medner
    from medner.release.packaging import CleanVenv

    out, packages = tmp_path / "pipeline", tmp_path / "packages"
    result = runner.invoke(app, ["import-hf", str(maccrobat_model), str(out), "--labels-map", "maccrobat",
                                 "--package", "--package-dir", str(packages), "--name", "tiny_maccrobat"])
    assert result.exit_code == 0, result.output
    wheel = next(packages.glob("en_tiny_maccrobat-1.0.0/dist/*.whl"))
    medner_wheel = next((packages / "wheels").glob(f"medner-{medner.__version__}-*.whl"))
    env = CleanVenv(tmp_path / "venv")
    installed = env.pip_install("-c", str(ROOT / "constraints.txt"), f"{medner_wheel}[transformers]", str(wheel))
    assert installed.returncode == 0, installed.stderr
    probe = ("import json, spacy, sys; nlp = spacy.load('en_tiny_maccrobat'); doc = nlp(sys.argv[1]);"
             "print(json.dumps([[e.text, e.label_, e.start_char, e.end_char] for e in doc.ents]))")
    run = env.run(probe, TEXT, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    check_expected([tuple(e) for e in json.loads(run.stdout)])

"""Assertion read like a clinician (issue 18): working diagnoses are uncertain, a held or stopped drug gets a
status (``span._.medication_status``) instead of a negation, and the status survives saving and reaches the JSONL."""
import json

import pytest
import spacy
from spacy.training import Example
from thinc.api import ConfigValidationError

import medner.assertion.component  # noqa: F401  registers the factory and the extensions
from medner.tokenizer import blank_biomedical

from test_assertion import training_docs, with_ents


@pytest.fixture(scope="module")
def rules_nlp():
    nlp = blank_biomedical()
    nlp.add_pipe("medner_assertion", config={"method": "rules"})
    return nlp


def judged(nlp, text, target, label):
    (ent,) = nlp(with_ents(nlp, text, [target], label=label)).ents
    assert ent.text == target
    return ent._.assertion, ent._.medication_status


@pytest.mark.parametrize("text,target", [
    ("The patient may have pneumonia.", "pneumonia"),
    ("We suspect pulmonary embolism.", "pulmonary embolism"),
    ("CT of the abdomen to rule out appendicitis.", "appendicitis"),
    ("Chest X-ray, r/o pneumonia.", "pneumonia"),
    ("Concern for sepsis; start vancomycin.", "sepsis"),
    ("Myocardial infarction cannot be excluded.", "Myocardial infarction"),
    ("Possible cellulitis of the left leg.", "cellulitis"),
    ("Likely viral gastroenteritis.", "viral gastroenteritis"),
    ("Pulmonary embolism has not been ruled out.", "Pulmonary embolism"),
])
def test_working_diagnoses_are_uncertain(rules_nlp, text, target):
    # "cannot be excluded" and "not been ruled out" are pseudo-negations; as a whole they are uncertainty triggers.
    assert judged(rules_nlp, text, target, "DISEASE") == ("uncertain", "")


@pytest.mark.parametrize("text,target,value,status", [
    ("Lisinopril was discontinued because of a persistent dry cough.", "Lisinopril", "present", "discontinued"),
    ("Warfarin 5 mg PO daily - held.", "Warfarin", "present", "held"),
    ("HTN: continue Amlodipine, hold Lisinopril for AKI.", "Lisinopril", "present", "held"),
    ("HTN: continue Amlodipine, hold Lisinopril for AKI.", "Amlodipine", "present", "continued"),
    ("Ceftriaxone 1 g IV daily was switched to oral azithromycin.", "Ceftriaxone", "present", "stopped"),
    ("Ceftriaxone 1 g IV daily was switched to oral azithromycin.", "azithromycin", "present", "started"),
    ("Prednisone was tapered off over two weeks.", "Prednisone", "present", "stopped"),
    ("He was previously on Metformin but stopped it in 2020.", "Metformin", "historical", "stopped"),
    ("Patient was started on Levothyroxine 50 mcg daily.", "Levothyroxine", "present", "started"),
    ("Atorvastatin was increased to 80 mg daily.", "Atorvastatin", "present", "increased"),
    ("Gabapentin was decreased to 100 mg at bedtime.", "Gabapentin", "present", "decreased"),
    ("He is not on aspirin.", "aspirin", "negated", ""),
])
def test_medication_status_and_held_drugs_are_not_negated(rules_nlp, text, target, value, status):
    assert judged(rules_nlp, text, target, "MEDICATION") == (value, status)


def test_status_is_only_for_medication_labels(rules_nlp):
    # "was discontinued" still negates a treatment (MACCROBAT's NEG: "ventilation was discontinued").
    assert judged(rules_nlp, "Mechanical ventilation was discontinued.", "Mechanical ventilation", "TREATMENT") == (
        "negated", "")
    nlp = blank_biomedical()
    nlp.add_pipe("medner_assertion", config={"method": "rules", "medication_labels": ["DRUG"]})
    assert judged(nlp, "Lisinopril was discontinued.", "Lisinopril", "DRUG") == ("present", "discontinued")
    assert judged(nlp, "Lisinopril was discontinued.", "Lisinopril", "MEDICATION") == ("negated", "")


def test_combined_method_keeps_a_held_drug_present(tmp_path):
    """The classifier learns "was held" as a negation (MACCROBAT does); the status still wins for a drug."""
    nlp = blank_biomedical()
    component = nlp.add_pipe("medner_assertion", config={"method": "combined"})
    docs = training_docs(nlp) + [d for d in training_docs(nlp) if "No fever" in d.text]
    examples = [Example(nlp.make_doc(d.text), d) for d in docs]
    component.initialize(lambda: examples, nlp=nlp, C=10.0, min_count=1)
    text = "No fever. Metformin was held. Possible pneumonia."
    doc = nlp(with_ents(nlp, text, ["fever", "Metformin", "pneumonia"], label="SIGN"))
    assert [e._.assertion for e in doc.ents] == ["negated", "negated", "uncertain"]  # not a drug: negated
    drug = with_ents(nlp, text, ["fever", "Metformin", "pneumonia"], label="SIGN")
    drug.ents = [drug.ents[0], drug.char_span(10, 19, label="MEDICATION"), drug.ents[2]]
    doc = nlp(drug)
    assert [(e._.assertion, e._.medication_status) for e in doc.ents] == [
        ("negated", ""), ("present", "held"), ("uncertain", "")]


def test_status_rules_round_trip(tmp_path, rules_nlp):
    nlp = blank_biomedical()
    component = nlp.add_pipe("medner_assertion", config={"method": "rules"})
    component.status_rules = component.status_rules + [{"phrase": "skipped", "status": "held", "direction": "forward"}]
    component._compile()
    text = "She skipped apixaban before surgery."
    assert judged(nlp, text, "apixaban", "MEDICATION") == ("present", "held")
    nlp.to_disk(tmp_path / "p")
    assert (tmp_path / "p" / "medner_assertion" / "status_rules.json").exists()
    reloaded = spacy.load(tmp_path / "p")
    assert judged(reloaded, text, "apixaban", "MEDICATION") == ("present", "held")
    from_bytes = blank_biomedical()
    from_bytes.add_pipe("medner_assertion", config={"method": "rules"}).from_bytes(component.to_bytes())
    assert judged(from_bytes, text, "apixaban", "MEDICATION") == ("present", "held")
    # A pipeline saved before medication status (no status_rules.json) loads with the default status rules.
    (tmp_path / "p" / "medner_assertion" / "status_rules.json").unlink()
    old = spacy.load(tmp_path / "p")
    assert judged(old, "Warfarin was held.", "Warfarin", "MEDICATION") == ("present", "held")
    assert judged(old, text, "apixaban", "MEDICATION") == ("present", "")


def test_bad_settings_are_named():
    with pytest.raises(ConfigValidationError, match="trust_rules_for"):
        blank_biomedical().add_pipe("medner_assertion", config={"trust_rules_for": ["maybe"]})
    with pytest.raises(ValueError, match="status_scope"):
        blank_biomedical().add_pipe("medner_assertion", config={"status_scope": -1})


def test_annotate_jsonl_carries_the_medication_status(tmp_path):
    from typer.testing import CliRunner

    from medner.cli import app

    nlp = blank_biomedical()
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "MEDICATION", "pattern": [{"LOWER": "warfarin"}]},
                        {"label": "DISEASE", "pattern": [{"LOWER": "pneumonia"}]}])
    nlp.add_pipe("medner_assertion", name="assertion", config={"method": "rules"})
    nlp.to_disk(tmp_path / "pipeline")
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "a", "text": "Warfarin was held. Possible pneumonia."}) + "\n")
    result = CliRunner().invoke(app, ["annotate", str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"),
                                      "--model", str(tmp_path / "pipeline"), "--no-progress"])
    assert result.exit_code == 0, result.output
    (record,) = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    warfarin, pneumonia = record["entities"]
    assert (warfarin["text"], warfarin["assertion"], warfarin["medication_status"]) == ("Warfarin", "present", "held")
    assert (pneumonia["text"], pneumonia["assertion"]) == ("pneumonia", "uncertain")
    assert "medication_status" not in pneumonia  # written only where a status was found


def gold_doc(nlp, text, target, label, value):
    from medner.corpus.assertions import ASSERTION_KEY

    doc = nlp.make_doc(text)
    start = text.index(target)
    doc.spans[ASSERTION_KEY] = [doc.char_span(start, start + len(target), label=value)]
    doc.spans[ASSERTION_KEY].attrs["entity_labels"] = [label]
    return doc


def test_ended_drugs_that_the_gold_negates_are_counted_not_hidden(rules_nlp):
    from medner.assertion.evaluation import ended_drug_accounting

    golds = [gold_doc(rules_nlp, "Levodopa was held for 12 h.", "Levodopa", "MEDICATION", "negated"),
             gold_doc(rules_nlp, "No fever.", "fever", "SIGN_SYMPTOM", "negated")]
    result = ended_drug_accounting(golds, rules_nlp, "medner_assertion")
    assert result["gold_negated_ended_drugs"] == 1
    assert result["spans"] == [{"text": "Levodopa", "status": "held", "predicted": "present"}]
    assert result["without_them"]["negated"]["f"] == 1.0 and result["without_them"]["spans"] == 1


def test_statuses_on_the_clinical_notes_gold(rules_nlp):
    from pathlib import Path

    from medner.assertion.evaluation import evaluate_statuses
    from medner.corpus.notes import read_notes

    gold = read_notes(Path(__file__).parents[2] / "assets" / "clinical_notes" / "notes.jsonl", rules_nlp)
    result = evaluate_statuses(gold, rules_nlp, "medner_assertion")
    assert result["spans"] >= 80  # every MEDICATION of the set, "none" included
    assert result["held"]["support"] >= 4 and result["held"]["f"] >= 0.8
    assert result["accuracy"] >= 0.85


def test_service_response_carries_the_medication_status():
    import httpx
    from ruler import ruler_nlp
    from serve_helpers import running_server

    from medner.serve.app import create_app
    from medner.serve.options import ServeOptions

    nlp = ruler_nlp({"MEDICATION": ["Warfarin"], "DISEASE": ["pneumonia"]})
    nlp.add_pipe("medner_assertion", config={"method": "rules"})
    with running_server(create_app(ServeOptions(), {"rules": nlp})) as (url, _server):
        response = httpx.post(f"{url}/annotate", json={"text": "Warfarin was held. Possible pneumonia."}, timeout=30)
    assert response.status_code == 200
    [record] = response.json()["documents"]
    assert [(e["text"], e["assertion"], e.get("medication_status")) for e in record["entities"]] == [
        ("Warfarin", "present", "held"), ("pneumonia", "uncertain", None)]

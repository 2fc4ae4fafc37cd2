"""The clinical-notes regression set: the shipped file stays valid, a broken record is named by its line,
the README's counts are the file's, and the scorer gives 100 to the gold and less to a pipeline that misses."""
import json
import re
from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import Doc, Span

import medner.assertion.component  # noqa: F401  (registers span._.assertion)
from medner.evaluation.clinical_notes import score_notes, to_clinical
from medner.corpus.assertions import ASSERTION_KEY, ASSERTION_VALUES
from medner.corpus.notes import (
    ASSERTABLE_LABELS, CLINICAL_LABELS, MEDICATION_STATUSES, STATUS_KEY, NotesError, count_notes, counts_table,
    read_notes, read_records,
)
from script_loader import invoke_script, load_script

ROOT = Path(__file__).resolve().parents[2]
NOTES = ROOT / "assets" / "clinical_notes" / "notes.jsonl"
README = ROOT / "assets" / "clinical_notes" / "README.md"
GOOD = {"id": "t-1", "text": "Metformin 500 mg PO BID; denies chest pain.", "section": "medication_list", "entities": [
    {"start": 0, "end": 9, "text": "Metformin", "label": "MEDICATION", "assertion": "present", "medication_status": "held"},
    {"start": 10, "end": 16, "text": "500 mg", "label": "DOSAGE"},
    {"start": 32, "end": 42, "text": "chest pain", "label": "SIGN_SYMPTOM", "assertion": "negated"},
]}


def test_shipped_notes_validate_and_cover_the_schema():
    records = read_records(NOTES)
    counts = count_notes(records)
    assert counts["records"] >= 110
    assert all(counts["labels"][label] > 0 for label in CLINICAL_LABELS)
    assert all(sum(counts["assertions"][label][v] for label in ASSERTABLE_LABELS) > 0 for v in ASSERTION_VALUES)
    assert all(counts["medication_status"][s] > 0 for s in MEDICATION_STATUSES)


def test_gold_docs_carry_ents_assertions_and_statuses():
    doc = read_notes(NOTES)[0]
    assert [(e.text, e.label_) for e in doc.ents] == [("Metformin", "MEDICATION"), ("500 mg", "DOSAGE"), ("PO", "ROUTE"), ("BID", "FREQUENCY")]
    assert [(s.text, s.label_) for s in doc.spans[ASSERTION_KEY]] == [("Metformin", "present")]
    assert doc.spans[ASSERTION_KEY].attrs["entity_labels"] == ["MEDICATION"]
    assert [(s.text, s.label_) for s in doc.spans[STATUS_KEY]] == [("Metformin", "none")]


def _entity(i, **changes):
    record = json.loads(json.dumps(GOOD))
    record["entities"][i].update(changes)
    return record


BROKEN = [
    (_entity(0, end=99), "bad offsets 0-99"),
    (_entity(0, text="Metformine"), "not 'Metformine'"),
    (_entity(1, label="DOSE"), "unknown label 'DOSE'"),
    (_entity(1, start=0, text="Metformin 500 mg"), "overlap"),
    (_entity(0, end=5, text="Metfo"), "not on token boundaries"),
    (_entity(2, assertion=None), "needs an assertion"),
    (_entity(1, assertion="present"), "takes no assertion"),
    (_entity(0, medication_status="paused"), "medication_status 'paused'"),
    (_entity(0, assertation="present"), "unknown key 'assertation'"),
    ({**GOOD, "section": "triage"}, "unknown section 'triage'"),
    ({**GOOD, "id": "t-0"}, "duplicate id 't-0'"),
    ("{not json", "not valid JSON"),
]


@pytest.mark.parametrize("record,message", BROKEN, ids=[m for _, m in BROKEN])
def test_a_broken_record_is_named_by_its_line(tmp_path, record, message):
    path = tmp_path / "notes.jsonl"
    good = {**GOOD, "id": "t-0"}
    broken = record if isinstance(record, str) else json.dumps(record)
    path.write_text(json.dumps(good) + "\n\n" + broken + "\n", encoding="utf8")
    with pytest.raises(NotesError) as err:
        read_records(path)
    assert f"{path}:3: " in str(err.value) and message in str(err.value)
    assert len(str(err.value).splitlines()) == 1


def test_readme_table_equals_the_counts():
    text = README.read_text(encoding="utf8")
    table = re.search(r"<!-- counts:start -->\n(.*?)<!-- counts:end -->", text, re.S)
    assert table, f"{README} lost its <!-- counts:start --> ... <!-- counts:end --> block"
    assert table.group(1).strip() == counts_table(count_notes(read_records(NOTES))).strip()


def _as_prediction(gold: Doc, rename=None, drop=None) -> Doc:
    """The gold entities as a pipeline's output (labels renamed, one entity dropped), assertions on ``span._``."""
    doc = Doc(gold.vocab, words=[t.text for t in gold], spaces=[bool(t.whitespace_) for t in gold])
    values = {(s.start, s.end): s.label_ for s in gold.spans[ASSERTION_KEY]}
    doc.ents = [Span(doc, e.start, e.end, label=(rename or {}).get(e.label_, e.label_)) for e in gold.ents
                if (e.start_char, e.end_char) != drop]
    for ent in doc.ents:
        ent._.assertion = values.get((ent.start, ent.end))
    return doc


def test_gold_as_prediction_scores_100():
    gold = read_notes(NOTES)
    result = score_notes([_as_prediction(doc) for doc in gold], gold)
    assert result["ner_exact"]["f1"] == 100.0 and result["ner_overlap"]["f1"] == 100.0
    assert all(s["f"] == 100.0 for s in result["ner_exact"]["per_label"].values())
    assert result["assertion"]["accuracy"] == 1.0
    found = result["assertion"]["gold_spans_found_by_ner"]
    assert all(c["found"] == c["gold"] > 0 for c in found.values()) and set(found) == set(ASSERTION_VALUES)


def test_maccrobat_labels_are_mapped_and_the_rest_dropped_and_counted():
    gold = read_notes(NOTES)
    rename = {"TEST": "DIAGNOSTIC_PROCEDURE", "ANATOMY": "BIOLOGICAL_STRUCTURE", "ROUTE": "ADMINISTRATION", "MEDICATION": "Medication"}
    predicted = [_as_prediction(doc, rename) for doc in gold]
    extra = predicted[1]
    extra.ents = list(extra.ents) + [Span(extra, len(extra) - 1, len(extra), label="SEVERITY")]
    result = score_notes(predicted, gold)
    assert result["ner_exact"]["f1"] == 100.0
    assert result["predicted_labels_dropped"] == {"SEVERITY": 1}
    converted, dropped = to_clinical(predicted[0])
    assert [e.label_ for e in converted.ents] == ["MEDICATION", "DOSAGE", "ROUTE", "FREQUENCY"] and not dropped


def test_a_pipeline_that_drops_a_medication_scores_less():
    gold = read_notes(NOTES)
    first = next(e for e in gold[0].ents if e.label_ == "MEDICATION")
    predicted = [_as_prediction(doc, drop=(first.start_char, first.end_char) if i == 0 else None) for i, doc in enumerate(gold)]
    result = score_notes(predicted, gold)
    medication = result["ner_exact"]["per_label"]["MEDICATION"]
    assert medication["p"] == 100.0 and medication["r"] < 100.0 and medication["f"] < 100.0
    assert result["ner_exact"]["f1"] < 100.0 and result["ner_exact"]["per_label"]["DOSAGE"]["f"] == 100.0
    assert result["ner_overlap"]["per_label"]["MEDICATION"]["r"] < 100.0
    assert result["assertion"]["gold_spans_found_by_ner"]["present"]["found"] == \
        result["assertion"]["gold_spans_found_by_ner"]["present"]["gold"] - 1


def test_script_scores_a_saved_pipeline_and_names_a_broken_line(tmp_path):
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "Medication", "pattern": [{"LOWER": name}]} for name in ("metformin", "warfarin", "lisinopril")])
    nlp.add_pipe("medner_assertion", config={"method": "rules"})
    nlp.to_disk(tmp_path / "ruler")
    script = load_script("evaluate_clinical_notes")
    output = tmp_path / "metrics.json"
    result = invoke_script(script, [tmp_path / "ruler", NOTES, output])
    assert result.exit_code == 0, result.output
    record = srsly.read_json(output)
    medication = record["ner_exact"]["per_label"]["MEDICATION"]
    assert medication["p"] == 100.0 and 0 < medication["r"] < 100.0
    assert record["ner_exact"]["per_label"]["DISEASE"]["r"] == 0.0
    found = record["assertion"]["gold_spans_found_by_ner"]
    assert record["assertion"]["spans"] == sum(c["found"] for c in found.values()) == round(medication["gold"] * medication["r"] / 100)
    on_gold = record["assertion_on_gold_spans"]
    assert on_gold["spans"] == sum(sum(v.values()) for v in count_notes(read_records(NOTES))["assertions"].values())
    assert on_gold["negated"]["f"] > 0.5
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(_entity(1, label="DOSE")) + "\n", encoding="utf8")
    result = invoke_script(script, [tmp_path / "ruler", broken, output])
    assert result.exit_code == 1 and f"{broken}:1:" in result.flat_output and "Traceback" not in result.output
    result = invoke_script(script, ["en_medner_no_such_pipeline", NOTES, output])
    assert result.exit_code == 1 and "en_medner_no_such_pipeline" in result.flat_output and "Traceback" not in result.output


def test_overlap_counts_a_too_long_medication_that_exact_match_misses():
    gold = read_notes(NOTES)[:1]  # Metformin 500 mg PO BID.
    doc = Doc(gold[0].vocab, words=[t.text for t in gold[0]], spaces=[bool(t.whitespace_) for t in gold[0]])
    doc.ents = [Span(doc, 0, 3, label="MEDICATION")]  # "Metformin 500 mg"
    result = score_notes([doc], gold)
    assert result["ner_exact"]["per_label"]["MEDICATION"]["f"] == 0.0
    assert result["ner_overlap"]["per_label"]["MEDICATION"] == {"p": 100.0, "r": 100.0, "f": 100.0}
    assert result["ner_overlap"]["per_label"]["DOSAGE"]["r"] == 0.0


def test_checker_rewrites_the_readme_counts_and_names_a_broken_line(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- counts:start -->\nstale\n<!-- counts:end -->\nrest\n", encoding="utf8")
    script = load_script("check_clinical_notes")
    result = invoke_script(script, [NOTES, "--readme", readme])
    assert result.exit_code == 0, result.output
    table = counts_table(count_notes(read_records(NOTES)))
    assert readme.read_text(encoding="utf8") == f"# x\n\n<!-- counts:start -->\n{table}\n<!-- counts:end -->\nrest\n"
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(GOOD) + "\n" + json.dumps(_entity(0, text="Metformine")) + "\n", encoding="utf8")
    result = invoke_script(script, [broken])
    assert result.exit_code == 1 and f"{broken}:2:" in result.flat_output and "Traceback" not in result.output

"""medner_assertion: hand cases that must hold, any span source, serialization, bad input."""
import time

import pytest
import spacy
from spacy.tokens import Doc, Span
from spacy.training import Example
from thinc.api import ConfigValidationError

import medner.assertion.component  # noqa: F401  registers the factory and the extensions
from medner.corpus.assertions import ASSERTION_KEY
from medner.tokenizer import blank_biomedical


@pytest.fixture(scope="module")
def rules_nlp():
    nlp = blank_biomedical()
    nlp.add_pipe("medner_assertion", config={"method": "rules"})
    return nlp


def with_ents(nlp, text, targets, label="DISEASE"):
    doc = nlp.make_doc(text)
    spans, cursor = [], 0
    for target in targets:
        start = text.index(target, cursor)
        spans.append(doc.char_span(start, start + len(target), label=label))
        cursor = start + len(target)
    doc.ents = spans
    return doc


@pytest.mark.parametrize("text,target,value", [
    ("The patient denies chest pain.", "chest pain", "negated"),
    ("There was no change in his pain.", "pain", "present"),
    ("He was ruled out for MI.", "MI", "negated"),
    ("CT was ordered to rule out pneumonia.", "pneumonia", "uncertain"),
    ("His mother had breast cancer.", "breast cancer", "family"),
    ("She has a history of hypertension.", "hypertension", "historical"),
    ("No fever but a productive cough.", "cough", "present"),
    ("No fever but a productive cough.", "fever", "negated"),
    ("No fever. Cough persisted.", "Cough", "present"),
    ("No evidence of pneumonia.", "pneumonia", "negated"),
    ("Pneumonia was excluded.", "Pneumonia", "negated"),
])
def test_hand_cases(rules_nlp, text, target, value):
    doc = rules_nlp(with_ents(rules_nlp, text, [target]))
    (ent,) = doc.ents
    assert ent.text == target and ent._.assertion == value
    assert ent._.negated == (value == "negated") and ent._.family == (value == "family")


def test_negation_does_not_reach_the_next_sentence_with_sentencizer_either():
    nlp = blank_biomedical()
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("medner_assertion", config={"method": "rules"})
    doc = nlp.make_doc("Denies fever\nCough since Monday")
    doc.ents = [doc.char_span(7, 12, label="SIGN"), doc.char_span(13, 18, label="SIGN")]
    doc = nlp(doc)
    assert [(e.text, e._.assertion) for e in doc.ents] == [("fever", "negated"), ("Cough", "present")]


def test_spans_of_another_component_keep_boundaries_and_labels():
    nlp = blank_biomedical()
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "DISEASE", "pattern": "pulmonary embolism"},
                        {"label": "SIGN", "pattern": [{"LOWER": "fever"}]}])
    nlp.add_pipe("medner_assertion", config={"method": "rules"})
    doc = nlp("No pulmonary embolism. Fever since Monday.")
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [(1, 3, "DISEASE"), (4, 5, "SIGN")]
    assert [e._.assertion for e in doc.ents] == ["negated", "present"]


def test_span_group_set_by_the_caller(rules_nlp):
    nlp = blank_biomedical()
    nlp.add_pipe("medner_assertion", config={"method": "rules", "span_key": "findings"})
    doc = nlp.make_doc("Without edema or cyanosis.")
    # Overlapping spans are fine; a trigger inside a span ("Without edema") does not negate it.
    doc.spans["findings"] = [Span(doc, 1, 2, label="X"), Span(doc, 3, 4, label="X"), Span(doc, 0, 2, label="Y")]
    doc = nlp(doc)
    assert [s._.assertion for s in doc.spans["findings"]] == ["negated", "negated", "present"]
    assert list(doc.ents) == []


def test_bad_input_does_not_crash(rules_nlp):
    # A trigger with no span anywhere near it, an empty doc, a span crossing a sentence boundary.
    assert list(rules_nlp("No. Not. Without.").ents) == []
    assert len(rules_nlp("")) == 0
    doc = rules_nlp.make_doc("No fever. Cough now.")
    doc.ents = [Span(doc, 1, 4, label="X")]  # "fever. Cough"
    (ent,) = rules_nlp(doc).ents
    assert ent._.assertion == "negated"


def test_million_character_document_stays_bounded(rules_nlp):
    sentence = "Patient denies fever and reports cough without chest pain. "
    text = (sentence * (1_000_000 // len(sentence) + 1))[:1_000_000]
    doc = rules_nlp.make_doc(text)
    per_sentence = len(rules_nlp.make_doc(sentence))
    spans = []
    for k in range(0, len(doc) - per_sentence, per_sentence):
        spans += [Span(doc, k + 2, k + 3, label="S"), Span(doc, k + 5, k + 6, label="S"), Span(doc, k + 7, k + 9, label="S")]
    doc.ents = spans
    start = time.perf_counter()
    doc = rules_nlp(doc)
    assert time.perf_counter() - start < 30
    values = [e._.assertion for e in doc.ents[:3]]
    assert values == ["negated", "present", "negated"]  # "reports" ends the scope of "denies"
    assert {e._.assertion for e in doc.ents[-3:]} == set(values)


def training_docs(nlp):
    texts = [("No fever today.", "fever", "negated"), ("Fever today.", "Fever", "present"),
             ("She denies nausea.", "nausea", "negated"), ("She reports nausea.", "nausea", "present"),
             ("Possible pneumonia on CT.", "pneumonia", "uncertain"), ("Pneumonia on CT.", "Pneumonia", "present"),
             ("Without edema.", "edema", "negated"), ("With edema.", "edema", "present"),
             ("Possible sepsis.", "sepsis", "uncertain"), ("Possible fracture.", "fracture", "uncertain")] * 3
    docs = []
    for text, target, value in texts:
        doc = nlp.make_doc(text)
        start = text.index(target)
        span = doc.char_span(start, start + len(target), label=value)
        doc.spans[ASSERTION_KEY] = [span]
        doc.spans[ASSERTION_KEY].attrs["entity_labels"] = ["SIGN"]
        docs.append(doc)
    return docs


@pytest.mark.parametrize("method", ["classifier", "combined"])
def test_trained_methods_learn_and_round_trip(tmp_path, method):
    nlp = blank_biomedical()
    component = nlp.add_pipe("medner_assertion", config={"method": method})
    examples = [Example(nlp.make_doc(d.text), d) for d in training_docs(nlp)]
    component.initialize(lambda: examples, nlp=nlp, C=10.0, min_count=1)
    test_doc = with_ents(nlp, "No fever. Possible pneumonia. Nausea.", ["fever", "pneumonia", "Nausea"], label="SIGN")
    predicted = [e._.assertion for e in nlp(test_doc).ents]
    assert predicted == ["negated", "uncertain", "present"]

    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "medner_assertion" / "classifier.bin").exists()
    reloaded = spacy.load(tmp_path / "pipeline")
    again = with_ents(reloaded, "No fever. Possible pneumonia. Nausea.", ["fever", "pneumonia", "Nausea"], label="SIGN")
    assert [e._.assertion for e in reloaded(again).ents] == predicted
    from_bytes = blank_biomedical().add_pipe("medner_assertion", config={"method": method})
    from_bytes.from_bytes(component.to_bytes())
    assert from_bytes.classifier.classes == component.classifier.classes


def test_untrained_classifier_says_how_to_train():
    nlp = blank_biomedical()
    nlp.add_pipe("medner_assertion", config={"method": "combined"})
    with pytest.raises(ValueError, match="needs trained weights; train it with scripts/train_assertion.py"):
        nlp(with_ents(nlp, "No fever.", ["fever"]))


def test_missing_weights_file_is_named(tmp_path):
    nlp = blank_biomedical()
    nlp.add_pipe("medner_assertion", config={"method": "rules"})
    nlp.to_disk(tmp_path / "p")
    config = (tmp_path / "p" / "config.cfg").read_text().replace('method = "rules"', 'method = "combined"')
    (tmp_path / "p" / "config.cfg").write_text(config)
    with pytest.raises(ValueError, match="classifier.bin, which is missing"):
        spacy.load(tmp_path / "p")


def test_bad_method_is_named_by_the_config():
    with pytest.raises(ConfigValidationError, match="method"):
        blank_biomedical().add_pipe("medner_assertion", config={"method": "magic"})


def test_scorer_counts_only_spans_in_both(rules_nlp):
    gold = rules_nlp.make_doc("No fever. Cough.")
    gold.spans[ASSERTION_KEY] = [Span(gold, 1, 2, label="negated"), Span(gold, 3, 4, label="present")]
    predicted = rules_nlp(with_ents(rules_nlp, "No fever. Cough.", ["fever", "Cough"]))
    scores = rules_nlp.get_pipe("medner_assertion").score([Example(predicted, gold)])
    assert scores["assertion_acc"] == 1.0 and scores["assertion_negated_f"] == 1.0


def test_extensions_are_registered_once():
    doc = Doc(blank_biomedical().vocab, words=["fever"])
    span = Span(doc, 0, 1, label="S")
    assert span._.assertion is None and span._.negated is False


def test_displacy_marks_negated_and_uncertain(rules_nlp):
    from medner.assertion.display import NEGATED_COLOUR, UNCERTAIN_COLOUR, assertion_ents, render_assertions

    doc = rules_nlp(with_ents(rules_nlp, "No pneumonia. Possible sepsis. Fever.", ["pneumonia", "sepsis", "Fever"]))
    labels = [e["label"] for e in assertion_ents(doc)["ents"]]
    assert labels == ["DISEASE (negated)", "DISEASE (uncertain)", "DISEASE"]
    html = render_assertions([doc])
    assert NEGATED_COLOUR in html and UNCERTAIN_COLOUR in html and "DISEASE (negated)" in html


def test_annotate_cli_writes_the_assertion_of_each_entity(tmp_path):
    import json as json_

    from typer.testing import CliRunner

    from medner.cli import app

    nlp = blank_biomedical()
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "DISEASE", "pattern": [{"LOWER": "pneumonia"}]},
                        {"label": "SIGN", "pattern": [{"LOWER": "fever"}]}])
    nlp.add_pipe("medner_assertion", name="assertion", config={"method": "rules"})
    nlp.to_disk(tmp_path / "pipeline")
    (tmp_path / "in.jsonl").write_text(json_.dumps({"id": "a", "text": "No pneumonia. Fever since Monday."}) + "\n")
    result = CliRunner().invoke(app, ["annotate", str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"),
                                      "--model", str(tmp_path / "pipeline"), "--no-progress"])
    assert result.exit_code == 0, result.output
    (record,) = [json_.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(e["text"], e["label"], e["assertion"]) for e in record["entities"]] == [
        ("pneumonia", "DISEASE", "negated"), ("Fever", "SIGN", "present")]
    result = CliRunner().invoke(app, ["annotate", str(tmp_path / "in.jsonl"), str(tmp_path / "again.jsonl"),
                                      "--model", str(tmp_path / "pipeline"), "--no-progress",
                                      "--html", str(tmp_path / "view.html")])
    assert result.exit_code == 0, result.output
    assert "DISEASE (negated)" in (tmp_path / "view.html").read_text()

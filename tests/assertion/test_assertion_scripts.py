"""scripts/add_assertion.py, train_assertion.py, evaluate_assertion.py on tiny pipelines and corpora."""
import json

import pytest
from ruler import ruler_nlp
from script_cli import run_script
from spacy.tokens import DocBin

from medner.corpus.assertions import ASSERTION_KEY
from medner.tokenizer import blank_biomedical

SENTENCES = [("No fever today.", "fever", "negated"), ("Fever today.", "Fever", "present"),
             ("She denies nausea.", "nausea", "negated"), ("She reports nausea.", "nausea", "present"),
             ("Possible sepsis on CT.", "sepsis", "uncertain"), ("History of asthma.", "asthma", "historical")]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("assertion_corpus")
    nlp = blank_biomedical()
    docs = []
    for text, target, value in SENTENCES * 4:
        doc = nlp.make_doc(text)
        start = text.index(target)
        doc.ents = [doc.char_span(start, start + len(target), label="SIGN")]
        doc.spans[ASSERTION_KEY] = [doc.char_span(start, start + len(target), label=value)]
        doc.spans[ASSERTION_KEY].attrs["entity_labels"] = ["SIGN"]
        docs.append(doc)
    for split in ("train", "dev", "test"):
        DocBin(docs=docs, store_user_data=True).to_disk(root / f"{split}.spacy")
    ruler_nlp({"SIGN": ["fever", "nausea", "sepsis", "asthma"]}).to_disk(root / "ner")
    return root


def test_train_evaluate_and_add(corpus):
    result = run_script("train_assertion", "combined", corpus / "train.spacy", corpus / "dev.spacy",
                        corpus / "assertion" / "combined",
                        "--record", corpus / "train.json", "--c", 10.0)
    assert result.returncode == 0, result.output
    assert (corpus / "assertion" / "combined" / "medner_assertion" / "classifier.bin").exists()
    result = run_script("train_assertion", "classifier", corpus / "train.spacy", corpus / "dev.spacy",
                        corpus / "assertion" / "classifier",
                        "--record", corpus / "train_clf.json", "--c", 10.0)
    assert result.returncode == 0, result.output

    result = run_script("evaluate_assertion", corpus / "dev.spacy", corpus / "test.spacy", corpus / "assertion",
                        "--metrics-dir", corpus)
    assert result.returncode == 0, result.output
    combined = json.loads((corpus / "assertion__combined.json").read_text())
    assert combined["test"]["negated"]["f"] == 1.0 and combined["test"]["spans"] == len(SENTENCES) * 4
    summary = json.loads((corpus / "assertion__summary.json").read_text())
    assert summary["chosen_method"] in ("rules", "classifier", "combined")
    negspacy = json.loads((corpus / "assertion__negspacy.json").read_text())
    assert negspacy["test"]["negated"]["support"] == 8 and negspacy["test"]["uncertain"]["f"] == 0.0

    result = run_script("add_assertion", corpus / "ner", corpus / "with_assertion", "--method", "combined",
                        "--trained-dir", corpus / "assertion", "--record", corpus / "add.json")
    assert result.returncode == 0, result.output
    record = json.loads((corpus / "add.json").read_text())
    assert record["pipeline"][-1] == "assertion" and record["component_mb"] > 0


def test_add_assertion_user_mistakes_are_one_line(corpus, tmp_path):
    result = run_script("add_assertion", tmp_path, tmp_path / "out", "--method", "rules")
    assert result.returncode == 1 and "is not a spaCy pipeline directory (no config.cfg)" in result.output
    result = run_script("add_assertion", corpus / "ner", tmp_path / "out", "--method", "magic")
    assert result.returncode == 1 and "--method must be auto, rules, classifier or combined" in result.output
    result = run_script("add_assertion", corpus / "ner", tmp_path / "out", "--method", "combined",
                        "--trained-dir", tmp_path)
    assert result.returncode == 1 and "run `spacy project run train-assertion` first" in result.output
    result = run_script("add_assertion", corpus / "ner", corpus / "ner", "--method", "rules")
    assert result.returncode == 1 and "OUT_DIR must differ from IN_DIR" in result.output


def test_compare_methods_needs_the_trained_weights(corpus, tmp_path):
    from medner.assertion.evaluation import AssertionEvaluationError, compare_methods

    with pytest.raises(AssertionEvaluationError, match="classifier/medner_assertion is missing: run `spacy project run"):
        compare_methods(corpus / "dev.spacy", corpus / "test.spacy", tmp_path)
    result = run_script("evaluate_assertion", corpus / "dev.spacy", corpus / "test.spacy", tmp_path,
                        "--metrics-dir", tmp_path)
    assert result.returncode == 1 and "train-assertion` first" in result.output and "Traceback" not in result.output

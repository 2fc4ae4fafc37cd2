"""scripts/add_assertion.py, train_assertion.py, evaluate_assertion.py on tiny pipelines and corpora."""
import json

import pytest
import typer
from ruler import ruler_nlp
from script_loader import load_script
from spacy.tokens import DocBin
from typer.testing import CliRunner

from medner.corpus.assertions import ASSERTION_KEY
from medner.tokenizer import blank_biomedical

SENTENCES = [("No fever today.", "fever", "negated"), ("Fever today.", "Fever", "present"),
             ("She denies nausea.", "nausea", "negated"), ("She reports nausea.", "nausea", "present"),
             ("Possible sepsis on CT.", "sepsis", "uncertain"), ("History of asthma.", "asthma", "historical")]


def run(module, *args):
    app = typer.Typer()
    app.command()(module.main)
    result = CliRunner().invoke(app, [str(a) for a in args])
    result.text = " ".join(result.output.split())  # wasabi wraps long lines
    return result


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
    train = load_script("train_assertion")
    result = run(train, "combined", corpus / "train.spacy", corpus / "dev.spacy", corpus / "assertion" / "combined",
                 "--record", corpus / "train.json", "--c", 10.0)
    assert result.exit_code == 0, result.output
    assert (corpus / "assertion" / "combined" / "medner_assertion" / "classifier.bin").exists()
    result = run(train, "classifier", corpus / "train.spacy", corpus / "dev.spacy", corpus / "assertion" / "classifier",
                 "--record", corpus / "train_clf.json", "--c", 10.0)
    assert result.exit_code == 0, result.output

    result = run(load_script("evaluate_assertion"), corpus / "dev.spacy", corpus / "test.spacy", corpus / "assertion",
                 "--metrics-dir", corpus)
    assert result.exit_code == 0, result.output
    combined = json.loads((corpus / "assertion__combined.json").read_text())
    assert combined["test"]["negated"]["f"] == 1.0 and combined["test"]["spans"] == len(SENTENCES) * 4
    summary = json.loads((corpus / "assertion__summary.json").read_text())
    assert summary["chosen_method"] in ("rules", "classifier", "combined")
    negspacy = json.loads((corpus / "assertion__negspacy.json").read_text())
    assert negspacy["test"]["negated"]["support"] == 8 and negspacy["test"]["uncertain"]["f"] == 0.0

    add = load_script("add_assertion")
    result = run(add, corpus / "ner", corpus / "with_assertion", "--method", "combined",
                 "--trained-dir", corpus / "assertion", "--record", corpus / "add.json")
    assert result.exit_code == 0, result.output
    record = json.loads((corpus / "add.json").read_text())
    assert record["pipeline"][-1] == "assertion" and record["component_mb"] > 0


def test_add_assertion_user_mistakes_are_one_line(corpus, tmp_path):
    add = load_script("add_assertion")
    result = run(add, tmp_path, tmp_path / "out", "--method", "rules")
    assert result.exit_code == 1 and "is not a spaCy pipeline directory (no config.cfg)" in result.text
    result = run(add, corpus / "ner", tmp_path / "out", "--method", "magic")
    assert result.exit_code == 1 and "--method must be auto, rules, classifier or combined" in result.text
    result = run(add, corpus / "ner", tmp_path / "out", "--method", "combined", "--trained-dir", tmp_path)
    assert result.exit_code == 1 and "run `spacy project run train-assertion` first" in result.text
    result = run(add, corpus / "ner", corpus / "ner", "--method", "rules")
    assert result.exit_code == 1 and "OUT_DIR must differ from IN_DIR" in result.text

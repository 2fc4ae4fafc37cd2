"""Gold assertions from brat attributes and History spans: every attribute counted, values survive DocBin."""
from spacy.tokens import DocBin

from medner.corpus.align import FileReport, source_to_doc
from medner.corpus.assertions import ASSERTION_KEY, MACCROBAT_ASSERTIONS, strongest
from medner.corpus.datasets import maccrobat_label
from medner.corpus.readers import read_brat

TEXT = "No fever. Mother had breast cancer. Prior appendectomy. Rule out pneumonia. Pain rose."
ANN = "\n".join([
    "T1\tSign_symptom 3 8\tfever",
    "E1\tSign_symptom:T1 ",
    "A1\tPOLARITY E1 NEG",
    "T2\tFamily_history 10 34\tMother had breast cancer",
    "T3\tDisease_disorder 21 34\tbreast cancer",
    "E2\tDisease_disorder:T3 ",
    "T4\tHistory 36 54\tPrior appendectomy",
    "T5\tTherapeutic_procedure 42 54\tappendectomy",
    "E3\tTherapeutic_procedure:T5 ",
    "T6\tDisease_disorder 65 74\tpneumonia",
    "E4\tDisease_disorder:T6 ",
    "A2\tPOLARITY E4 UNCERTAIN",
    "T7\tSign_symptom 76 80;81 85\tPain rose",
    "E5\tSign_symptom:T7 ",
    "A3\tPOLARITY E5 NEG",
    "A4\tTREND E1 INC",
    "A5\tPOLARITY E99 NEG",
    "",
])


def convert(nlp, tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "1.txt").write_text(TEXT, encoding="utf8")
    (tmp_path / "1.ann").write_text(ANN, encoding="utf8")
    (source,) = read_brat(tmp_path)
    report = FileReport(path=source.path)
    doc = source_to_doc(nlp, source, report, label_map=maccrobat_label, assertion_schema=MACCROBAT_ASSERTIONS)
    return doc, report


def test_attributes_and_context_spans_become_assertions(nlp, tmp_path):
    doc, report = convert(nlp, tmp_path)
    group = doc.spans[ASSERTION_KEY]
    found = {(s.text, s.label_) for s in group}
    assert found == {
        ("fever", "negated"),
        ("Mother had breast cancer", "family"),
        ("breast cancer", "family"),  # inside Family_history, dropped from ents by the overlap
        ("Prior appendectomy", "historical"),
        ("appendectomy", "historical"),
        ("pneumonia", "uncertain"),
    }
    labels = dict(zip((s.text for s in group), group.attrs["entity_labels"]))
    assert labels["fever"] == "SIGN_SYMPTOM" and labels["breast cancer"] == "DISEASE"
    # doc.ents is what it was without assertions: the longer context spans win.
    assert [e.text for e in doc.ents] == ["fever", "Mother had breast cancer", "Prior appendectomy", "pneumonia"]


def test_every_attribute_is_accounted(nlp, tmp_path):
    _, report = convert(nlp, tmp_path)
    counts = report.to_dict()["assertions"]
    assert counts["attributes"] == 5 and counts["adds_up"]
    assert (counts["attached"], counts["not_assertion"], counts["span_dropped"], counts["unresolved"]) == (2, 1, 1, 1)
    assert counts["attached_to"] == {"SIGN_SYMPTOM": 1, "DISEASE": 1}
    assert "discontinuous" in counts["examples"]["span_dropped"][0]["reason"]
    assert counts["values"] == {"negated": 1, "family": 2, "historical": 2, "uncertain": 1}


def test_gold_assertions_survive_docbin(nlp, tmp_path):
    doc, _ = convert(nlp, tmp_path)
    (restored,) = DocBin(docs=[doc], store_user_data=True).from_bytes(
        DocBin(docs=[doc], store_user_data=True).to_bytes()).get_docs(nlp.vocab)
    before = [(s.start, s.end, s.label_) for s in doc.spans[ASSERTION_KEY]]
    assert [(s.start, s.end, s.label_) for s in restored.spans[ASSERTION_KEY]] == before
    assert restored.spans[ASSERTION_KEY].attrs["entity_labels"] == doc.spans[ASSERTION_KEY].attrs["entity_labels"]


def test_precedence_negation_first():
    assert strongest({"family", "negated"}) == "negated"
    assert strongest(set()) == "present"


def test_split_summary_sums_the_files_assertions(nlp, tmp_path):
    from medner.corpus.convert import _summarise

    (a, ra), (b, rb) = convert(nlp, tmp_path / "a"), convert(nlp, tmp_path / "b")
    ra.path, rb.path = "a.ann", "b.ann"
    summary = _summarise({"a": ra, "b": rb}, n_docs=2)["assertions"]
    assert summary["attributes"] == 10 and summary["attached"] == 4 and summary["adds_up"]
    assert summary["values"]["family"] == 4 and summary["attached_to"] == {"SIGN_SYMPTOM": 2, "DISEASE": 2}

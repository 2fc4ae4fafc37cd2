"""Partial corpora (PHEE): unannotated argument tokens become missing NER values, counted; a teacher
marks more; joining keeps them missing; the clinical schema maps MACCROBAT and 0.2.0 labels."""
from pathlib import Path

import pytest
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example

from medner.corpus.align import OUTCOMES, convert_documents
from medner.corpus.datasets import DATASETS
from medner.corpus.join import join_corpora
from medner.corpus.partial import mark_teacher_missing
from medner.corpus.readers import read_brat
from medner.corpus.schema import maccrobat_clinical_label, phee_label, to_clinical_label

TEXT = "Intravenous azithromycin-induced ototoxicity in a patient with asthma."
ANN = """T3\tTreatment 0 24\tIntravenous azithromycin
T6\tDrug 12 24\tazithromycin
T7\tRoute 0 11\tIntravenous
T4\tAdverse_event 25 32\tinduced
T5\tEffect 33 44\tototoxicity
T8\tSubject 45 69\ta patient with asthma
E1\tAdverse_event:T4 Treatment:T3 Effect:T5
"""


@pytest.fixture()
def phee_dir(tmp_path):
    split = tmp_path / "train"
    split.mkdir()
    (split / "1_1.txt").write_text(TEXT, encoding="utf8")
    (split / "1_1.ann").write_text(ANN, encoding="utf8")
    return tmp_path


def _convert(nlp, phee_dir):
    spec = DATASETS["phee"]
    docs, reports = convert_documents(nlp, spec.read_split(phee_dir, "train"), label_map=spec.label_map,
                                      missing_labels=spec.missing_labels, outside_unmapped=spec.outside_unmapped)
    return docs[0], next(iter(reports.values())).to_dict()


def test_phee_arguments_become_missing_and_counts_add_up(nlp, phee_dir):
    doc, report = _convert(nlp, phee_dir)
    assert [(e.text, e.label_) for e in doc.ents] == [("Intravenous", "ROUTE"), ("azithromycin", "MEDICATION")]
    missing = [t.text for t in doc if t.ent_iob == 0]
    assert "ototoxicity" in missing and "asthma" in missing and "patient" in missing
    assert "azithromycin" not in missing and "induced" not in missing  # entity; trigger stays outside
    assert doc[[t.text for t in doc].index("induced")].ent_iob_ == "O"
    assert (report["kept"], report["missing"], report["outside"]) == (2, 3, 1)
    assert report["adds_up"] and sum(report[o] for o in OUTCOMES) == report["source_spans"] == 6


def test_teacher_marks_only_unannotated_labels(nlp, phee_dir):
    doc, _ = _convert(nlp, phee_dir)
    doc.set_ents([], outside=[doc[len(doc) - 2:len(doc) - 1]], default="unmodified")  # "asthma" outside

    class Teacher:
        def pipe(self, texts, batch_size=256):
            for text in texts:
                predicted = nlp.make_doc(text)
                start = text.index("asthma")
                predicted.ents = [predicted.char_span(start, start + 6, label="DISEASE"),
                                  predicted.char_span(12, 24, label="MEDICATION")]
                yield predicted

    counts = mark_teacher_missing([doc], Teacher(), DATASETS["phee"].labels, to_schema=to_clinical_label)
    assert counts["tokens_marked"] == 1 and counts["entities:DISEASE"] == 1 and "entities:MEDICATION" not in counts
    assert doc[len(doc) - 2].ent_iob == 0 and doc.ents[1].text == "azithromycin"


def test_join_keeps_missing_values(tmp_path, nlp, phee_dir):
    doc, _ = _convert(nlp, phee_dir)
    DocBin(docs=[doc], store_user_data=True).to_disk(tmp_path / "phee.spacy")
    joined, counts = join_corpora([tmp_path / "phee.spacy"], ["MEDICATION"], nlp.vocab)
    (back,) = list(joined.get_docs(nlp.vocab))
    assert [(e.text, e.label_) for e in back.ents] == [("azithromycin", "MEDICATION")]
    assert back[0].ent_iob_ == "O"  # the dropped ROUTE is outside, not missing
    assert [t.i for t in back if t.ent_iob == 0] == [t.i for t in doc if t.ent_iob == 0]
    assert counts[str(tmp_path / "phee.spacy")]["entities_dropped"] == 1


def test_missing_tokens_are_neither_right_nor_wrong_for_spacy_scoring(nlp, phee_dir):
    """spaCy's NER scorer ignores predictions on missing gold tokens: PHEE dev can choose a model."""
    from spacy.scorer import get_ner_prf

    gold, _ = _convert(nlp, phee_dir)
    predicted = nlp.make_doc(gold.text)
    start = gold.text.index("asthma")
    predicted.ents = [predicted.char_span(12, 24, label="MEDICATION"), predicted.char_span(start, start + 6, label="DISEASE")]
    scores = get_ner_prf([Example(predicted, gold)])
    assert scores["ents_p"] == 1.0  # the DISEASE prediction on a missing token is not a false positive


def test_clinical_schema_mappings():
    assert maccrobat_clinical_label("Diagnostic_procedure") == "TEST"
    assert maccrobat_clinical_label("Administration") == "ROUTE"
    assert maccrobat_clinical_label("Coreference") is None
    assert phee_label("Drug") == "MEDICATION" and phee_label("Effect") is None
    assert to_clinical_label("BIOLOGICAL_STRUCTURE") == "ANATOMY" and to_clinical_label("TEST") == "TEST"
    assert to_clinical_label("NONBIOLOGICAL_LOCATION") is None


def test_shipped_phee_reads_with_accounting():
    root = Path(__file__).resolve().parents[2] / "assets" / "phee"
    docs = list(read_brat(root / "dev"))
    assert len(docs) == 961
    assert sum(1 for d in docs for s in d.spans if s.label == "Drug") == 1211

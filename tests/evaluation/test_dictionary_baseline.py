"""The dictionary-alone baseline of the abstract tables: drug library CHEMICAL + MEDIC DISEASE on medner's tokens."""
import pytest

from medner.evaluation.dictionary import dictionary_annotator

MEDIC = "D006973||Hypertension|High Blood Pressure\nD007674||Kidney Diseases|Renal Disease\n"


@pytest.fixture()
def medic(tmp_path):
    path = tmp_path / "medic.txt"
    path.write_text(MEDIC, encoding="utf8")
    return path


def test_chemicals_from_the_drug_library_and_diseases_from_medic(medic):
    text = "Warfarin worsened hypertension and renal disease in the patients."
    doc = dictionary_annotator(medic)([text])[0]
    assert doc.text == text
    assert [(e.text, e.label_) for e in doc.ents] == [("Warfarin", "CHEMICAL"), ("hypertension", "DISEASE"),
                                                      ("renal disease", "DISEASE")]
    only_diseases = dictionary_annotator(medic, ["DISEASE"])([text])[0]
    assert [e.label_ for e in only_diseases.ents] == ["DISEASE", "DISEASE"]


def test_labels_it_cannot_predict_are_refused(medic):
    with pytest.raises(ValueError, match=r"CHEMICAL and DISEASE only, got \['GENE'\]"):
        dictionary_annotator(medic, ["GENE"])

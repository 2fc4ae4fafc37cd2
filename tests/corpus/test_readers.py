"""Each reader on small well-formed and malformed inputs."""
import json

import pytest

from medner.corpus.readers import read_brat, read_dataturks_json, read_jsonl, read_pubtator
from medner.corpus.records import CorpusFormatError

PUBTATOR = (
    "227508|t|Naloxone reverses the antihypertensive effect of clonidine.\n"
    "227508|a|In rats the effect of clonidine was reversed.\n"
    "227508\t0\t8\tNaloxone\tChemical\tD009270\n"
    "227508\t49\t58\tclonidine\tChemical\tD003000\n"
    "227508\tCID\tD008750\tD007022\n"
    "\n"
    "354896|t|Lidocaine-induced cardiac asystole.\n"
    "354896|a|Intravenous lidocaine caused asystole.\n"
    "354896\t0\t9\tLidocaine\tChemical\tD008012\n"
    "354896\t18\t34\tcardiac asystole\tDisease\tD006323\n"
)


def write(tmp_path, name, text, **kw):
    path = tmp_path / name
    path.write_text(text, encoding="utf8", **kw)
    return path


def test_pubtator_reads_documents_and_skips_relations(tmp_path):
    docs = list(read_pubtator(write(tmp_path, "a.txt", PUBTATOR)))
    assert [d.id for d in docs] == ["227508", "354896"]
    first = docs[0]
    assert first.text.startswith("Naloxone reverses") and " In rats" in first.text
    assert [(s.start, s.end, s.label) for s in first.spans] == [(0, 8, "Chemical"), (49, 58, "Chemical")]
    assert all(first.text[s.start:s.end] == s.text for s in first.spans)
    assert first.spans[1].line == 4
    assert docs[1].spans[1].label == "Disease"


def test_pubtator_ncbi_subtypes_and_no_trailing_blank_line(tmp_path):
    text = ("10192393|t|A common human skin tumour.\n10192393|a|Colon cancers arise.\n"
            "10192393\t15\t26\tskin tumour\tDiseaseClass\tD012878\n"
            "10192393\t28\t41\tColon cancers\tSpecificDisease\tD003110")
    (doc,) = read_pubtator(write(tmp_path, "n.txt", text))
    assert [s.label for s in doc.spans] == ["DiseaseClass", "SpecificDisease"]
    assert doc.text[28:41] == "Colon cancers"


@pytest.mark.parametrize("bad, line", [
    ("1|t|Title\n1\t0\tx\tTitle\tChemical\n", 2),  # non-integer end offset
    ("1|t|Title\n1\t0\t5\n", 2),  # too few fields
    ("1|t|Title\n2\t0\t5\tTitle\tChemical\n", 2),  # annotation for another document
    ("1\t0\t5\tTitle\tChemical\n", 1),  # annotation before any document
    ("1|a|Abstract first\n", 1),
])
def test_pubtator_malformed_lines_name_file_and_line(tmp_path, bad, line):
    path = write(tmp_path, "bad.txt", bad)
    with pytest.raises(CorpusFormatError) as err:
        list(read_pubtator(path))
    assert err.value.line == line
    assert f"bad.txt:{line}" in str(err.value)


def test_brat_discontinuous_events_relations_and_crlf(tmp_path):
    text = "Fever and headache.\r\nHepatitis  C was treated with ribavirin.\r\n"
    ann = ("T1\tSign_symptom 0 5\tFever\n"
           "E1\tSign_symptom:T1 \n"
           "T2\tSign_symptom 10 18\theadache\n"
           "T3\tDisease_disorder 21 30;32 33\tHepatitis C\n"
           "T4\tMedication 51 60\tribavirin\n"
           "R1\tMODIFY Arg1:T2 Arg2:E1\t\n"
           "A1\tNegation E1\n"
           "*\tOVERLAP E1 E2\n"
           "#1\tAnnotatorNotes T1\tnote\n")
    write(tmp_path, "100.txt", text, newline="")
    write(tmp_path, "100.ann", ann)
    (doc,) = read_brat(tmp_path)
    assert doc.text == text  # CRLF kept: brat offsets count both characters
    by_label = {s.label: s for s in doc.spans}
    assert doc.text[51:60] == "ribavirin" and by_label["Medication"].start == 51
    hep = by_label["Disease_disorder"]
    assert hep.is_discontinuous and hep.fragments == ((21, 30), (32, 33))
    assert doc.meta["skipped_lines"] == {"E": 1, "R": 1, "*": 1, "#": 1}
    # The attribute is read (not skipped) and resolved through E1 to T1's line.
    (attribute,) = doc.attributes
    assert (attribute.name, attribute.target, attribute.value, attribute.span_line) == ("Negation", "E1", None, 1)
    assert doc.meta["event_trigger_lines"] == [1]


def test_brat_missing_text_file_and_bad_offsets(tmp_path):
    write(tmp_path, "1.ann", "T1\tDrug 0 4\tasp\n")
    with pytest.raises(CorpusFormatError, match="no text file 1.txt"):
        list(read_brat(tmp_path))
    write(tmp_path, "1.txt", "aspirin")
    write(tmp_path, "1.ann", "T1\tDrug zero 4\tasp\n")
    with pytest.raises(CorpusFormatError, match=r"1.ann:1: cannot read offsets"):
        list(read_brat(tmp_path))


def test_brat_undecodable_text(tmp_path):
    (tmp_path / "1.txt").write_bytes(b"\xff\xfe\x00bad")
    write(tmp_path, "1.ann", "")
    with pytest.raises(CorpusFormatError, match="not UTF-8"):
        list(read_brat(tmp_path))


def test_dataturks_json(tmp_path):
    data = {"examples": [{"id": "e1", "content": "Loperamide treats diarrhea.", "annotations": [
        {"start": 0, "end": 10, "tag_name": "Medicine", "value": "Loperamide"},
        {"start": 18, "end": 26, "tag_name": "MedicalCondition", "value": "diarrhea"}]}]}
    (doc,) = read_dataturks_json(write(tmp_path, "c.json", json.dumps(data)))
    assert doc.id == "e1"
    assert [(s.start, s.end, s.label, s.text) for s in doc.spans] == [
        (0, 10, "Medicine", "Loperamide"), (18, 26, "MedicalCondition", "diarrhea")]


def test_dataturks_broken_json_reports_line(tmp_path):
    path = write(tmp_path, "c.json", '{"examples": [\n{"content": "x",\n "annotations": [}\n]}')
    with pytest.raises(CorpusFormatError) as err:
        list(read_dataturks_json(path))
    assert err.value.line == 3 and "invalid JSON" in str(err.value)


def test_dataturks_annotation_without_tag(tmp_path):
    data = {"examples": [{"content": "x", "annotations": [{"start": 0, "end": 1}]}]}
    with pytest.raises(CorpusFormatError, match=r"examples\[0\].annotations\[0\]"):
        list(read_dataturks_json(write(tmp_path, "c.json", json.dumps(data))))


def test_jsonl_reader(tmp_path):
    lines = [
        {"id": "a", "text": "Aspirin helps.", "spans": [{"start": 0, "end": 7, "label": "CHEMICAL"}]},
        {"text": "Rejected.", "spans": [], "answer": "reject"},
        {"text": "No id here.", "meta": {"id": "m1"}},
    ]
    path = write(tmp_path, "d.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    docs = list(read_jsonl(path))
    assert [d.id for d in docs] == ["a", "m1"]
    assert docs[0].spans[0].label == "CHEMICAL" and docs[0].spans[0].line == 1


@pytest.mark.parametrize("line, reason", [
    ('{"text": "x"', "invalid JSON"),
    ('{"spans": []}', "string 'text'"),
    ('{"text": 5}', "string 'text'"),
    ('{"text": "x", "spans": [{"start": 0}]}', "spans[0]"),
])
def test_jsonl_malformed(tmp_path, line, reason):
    path = write(tmp_path, "d.jsonl", '{"text": "ok"}\n' + line + "\n")
    with pytest.raises(CorpusFormatError) as err:
        list(read_jsonl(path))
    assert err.value.line == 2 and reason in str(err.value)

"""The clinical table's scorer: PHEE-style strict/overlap scoring that ignores predictions on missing
gold tokens, the schema mapping of old labels, and the rendered table."""
import re

from spacy.tokens import Span

from medner.evaluation.clinical import TABLE_END, TABLE_START, render_table, score_label_with_missing, write_tables
from medner.evaluation.clinical_notes import to_clinical


def _doc(nlp, text, ents, missing=()):
    doc = nlp.make_doc(text)

    def span(word, label=""):
        start = re.search(rf"\b{re.escape(word)}\b", text).start()
        return doc.char_span(start, start + len(word), label=label)

    doc.set_ents([span(w, label) for w, label in ents], missing=[span(w) for w in missing], default="outside")
    return doc


def test_strict_overlap_and_missing(nlp):
    text = "Oral amoxicillin caused a rash after aspirin use."
    gold = _doc(nlp, text, [("amoxicillin", "MEDICATION"), ("aspirin", "MEDICATION")], missing=["rash"])
    predicted = _doc(nlp, text, [("Oral amoxicillin", "MEDICATION"), ("rash", "MEDICATION"), ("use", "MEDICATION")])
    scores = score_label_with_missing([predicted], [gold], "MEDICATION")
    # "rash" is on a missing gold token: not counted; "Oral amoxicillin" overlaps but is not exact.
    assert (scores["strict"]["tp"], scores["strict"]["fp"], scores["strict"]["fn"]) == (0, 2, 2)
    assert (scores["overlap"]["tp"], scores["overlap"]["fp"], scores["overlap"]["fn"]) == (1, 1, 1)
    assert scores["overlap"]["f"] == 50.0


def test_old_labels_map_into_the_schema(nlp):
    doc = nlp.make_doc("CT of the liver showed a mass")
    doc.ents = [Span(doc, 0, 1, label="DIAGNOSTIC_PROCEDURE"), Span(doc, 3, 4, label="BIOLOGICAL_STRUCTURE"),
                Span(doc, 5, 7, label="DETAILED_DESCRIPTION")]
    assert [(e.text, e.label_) for e in to_clinical(doc)[0].ents] == [("CT", "TEST"), ("liver", "ANATOMY")]


def test_table_rows_and_doc_block(tmp_path):
    row = {"maccrobat": {"f1": 60.0, "per_label": {"MEDICATION": {"f": 70.0}}},
           "phee_medication": {"strict": {"f": 81.5}, "overlap": {"f": 88.0}}}
    records = [{"system": "model", "dev": row, "test": dict(row, notes={"ner_exact": {"f1": 55.0, "per_label": {"MEDICATION": {"f": 90.0}}}})}]
    assert "| `model` | 70.0 | – | – | – | – | 60.0 | 81.5 | 88.0 | – | – |" in render_table(records, "dev")
    assert "| `model` | 70.0 | – | – | – | – | 60.0 | 81.5 | 88.0 | 90.0 | 55.0 |" in render_table(records, "test")
    doc = tmp_path / "clinical.md"
    doc.write_text(f"intro\n{TABLE_START}\nold\n{TABLE_END}\nafter\n", encoding="utf8")
    write_tables(doc, records, "spacy project run evaluate-clinical")
    text = doc.read_text(encoding="utf8")
    assert "old" not in text and text.count("| `model` |") == 2 and text.endswith("after\n")

"""Alignment accounting: every source span ends in exactly one outcome."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medner.corpus.align import OUTCOMES, FileReport, StrictAlignmentError, convert_documents, source_to_doc
from medner.corpus.records import SourceDoc, SourceSpan

LABELS = {"Chemical": "CHEMICAL", "Disease": "DISEASE"}


def make(text, spans, doc_id="d1"):
    return SourceDoc(id=doc_id, text=text, spans=[SourceSpan(*s) for s in spans], path="f.txt")


def test_every_outcome_is_counted(nlp):
    text = "Aspirin-induced hepatitis in rats given naloxone twice."
    #       0      7       15        25     32    38       47
    spans = [
        (0, 7, "Chemical", "Aspirin", 1),          # overlap (inside the longer 0-25 span)
        (0, 25, "Disease", None, 2),               # kept: wins both overlaps
        (16, 25, "Disease", "hepatitis", 3),       # overlap (loses to the longer span)
        (40, 45, "Chemical", "nalox", 4),          # fixed: expands to "naloxone"
        (26, 28, "Gene", "in", 5),                 # unknown label
        (50, 80, "Chemical", None, 6),             # invalid: outside the text
        (29, 33, "Chemical", "mice", 7),           # invalid: stated text differs
        (40, 48, "Chemical", None, 8, ((40, 44), (45, 48))),  # discontinuous
    ]
    report = FileReport(path="f.txt")
    doc = source_to_doc(nlp, make(text, spans), report, label_map=LABELS.get)
    counts = report.to_dict()
    assert counts["source_spans"] == 8
    # "Aspirin" (0-7) and "hepatitis" (16-25) both lose to the longer 0-25 span.
    assert {o: counts[o] for o in OUTCOMES} == {
        "kept": 1, "fixed": 1, "missing": 0, "outside": 0, "overlap": 2, "unalignable": 0, "discontinuous": 1,
        "invalid": 2, "unknown_label": 1,
    }
    assert counts["adds_up"] is True
    assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == [(0, 25, "DISEASE"), (40, 48, "CHEMICAL")]
    winners = {tuple(x["winner"]) for x in report.examples["overlap"]}
    assert winners == {(0, 25, "DISEASE")}


def test_unalignable_whitespace_span(nlp):
    report = FileReport(path="f")
    source_to_doc(nlp, make("a  b", [(1, 2, "Chemical")]), report, label_map=LABELS.get)
    assert report.counts["unalignable"] == 1 and report.to_dict()["adds_up"]


def test_strict_names_document_and_offsets(nlp):
    source = make("Aspirin works.", [(0, 7, "Chemical", "Aspirin", 3), (0, 99, "Chemical", None, 4)])
    with pytest.raises(StrictAlignmentError, match=r"f.txt:4: document d1, span 0-99 'Chemical'"):
        source_to_doc(nlp, source, FileReport(path="f"), label_map=LABELS.get, strict=True)


def test_strict_allows_fixes(nlp):
    doc = source_to_doc(nlp, make("naloxone.", [(0, 5, "Chemical")]), FileReport(path="f"),
                        label_map=LABELS.get, strict=True)
    assert doc.ents[0].text == "naloxone"


def test_reports_are_per_file(nlp):
    docs = [make("Aspirin.", [(0, 7, "Chemical")], "a"),
            SourceDoc("b", "Naloxone.", [SourceSpan(0, 99, "Chemical")], path="g.txt")]
    out, reports = convert_documents(nlp, docs, label_map=LABELS.get)
    assert set(reports) == {"f.txt", "g.txt"}
    assert reports["f.txt"].counts["kept"] == 1 and reports["g.txt"].counts["invalid"] == 1
    assert out[0].user_data["medner_id"] == "a"


WORDS = st.sampled_from(["aspirin", "naloxone", "rats", "5-HT", "hepatitis", "(COPD)", "β-blocker", "café", "x", "🙂"])
SEPARATORS = st.sampled_from([" ", "  ", "\n", "\r\n", "\t", ", ", "-", "/"])


@st.composite
def documents(draw):
    words = draw(st.lists(WORDS, min_size=1, max_size=25))
    seps = draw(st.lists(SEPARATORS, min_size=len(words), max_size=len(words)))
    text = "".join(w + s for w, s in zip(words, seps))
    n = draw(st.integers(0, 12))
    spans = []
    for _ in range(n):
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        spans.append(SourceSpan(start, end, draw(st.sampled_from(["Chemical", "Disease"])), text=text[start:end]))
    return SourceDoc("h", text, spans, path="h.txt")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=documents())
def test_property_counts_add_up_and_kept_text_matches(nlp, source):
    report = FileReport(path="h.txt")
    doc = source_to_doc(nlp, source, report, label_map=LABELS.get)
    counts = report.to_dict()
    assert counts["adds_up"] and counts["source_spans"] == len(source.spans)
    assert counts["kept"] + counts["fixed"] == len(doc.ents)
    for ent in doc.ents:
        assert ent.text == source.text[ent.start_char:ent.end_char]
    exact = {(s.start, s.end) for s in source.spans}
    n_exact_ents = sum((e.start_char, e.end_char) in exact for e in doc.ents)
    assert n_exact_ents >= counts["kept"]


def test_whitespace_at_span_edges_is_trimmed_and_counted_as_fixed(nlp):
    text = "Dose 1.5\u2005mg and  fever\n."
    spans = [(5, 9, "Chemical"), (16, 23, "Disease"), (15, 17, "Disease")]
    report = FileReport(path="f")
    doc = source_to_doc(nlp, make(text, spans), report, label_map=LABELS.get)
    assert [e.text for e in doc.ents] == ["1.5", "fever"]
    assert all(not e[0].is_space and not e[-1].is_space for e in doc.ents)
    assert report.counts["fixed"] == 2 and report.counts["unalignable"] == 1

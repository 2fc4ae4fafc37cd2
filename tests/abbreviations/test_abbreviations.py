"""Abbreviation detection (medner.abbreviations.detect), its components, the MED1250 reader and bad input."""
import time

import pytest
import spacy
import srsly
from spacy.tokens import Doc, DocBin, Span
from thinc.api import ConfigValidationError

import medner.abbreviations.component  # noqa: F401  (registers the factories and extensions)
from medner.abbreviations.detect import find_definitions, find_short_form_occurrences
from medner.abbreviations.component import abbreviation_pairs, propagate_entity_labels
from medner.corpus.med1250 import read_med1250
from medner.corpus.records import CorpusFormatError
from medner.evaluation.entities import score_pairs
from medner.tokenizer import blank_biomedical


def pairs(text, rules="ab3p"):
    return [(text[d.short_start:d.short_end], text[d.long_start:d.long_end]) for d in find_definitions(text, rules=rules)]


# --- the algorithm on hand cases -------------------------------------------------------------


def test_long_form_then_short_form():
    assert pairs("Serum alanine aminotransferase (ALT) was high.") == [("ALT", "alanine aminotransferase")]


def test_short_form_then_long_form():
    assert pairs("Serum ALT (alanine aminotransferase) was high.") == [("ALT", "alanine aminotransferase")]


def test_nested_parentheses_long_form_stops_at_the_enclosing_bracket():
    text = "Patients with liver injury (high alanine aminotransferase (ALT) levels) were excluded."
    assert pairs(text) == [("ALT", "alanine aminotransferase")]


def test_short_form_with_brackets_inside():
    text = "The forced expiratory volume in 1 second (FEV(1)) fell."
    assert pairs(text) == [("FEV(1)", "forced expiratory volume in 1 second")]
    assert pairs("The forced expiratory volume in 1 second [FEV(1)] fell.") == pairs(text)


def test_comma_inside_the_brackets_cuts_the_short_form():
    assert pairs("acute monoblastic leukemia (AML, M5A) was treated") == [("AML", "acute monoblastic leukemia")]


def test_examples_are_not_definitions():
    text = "Several drugs raise elevated glucose (e.g., in diabetes) in most patients."
    # Plain Schwartz-Hearst takes "e.g." for a short form of "elevated glucose"; Ab3P's filter does not.
    assert pairs(text, rules="schwartz_hearst") == [("e.g.", "elevated glucose")]
    assert pairs(text) == []


def test_statistics_are_not_definitions():
    assert pairs("Levels of plasma protein rose significantly (p < 0.05) after treatment.") == []
    assert pairs("Patients in the treatment group (n = 12) improved.") == []


def test_first_letter_strategy_beats_the_shortest_match():
    text = "Long-term use of proton pump inhibitors (PPIs) is common."
    assert pairs(text, rules="schwartz_hearst") == [("PPIs", "pump inhibitors")]
    assert pairs(text) == [("PPIs", "proton pump inhibitors")]


def test_stand_alone_bracket_before_is_not_part_of_the_long_form():
    text = "Pregnancy rates were 33.2% (treatment 1) and 29.1% (treatment 2)."
    assert pairs(text, rules="schwartz_hearst") == [("treatment 2", "(treatment 1) and 29.1%")]
    assert pairs(text) == []


def test_occurrences_refer_to_the_nearest_definition_before_them():
    text = "mass spectrometry (MS) was used. MS data. Later, multiple sclerosis (MS) patients. MS again; MSA and the MS-based."
    definitions = find_definitions(text)
    assert [text[d.long_start:d.long_end] for d in definitions] == ["mass spectrometry", "multiple sclerosis"]
    found = [(text[s:e], text[d.long_start:d.long_end]) for s, e, d in find_short_form_occurrences(text, definitions)]
    # "MSA" is another word; "MS-based" contains the short form as a word.
    assert found == [
        ("MS", "mass spectrometry"), ("MS", "mass spectrometry"),
        ("MS", "multiple sclerosis"), ("MS", "multiple sclerosis"), ("MS", "multiple sclerosis"),
    ]


def test_unknown_rules_name_the_choices():
    with pytest.raises(ValueError, match="rules must be one of schwartz_hearst, ab3p, got 'ab4p'"):
        find_definitions("text", rules="ab4p")


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "(",
        ")",
        "((((((((((",
        "))))) alanine aminotransferase (ALT",
        "alanine aminotransferase (ALT)) ))",
        "( ) [ ] ([)]",
        "丙氨酸氨基转移酶（ALT）升高 (丙氨酸)",
        "аланинаминотрансфераза (АЛТ) повышена",
        "ألانين أمينوترانسفيراز (ALT)",
        "\u200b\u200b (\u200b)",
    ],
)
def test_bad_input_returns_valid_offsets(text):
    for definition in find_definitions(text):
        assert 0 <= definition.short_start < definition.short_end <= len(text)
        assert 0 <= definition.long_start < definition.long_end <= len(text)
    find_short_form_occurrences(text, find_definitions(text))


def test_unbalanced_brackets_keep_the_balanced_definition():
    assert pairs("))) ((( serum alanine aminotransferase (ALT) (((") == [("ALT", "alanine aminotransferase")]


def test_million_character_documents_take_bounded_time():
    sentence = "Serum alanine aminotransferase (ALT) rose (p < 0.05); ALT and AST (aspartate aminotransferase) fell. "
    texts = {
        "abstract-like": sentence * (1_000_000 // len(sentence)),
        "open brackets": "(" * 1_000_000,
        "one word": "x" * 1_000_000,
    }
    for name, text in texts.items():
        start = time.perf_counter()
        definitions = find_definitions(text)
        occurrences = find_short_form_occurrences(text, definitions)
        seconds = time.perf_counter() - start
        assert seconds < 30, f"{name}: {seconds:.1f} s"
        if name == "abstract-like":
            assert len(definitions) == 2 * (1_000_000 // len(sentence))
            assert len(occurrences) == 3 * (1_000_000 // len(sentence))


# --- MED1250 reader and pair scoring ---------------------------------------------------------


def test_med1250_reader(tmp_path):
    path = tmp_path / "MED1250_labeled"
    path.write_bytes(
        b"123\r\nTitle of the first (TF).\r\nAbstract one.\r Second sentence (SS).\r\n  TF|Title of the first\r\n"
        b"//*  SS|Second sentence\r\n//\x93quoted\x94 comment\r\n\r\n"
        b"456\nTitle two.\nAbstract two.\n\n  AT|Abstract two\n\n789\nTitle three.\nNo definitions.\n"
    )
    abstracts = read_med1250(path)
    assert [a.pmid for a in abstracts] == ["123", "456", "789"]
    assert abstracts[0].pairs == [("TF", "Title of the first")]  # the //* pair was rejected by the curators
    assert abstracts[0].text == "Title of the first (TF).\nAbstract one.\r Second sentence (SS)."
    assert abstracts[1].pairs == [("AT", "Abstract two")]  # a pair after a blank line still belongs to 456
    assert abstracts[2].pairs == []


def test_med1250_reader_names_the_file_on_bad_input(tmp_path):
    path = tmp_path / "notmed.txt"
    path.write_text("no pmid blocks here\n")
    with pytest.raises(CorpusFormatError, match="notmed.txt: no PMID blocks found"):
        read_med1250(path)


def test_score_pairs_counts_duplicates():
    gold = [[("FSE", "fast spin-echo"), ("FSE", "fast spin-echo"), ("IR", "inversion recovery")]]
    predicted = [[("FSE", "fast spin-echo"), ("IR", "recovery"), ("SE", "spin-echo")]]
    scores = score_pairs(predicted, gold)
    assert (scores["tp"], scores["fp"], scores["fn"]) == (1, 2, 2)
    assert scores["precision"] == 33.33 and scores["recall"] == 33.33


# --- the components --------------------------------------------------------------------------

TEXT = (
    "Serum alanine aminotransferase (ALT) was high in acute renal failure (ARF). "
    "ALT fell; ARF persisted and ALT-like enzymes and HALT did not change."
)


@pytest.fixture(scope="module")
def detector_nlp():
    nlp = blank_biomedical()
    nlp.add_pipe("medner_abbreviations")
    return nlp


def test_component_records_every_occurrence_with_its_long_form(detector_nlp):
    doc = detector_nlp(TEXT)
    found = [(span.text, span.start_char, span._.long_form.text) for span in doc._.abbreviations]
    alt_positions = [i for i in range(len(TEXT)) if TEXT.startswith("ALT", i) and not TEXT[i - 1].isalpha()]
    arf_positions = [i for i in range(len(TEXT)) if TEXT.startswith("ARF", i)]
    expected = sorted(
        [("ALT", i, "alanine aminotransferase") for i in alt_positions]
        + [("ARF", i, "acute renal failure") for i in arf_positions],
        key=lambda item: item[1],
    )
    assert found == expected and len(found) == 5
    assert doc.spans["abbreviations"].attrs["definition"] == [True, True, False, False, False]
    assert {span.label_ for span in doc.spans["abbreviations"]} == {"SHORT_FORM"}
    assert doc[0:1]._.long_form is None


def test_long_form_set_by_hand(nlp):
    doc = nlp.make_doc("The INR was checked; international normalized ratio targets vary.")
    short_span, long_span = doc[1:2], doc[5:8]
    short_span._.long_form = long_span
    assert [(s.text, s._.long_form.text) for s in doc._.abbreviations] == [("INR", "international normalized ratio")]
    short_span._.long_form = None
    assert doc._.abbreviations == []


def test_long_form_from_another_doc_is_refused(nlp):
    doc, other = nlp.make_doc("INR here"), nlp.make_doc("international normalized ratio")
    with pytest.raises(ValueError, match="long_form must be a Span of the same Doc"):
        doc[0:1]._.long_form = other[0:3]


def test_serialization_round_trip(detector_nlp, tmp_path):
    doc = detector_nlp(TEXT)
    expected = [(s.start, s.end, s._.long_form.start, s._.long_form.end) for s in doc._.abbreviations]
    for store_user_data in (False, True):
        doc_bin = DocBin(docs=[doc], store_user_data=store_user_data)
        restored = list(DocBin().from_bytes(doc_bin.to_bytes()).get_docs(detector_nlp.vocab))[0]
        assert [(s.start, s.end, s._.long_form.start, s._.long_form.end) for s in restored._.abbreviations] == expected
    restored = Doc(detector_nlp.vocab).from_bytes(doc.to_bytes())
    assert [(s.start, s.end, s._.long_form.start, s._.long_form.end) for s in restored._.abbreviations] == expected
    detector_nlp.to_disk(tmp_path / "pipeline")
    reloaded = spacy.load(tmp_path / "pipeline")
    assert reloaded.get_pipe("medner_abbreviations").rules == "ab3p"
    assert [(s.start, s.end) for s in reloaded(TEXT)._.abbreviations] == [(s[0], s[1]) for s in expected]


def test_bad_config_is_named():
    nlp = blank_biomedical()
    with pytest.raises(ConfigValidationError, match="rules"):
        nlp.add_pipe("medner_abbreviations", config={"rules": "ab4p"})


ALT = ("ALT", "alanine aminotransferase")


@pytest.mark.parametrize("text,expected", [
    ("", []), ("((((", []), ("ALT (", []), ("丙氨酸氨基转移酶（ALT）", []), ("ALT (alanine aminotransferase", []),
    # a definition before broken text: both occurrences keep their long form
    ("alanine aminotransferase (ALT) rose; ALT (", [ALT, ALT]),
])
def test_component_bad_input(detector_nlp, text, expected):
    doc = detector_nlp(text)
    assert [(span.text, span._.long_form.text) for span in doc._.abbreviations] == expected


def test_component_on_a_million_characters(nlp):
    # Built from words (no tokenizer run) so that the test times the component only.
    sentence = nlp.make_doc("Serum alanine aminotransferase (ALT) rose and ALT fell. ")
    n_sentences = 1_000_000 // len(sentence.text)
    words = [token.text for token in sentence] * n_sentences
    spaces = [bool(token.whitespace_) for token in sentence] * n_sentences
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    assert len(doc.text) >= 990_000
    start = time.perf_counter()
    medner.abbreviations.component.AbbreviationDetector()(doc)
    assert time.perf_counter() - start < 30
    assert len(doc._.abbreviations) == 2 * n_sentences
    assert doc._.abbreviations[-1]._.long_form.text == "alanine aminotransferase"
    n_tokens = len(sentence)
    doc.ents = [Span(doc, i * n_tokens + 1, i * n_tokens + 3, label="CHEMICAL") for i in range(n_sentences)]
    start = time.perf_counter()
    propagate_entity_labels(doc, long_form_match="overlap", untagged_long_form="propagate")
    assert time.perf_counter() - start < 30
    assert len(doc.ents) == 3 * n_sentences


# --- NER post-processing -----------------------------------------------------------------------

NER_TEXT = "Patients with acute renal failure (ARF) after aspirin. ARF recovered; ARF patients with ARF syndrome left."
# tokens:    0        1    2     3     4       5 6  7 8     9      10 11 12     13 14  15       16   17  18     19 20


def ner_doc(nlp, ents):
    doc = nlp.make_doc(NER_TEXT)
    doc.ents = [Span(doc, start, end, label) for start, end, label in ents]
    return medner.abbreviations.component.detect_abbreviations(doc)


def ents(doc):
    return [(ent.text, ent.start, ent.label_) for ent in doc.ents]


def test_propagation_labels_every_occurrence_like_its_long_form(nlp):
    # ner tagged the long form, one short form with the wrong label, and a longer span over another one.
    doc = ner_doc(nlp, [(2, 5, "DISEASE"), (6, 7, "CHEMICAL"), (9, 10, "CHEMICAL"), (17, 19, "DISEASE")])
    assert [t.text for t in doc[17:19]] == ["ARF", "syndrome"]
    propagate_entity_labels(doc)
    assert ents(doc) == [
        ("acute renal failure", 2, "DISEASE"),
        ("ARF", 6, "DISEASE"),  # same tokens: relabelled
        ("aspirin", 9, "CHEMICAL"),
        ("ARF", 11, "DISEASE"),  # added
        ("ARF", 14, "DISEASE"),  # added
        ("ARF syndrome", 17, "DISEASE"),  # longer existing entity kept (filter_spans)
    ]


def test_untagged_long_form_policies(nlp):
    tagged = [(6, 7, "DISEASE"), (11, 12, "DISEASE")]
    keep = propagate_entity_labels(ner_doc(nlp, tagged), untagged_long_form="keep")
    assert ents(keep) == [("ARF", 6, "DISEASE"), ("ARF", 11, "DISEASE")]
    remove = propagate_entity_labels(ner_doc(nlp, tagged), untagged_long_form="remove")
    assert ents(remove) == []
    spread = propagate_entity_labels(ner_doc(nlp, tagged), untagged_long_form="propagate")
    assert ents(spread) == [
        ("acute renal failure", 2, "DISEASE"), ("ARF", 6, "DISEASE"), ("ARF", 11, "DISEASE"),
        ("ARF", 14, "DISEASE"), ("ARF", 17, "DISEASE"),
    ]


def test_overlap_match_takes_the_label_of_an_entity_covering_most_of_the_long_form(nlp):
    doc = ner_doc(nlp, [(3, 5, "DISEASE")])  # "renal failure" only
    assert ents(propagate_entity_labels(doc, long_form_match="exact")) == [("renal failure", 3, "DISEASE")]
    doc = ner_doc(nlp, [(3, 5, "DISEASE")])
    assert [e[2] for e in ents(propagate_entity_labels(doc, long_form_match="overlap"))] == ["DISEASE"] * 5


def test_propagation_component_after_ner_detects_by_itself(nlp):
    pipeline = blank_biomedical()
    ruler = pipeline.add_pipe("entity_ruler", name="ner")
    ruler.add_patterns([{"label": "DISEASE", "pattern": "acute renal failure"}])
    pipeline.add_pipe("medner_abbreviation_propagation", after="ner")
    doc = pipeline(NER_TEXT)
    assert [(e.text, e.label_) for e in doc.ents] == [("acute renal failure", "DISEASE")] + [("ARF", "DISEASE")] * 4
    assert len(abbreviation_pairs(doc)) == 4


@pytest.mark.parametrize("text,expected", [
    ("", []), ("((((", []), ("ARF (", ["ARF"]), ("急性肾衰竭（ARF）", []),
    ("acute renal failure (ARF", ["acute renal failure", "ARF"]), (") ARF ( acute renal failure", ["ARF", "acute renal failure"]),
])
def test_propagation_bad_input(text, expected):
    pipeline = blank_biomedical()
    ruler = pipeline.add_pipe("entity_ruler", name="ner")
    ruler.add_patterns([{"label": "DISEASE", "pattern": "acute renal failure"}, {"label": "DISEASE", "pattern": "ARF"}])
    pipeline.add_pipe("medner_abbreviation_propagation", after="ner", config={"untagged_long_form": "propagate"})
    doc = pipeline(text)
    assert [(ent.text, ent.label_) for ent in doc.ents] == [(t, "DISEASE") for t in expected]


# --- medner.abbreviations.evaluation / .pipeline (scripts/evaluate_abbreviation_propagation.py, add_abbreviations.py)


def test_propagation_evaluation_keeps_the_step_only_when_it_helps_on_dev(tmp_path):
    from ruler import ruler_nlp
    from medner.abbreviations.evaluation import evaluate_propagation
    text = "Acute renal failure (ARF) was seen. ARF resolved, and ARF did not recur."
    nlp = ruler_nlp({"DISEASE": ["acute renal failure"]})
    gold_doc = nlp.make_doc(text)
    gold_doc.ents = [
        gold_doc.char_span(start, start + len(word), label="DISEASE")
        for word, start in [("Acute renal failure", 0), ("ARF", 21), ("ARF", 36), ("ARF", 54)]
    ]
    for split in ("dev", "test"):
        (tmp_path / "corpus" / "toy").mkdir(parents=True, exist_ok=True)
        DocBin(docs=[gold_doc]).to_disk(tmp_path / "corpus" / "toy" / f"{split}.spacy")
    (tmp_path / "ruler").mkdir()
    nlp.to_disk(tmp_path / "ruler" / "model-best")
    # A pipeline from another corpus: its extra label is not scored (cross-corpus).
    ruler_nlp({"DISEASE": ["acute renal failure"], "CHEMICAL": ["seen"]}).to_disk(tmp_path / "other_corpus")
    output = tmp_path / "propagation.json"
    models = [str(tmp_path / "ruler" / "model-best"), str(tmp_path / "other_corpus")]
    evaluate_propagation("toy", models, output=output, corpus_dir=tmp_path / "corpus", batch_size=8)
    record = srsly.read_json(output)
    other = record["pipelines"]["other_corpus"]
    assert other["labels_scored"] == ["DISEASE"]
    assert other["splits"]["dev"]["scores"]["none"]["precision"] == 100.0
    entry = record["pipelines"]["ruler"]
    assert entry["labels_scored"] == "all"
    none = entry["splits"]["dev"]["scores"]["none"]
    assert (none["precision"], none["recall"]) == (100.0, 25.0)  # the ruler finds the long form only
    assert entry["splits"]["dev"]["scores"]["exact/keep"]["f1"] == 100.0
    assert entry["splits"]["dev"]["scores"]["exact/keep"]["changes"] == {"added": 3, "removed": 0, "relabelled": 0}
    assert entry["selected_on_dev"] == "exact/keep"  # the first of the best variants
    assert entry["test_f1"] == {"none": 40.0, "selected": 100.0, "delta": 60.0}
    assert entry["add_pipe"]["config"] == {"long_form_match": "exact", "untagged_long_form": "keep"}


def test_propagation_evaluation_names_a_missing_corpus(tmp_path, capsys):
    from medner.abbreviations.evaluation import evaluate_propagation
    with pytest.raises(SystemExit) as exit_info:
        evaluate_propagation("nope", ["x"], output=tmp_path / "x.json", corpus_dir=tmp_path, batch_size=8)
    assert exit_info.value.code == 1
    printed = " ".join(capsys.readouterr().out.split())  # wasabi wraps long lines
    assert f"Missing corpus file {tmp_path / 'nope' / 'dev.spacy'} (spacy project run convert)" in printed


def test_add_abbreviations_uses_the_variant_chosen_on_dev(tmp_path, capsys):
    from ruler import ruler_nlp
    from medner.abbreviations.pipeline import add_abbreviations
    (tmp_path / "ruler").mkdir()
    ruler_nlp({"DISEASE": ["acute renal failure"]}).to_disk(tmp_path / "ruler" / "model-best")
    chosen = {"factory": "medner_abbreviation_propagation", "after": "ner",
              "config": {"long_form_match": "overlap", "untagged_long_form": "remove"}}
    metrics = tmp_path / "metrics.json"
    srsly.write_json(metrics, {"pipelines": {"ruler": {"add_pipe": chosen}, "other": {"selected_on_dev": "none"}}})
    defaults = dict(long_form_match="exact", untagged_long_form="keep", detector_only=False, after=None)
    add_abbreviations(tmp_path / "ruler" / "model-best", tmp_path / "out", metrics=metrics, pipeline=None, **defaults)
    nlp = spacy.load(tmp_path / "out")
    assert nlp.pipe_names == ["entity_ruler", "medner_abbreviation_propagation"]
    assert nlp.get_pipe("medner_abbreviation_propagation").untagged_long_form == "remove"
    doc = nlp("Acute renal failure (ARF) was seen. ARF resolved.")
    assert [(ent.text, ent.label_) for ent in doc.ents] == [("Acute renal failure", "DISEASE"), ("ARF", "DISEASE"), ("ARF", "DISEASE")]
    # Where the step did not help on dev: the detector only.
    add_abbreviations(tmp_path / "ruler" / "model-best", tmp_path / "out2", metrics=metrics, pipeline="other", **defaults)
    assert spacy.load(tmp_path / "out2").pipe_names == ["entity_ruler", "medner_abbreviations"]
    with pytest.raises(SystemExit):
        add_abbreviations(tmp_path / "ruler" / "model-best", tmp_path / "out3", metrics=metrics, pipeline="missing", **defaults)
    assert "has no entry 'missing' (it has: other, ruler); pass --pipeline" in " ".join(capsys.readouterr().out.split())


def test_propagation_evaluation_refuses_a_pipeline_without_shared_labels(tmp_path, capsys):
    from ruler import ruler_nlp
    from medner.abbreviations.evaluation import evaluate_propagation
    nlp = ruler_nlp({"ANATOMY": ["kidney"]})
    gold_doc = nlp.make_doc("Acute renal failure (ARF).")
    gold_doc.ents = [gold_doc.char_span(0, 19, label="DISEASE")]
    (tmp_path / "corpus" / "toy").mkdir(parents=True)
    for split in ("dev", "test"):
        DocBin(docs=[gold_doc]).to_disk(tmp_path / "corpus" / "toy" / f"{split}.spacy")
    nlp.to_disk(tmp_path / "anatomy")
    with pytest.raises(SystemExit):
        evaluate_propagation("toy", [str(tmp_path / "anatomy")], output=tmp_path / "x.json", corpus_dir=tmp_path / "corpus", batch_size=8)
    assert "predicts ['ANATOMY'], none of them in" in " ".join(capsys.readouterr().out.split())

"""Concepts written once (issue 19): "words" for every words/s figure, the ents-or-span-group getter,
the extension registration of medner's components."""
from spacy.tokens import Doc, Span
from spacy.training import Example

from medner import register_extension
from medner.annotate import Summary
from medner.evaluation.entities import evaluate_pipeline
from medner.evaluation.spans import entity_spans, score_spans_or_ents, spans_or_ents
from medner.tokenizer import blank_biomedical, count_text_words, count_words

TEXT = "5-HT and IL-2/IL-4 rose.\n\nNo fever."


def test_words_are_non_space_biomedical_tokens_everywhere():
    nlp = blank_biomedical()
    doc = nlp(TEXT)
    expected = ["5", "-", "HT", "and", "IL", "-", "2", "/", "IL", "-", "4", "rose", ".", "No", "fever", "."]
    assert [t.text for t in doc if not t.is_space] == expected
    assert count_words(doc) == count_text_words([TEXT]) == 16 != len(TEXT.split())
    summary = Summary()
    summary.add_doc(doc, {"entities": []})
    assert summary.words == 16  # medner annotate / serve
    assert evaluate_pipeline(nlp, [nlp(TEXT)])["words"] == 16  # the evaluation matrix


def _doc():
    doc = blank_biomedical()("Aspirin and fever today")
    doc.ents = [Span(doc, 0, 1, "CHEMICAL"), Span(doc, 2, 3, "DISEASE")]
    doc.spans["merged"] = [Span(doc, 2, 3, "DISEASE")]
    return doc


def test_one_getter_for_ents_or_a_span_group():
    doc = _doc()
    assert [s.text for s in entity_spans(doc)] == [s.text for s in entity_spans(doc, "ents")] == ["Aspirin", "fever"]
    assert [s.text for s in entity_spans(doc, "merged")] == ["fever"]
    assert entity_spans(doc, "missing") == []
    assert [s.text for s in entity_spans(doc, "missing", fallback_to_ents=True)] == ["Aspirin", "fever"]
    assert [s.text for s in entity_spans(doc, None, labels={"CHEMICAL"})] == ["Aspirin"]
    assert [s.text for s in spans_or_ents(doc, "spans_merged")] == ["fever"]
    assert [s.text for s in spans_or_ents(doc, "spans_missing")] == ["Aspirin", "fever"]
    gold = _doc()  # gold keeps its entities in doc.ents: the predicted group is scored against them
    del gold.spans["merged"]
    scores = score_spans_or_ents([Example(_doc(), gold)], spans_key="merged")
    assert scores["spans_merged_p"] == 1.0 and scores["spans_merged_r"] == 0.5


def test_assertion_component_targets_come_from_the_same_getter():
    from medner.assertion.component import AssertionComponent

    nlp = blank_biomedical()
    doc = _doc()
    for span_key, expected in ((None, ["Aspirin", "fever"]), ("merged", ["fever"]), ("missing", [])):
        component = nlp.add_pipe("medner_assertion", name=f"a_{span_key}",
                                 config={"method": "rules", "span_key": span_key})
        assert isinstance(component, AssertionComponent)
        assert [s.text for s in component.target_spans(doc)] == expected


def test_an_extension_with_a_default_is_registered_once_a_getter_is_replaced():
    register_extension(Span, "medner_test_default", default=1)
    register_extension(Span, "medner_test_default", default=2)
    assert Span.get_extension("medner_test_default")[0] == 1
    register_extension(Doc, "medner_test_getter", getter=lambda doc: "first")
    register_extension(Doc, "medner_test_getter", getter=lambda doc: "second")
    assert blank_biomedical()("x")._.medner_test_getter == "second"

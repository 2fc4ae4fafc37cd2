"""The registered scorers of ``medner_abbreviations`` (pairs) and ``medner_abbreviation_propagation`` (entities
on the short forms): exact values on small gold documents, through ``nlp.evaluate`` as spaCy calls them."""
import pytest
from spacy.tokens import Span
from spacy.training import Example
from spacy.util import registry

from medner.abbreviations.component import (
    abbreviation_pairs, detect_abbreviations, score_abbreviation_ents, score_abbreviations, set_abbreviations,
)
from medner.tokenizer import blank_biomedical

TEXT = "Serum alanine aminotransferase (ALT) was high in acute renal failure (ARF). ALT fell; ARF persisted."


def _gold_pairs(nlp, keep):
    """The gold doc: the detector's pairs for the short forms in ``keep`` only (the rest are missed in gold)."""
    gold = detect_abbreviations(nlp(TEXT))
    pairs = [(short, long) for short, long in abbreviation_pairs(gold) if short.text in keep]
    set_abbreviations(gold, pairs, [short.start < long.start for short, long in pairs])
    return gold


def test_detector_scores_short_long_pairs_and_counts_the_gold_docs_it_scored():
    nlp = blank_biomedical()
    nlp.add_pipe("medner_abbreviations")
    assert nlp.get_pipe("medner_abbreviations").scorer is registry.scorers.get("medner.abbreviations_scorer.v1")()
    gold = _gold_pairs(nlp, {"ALT"})  # 2 ALT pairs in gold; the detector also finds 2 ARF pairs
    no_gold = nlp.make_doc(TEXT)  # no abbreviation span groups: not scored
    scores = nlp.evaluate([Example(nlp.make_doc(TEXT), gold), Example(nlp.make_doc(TEXT), no_gold)])
    assert scores["abbreviations_docs"] == 1
    assert scores["abbreviations_p"] == 0.5 and scores["abbreviations_r"] == 1.0
    assert scores["abbreviations_f"] == pytest.approx(2 / 3)
    assert score_abbreviations([Example(nlp(TEXT), no_gold)]) == {
        "abbreviations_p": None, "abbreviations_r": None, "abbreviations_f": None, "abbreviations_docs": 0}


def test_propagation_scores_the_entities_on_short_forms():
    nlp = blank_biomedical()
    ruler = nlp.add_pipe("entity_ruler", name="ner")
    ruler.add_patterns([{"label": "DISEASE", "pattern": "acute renal failure"}])
    nlp.add_pipe("medner_abbreviation_propagation", after="ner")
    gold = nlp.make_doc(TEXT)
    arf = [i for i, t in enumerate(gold) if t.text == "ARF"]
    alt = [i for i, t in enumerate(gold) if t.text == "ALT"]
    # gold: both ARF are diseases, the long form too, and the second ALT is (wrongly, for the test) a disease
    gold.ents = [Span(gold, arf[0] - 4, arf[0] - 1, "DISEASE")] + [Span(gold, i, i + 1, "DISEASE") for i in arf + alt[1:]]
    scores = nlp.evaluate([Example(nlp.make_doc(TEXT), gold)])
    # predicted on short forms: ARF x2 (right); gold on short forms: ARF x2 + ALT x1
    assert scores["abbreviation_ents_p"] == 1.0 and scores["abbreviation_ents_r"] == pytest.approx(2 / 3)
    assert scores["abbreviation_ents_f"] == pytest.approx(0.8)
    predicted = nlp.make_doc(TEXT)  # nothing detected, nothing predicted: no score
    assert score_abbreviation_ents([Example(predicted, gold)])["abbreviation_ents_f"] is None


def test_saved_pipelines_without_a_scorer_in_their_config_get_the_default():
    nlp = blank_biomedical()
    nlp.add_pipe("medner_abbreviations", config={"rules": "schwartz_hearst"})
    config = nlp.config
    del config["components"]["medner_abbreviations"]["scorer"]  # configs saved before the scorer existed
    from spacy.lang.en import English

    reloaded = English.from_config(config)
    assert reloaded.get_pipe("medner_abbreviations").scorer is score_abbreviations
    assert reloaded.get_pipe("medner_abbreviations").rules == "schwartz_hearst"

"""Name variants for unseen mentions (issue 20): the generators of medner.linking.kb.names, the KB's
word-order lookup, choose's minimum score for a variant, and the linker's switches."""
import pytest
import spacy

from medner.linking.component import choose
from medner.linking.kb import Candidate
from medner.linking.kb.names import (POISONING_HEADS, head_variants, modifier_variants, number_variants,
                                     organ_variants, word_key)

MEDIC = (
    "D058186||Acute Kidney Injury|Renal Failure, Acute|Kidney Failure, Acute\n"
    "D007674||Kidney Diseases|Diseases, Kidney\n"  # trimmed: no singular (number forms find it)
    "D008107||Liver Diseases|Disease, Liver|Liver Disease\n"  # MEDIC lists both numbers, inverted too
    "D056486||Drug-Induced Liver Injury|Liver Injury, Drug-Induced\n"
    "D011471||Prostatic Neoplasms|Neoplasms, Prostatic\n"
    "D009202||Cardiomyopathies|Myocardial Diseases\n"
    "D007676||Kidney Failure, Chronic\n"
)


@pytest.fixture(scope="module")
def kb(medic_kb):
    return medic_kb(MEDIC)


def test_word_key_ignores_order_commas_plurals_and_stop_words():
    assert word_key("Neoplasms, Prostatic") == word_key("prostatic neoplasms") == "neoplasm prostatic"
    assert word_key("cancer of the prostate") == word_key("prostate cancer") == "cancer prostate"
    assert word_key("renal failure acute") == word_key("Acute renal failure") == "acute failure renal"
    assert word_key("of the") == ""
    assert word_key("kidney disease") != word_key("liver disease")


def test_kb_word_lookup_finds_inverted_names_only_with_the_same_words(kb):
    assert kb.exact("acute renal failure") == []  # no name has these words in this order
    assert [c.id for c in kb.exact("acute renal failure", mode="words")] == ["D058186"]
    assert [c.id for c in kb.exact("neoplasms of the prostatic", mode="words")] == ["D011471"]
    assert kb.exact("chronic renal failure", mode="words") == []  # the KB has "Kidney Failure, Chronic" only
    assert kb.exact("of the", mode="words") == []


def test_organ_variants_swap_adjective_and_noun_both_ways():
    assert organ_variants("renal failure") == ["kidney failure"]
    assert organ_variants("Liver disease") == ["hepatic disease"]
    assert organ_variants("acute renal and hepatic failure") == ["acute kidney and hepatic failure",
                                                                  "acute renal and liver failure"]
    assert organ_variants("prostatic neoplasms") == ["prostate neoplasms"]
    assert organ_variants("fever") == []


def test_head_variants_use_the_heads_mesh_names_have():
    assert head_variants("liver damage") == ["liver injury", "liver disease"]
    assert head_variants("Liver injuries") == ["Liver damage", "Liver disease"]  # "-ies" plural seen as "injury"
    assert head_variants("renal lesions") == ["renal disease"]
    assert head_variants("kidney disease") == ["kidney disorder"]
    assert head_variants("lead toxicity") == ["lead disease"]
    assert head_variants("lead toxicity", heads=POISONING_HEADS) == ["lead poisoning"]
    assert head_variants("cardiac complications") == []  # tried on dev, dropped
    assert head_variants("headache") == []


def test_number_variants_flip_the_head_normalise_leaves_alone():
    assert number_variants("kidney disease") == ["kidney diseases"]
    assert number_variants("Cardiomyopathies")[0] == "cardiomyopathy"
    assert number_variants("cardiomyopathy") == ["cardiomyopathies"]
    assert number_variants("vertebrae") == ["vertebra"]
    assert number_variants("deficiencies of complement components")[0] == "deficiency of complement components"
    assert number_variants("diabetes") == [] and number_variants("type 2 diabetes") == []
    assert number_variants("acute renal failure") == ["acute renal failures"]  # "-es" is not folded by normalise
    assert number_variants("") == [] and number_variants("HIV") == []


def test_modifier_variants_drop_leading_words_of_a_plain_noun_phrase_only():
    assert modifier_variants("congenital heart disease") == ["heart disease"]
    assert modifier_variants("X-linked recessive neurological disorder") == ["recessive neurological disorder",
                                                                             "neurological disorder"]
    assert modifier_variants("hemorrhagic cystitis") == []  # a one-word rest is too general (dev)
    assert modifier_variants("cancer of the prostate") == []
    assert modifier_variants("myoclonic, atypical absence and/or atonic seizures") == []


def test_choose_takes_a_variant_only_above_the_minimum_score_and_the_margin():
    whole = [Candidate("D1", "whole", 0.5)]
    assert choose(whole, None, [], 0.0, [[Candidate("D2", "v", 0.79)]], 0.8)[:3:2] == ("D1", "fuzzy")
    assert choose(whole, None, [], 0.0, [[Candidate("D2", "v", 0.85)]], 0.8)[:3:2] == ("D2", "variant")
    assert choose(whole, None, [], 0.0, [[Candidate("D2", "v", 0.79)]], 0.7)[0] == "D2"
    # the margin still applies, and an exact whole is never replaced
    assert choose([Candidate("D1", "w", 0.82)], None, [], 0.0, [[Candidate("D2", "v", 0.85)]], 0.8)[0] == "D1"
    assert choose([Candidate("D1", "w", 1.0)], None, [], 0.0, [[Candidate("D2", "v", 1.0)]], 0.8)[0] == "D1"
    # the whole's candidates follow the winning variant's, up to the whole's count
    kb_id, candidates, how = choose([Candidate("D1", "w", 0.6), Candidate("D4", "x", 0.5)], None, [], 0.0,
                                    [[Candidate("D2", "v", 1.0)]], 0.8)
    assert (kb_id, how) == ("D2", "variant") and [c.id for c in candidates] == ["D2", "D1"]
    # equal variants: the first wins
    variants = [[Candidate("D2", "a", 1.0)], [Candidate("D3", "b", 1.0)]]
    assert choose(whole, None, [], 0.0, variants, 0.8)[0] == "D2"


def test_word_order_links_a_name_with_other_words_around_exactly(kb, link_one):
    # char 3-grams ignore word order already ("acute renal failure" scores 1.0 against
    # "Renal Failure, Acute"); the word lookup adds the stop words and the composed variants:
    # "neoplasms of the prostate" -> organ "neoplasms of the prostatic" = "Prostatic Neoplasms"
    assert link_one(kb, "acute renal failure")[0]._.kb_candidates[0] == ("D058186", "Acute Kidney Injury", 1.0)
    span, linker = link_one(kb, "neoplasms of the prostate", word_order=True)
    assert span.kb_id_ == "D011471" and span._.kb_candidates[0][2] == 1.0
    assert linker.stats["variant"] == 1
    span, _ = link_one(kb, "neoplasms of the prostate")  # default: off
    assert span._.kb_candidates[0][2] < 1.0


def test_organ_head_and_number_variants_compose(kb, link_one):
    # "renal lesions" -> organ "kidney lesions" -> head "kidney disease" -> number "kidney diseases"
    span, linker = link_one(kb, "renal lesions")
    assert span._.kb_candidates[0] == ("D007674", "Kidney Diseases", 1.0) and linker.stats["variant"] == 1
    for off in ("organ_forms", "disease_heads", "number_forms"):
        span, _ = link_one(kb, "renal lesions", **{off: False})
        assert span._.kb_candidates[0][2] < 1.0, off
    # the default: organ forms and disease heads, "liver disease" exact for the Liver Diseases name
    span, _ = link_one(kb, "hepatic lesion")
    assert span._.kb_candidates[0] == ("D008107", "Liver Diseases", 1.0)
    _, linker = link_one(kb, "x")
    assert [v for v, _ in linker._variant_texts("hepatic damage")] == [  # generators in order, on the forms before
        "liver damage", "hepatic injury", "hepatic disease", "liver injury", "liver disease", "hepatic damages",
        "liver damages", "hepatic injuries", "hepatic diseases", "liver injuries", "liver diseases"]
    # modifier backoff, for DISEASE mentions only: "acute kidney injury" is a name, "acute kidney" is not
    span, _ = link_one(kb, "severe acute kidney injury")
    assert span._.kb_candidates[0] == ("D058186", "Acute Kidney Injury", 1.0)
    span, _ = link_one(kb, "severe acute kidney injury", modifier_labels=[])
    assert span._.kb_candidates[0][2] < 1.0
    _, linker = link_one(kb, "x")
    assert linker._variant_texts("severe liver lesions", "CHEMICAL") == linker._variant_texts("severe liver lesions")
    assert ("liver lesions", False) in linker._variant_texts("severe liver lesions", "DISEASE")
    # neoplasm variants are searched by TF-IDF as before, the issue-20 ones only exactly (fuzzy_variants off)
    assert linker._variant_texts("renal carcinoma") == [("renal cancer", True), ("kidney carcinoma", False),
                                                         ("kidney cancer", False)]
    _, linker = link_one(kb, "x", fuzzy_variants=True)
    assert linker._variant_texts("renal carcinoma")[1] == ("kidney carcinoma", True)


def test_linker_config_is_validated_and_saved():
    nlp = spacy.blank("en")
    linker = nlp.add_pipe("medner_linker", config={"word_order": False, "variant_min_score": 0.9})
    assert linker.cfg["word_order"] is False and linker.cfg["variant_min_score"] == 0.9
    assert linker.cfg["organ_forms"] and linker.cfg["disease_heads"]  # chosen on dev
    assert linker.cfg["number_forms"] and not linker.cfg["fuzzy_variants"]
    assert linker.cfg["modifier_labels"] == ["DISEASE"]
    with pytest.raises(ValueError, match="variant_min_score"):
        spacy.blank("en").add_pipe("medner_linker", config={"variant_min_score": 1.5})

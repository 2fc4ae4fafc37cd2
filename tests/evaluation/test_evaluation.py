"""``medner.evaluation.entities``: exact-match scoring, optionally restricted to shared labels (cross-corpus)."""
from spacy.tokens import Span

from medner.evaluation.entities import evaluate_pipeline, score_entities
from medner.tokenizer import blank_biomedical

TEXT = "Aspirin caused fever."


def _doc(nlp, ents):
    doc = nlp.make_doc(TEXT)
    doc.ents = [Span(doc, start, end, label) for start, end, label in ents]
    return doc


def test_all_labels_vs_shared_labels():
    nlp = blank_biomedical()
    gold = [_doc(nlp, [(0, 1, "CHEMICAL"), (2, 3, "DISEASE")])]
    predicted = [_doc(nlp, [(2, 3, "DISEASE"), (0, 1, "PATHOGEN")])]
    everything = score_entities(predicted, gold)
    assert (everything["precision"], everything["recall"]) == (50.0, 50.0)
    shared = score_entities(predicted, gold, labels={"DISEASE"})
    assert (shared["precision"], shared["recall"], shared["f1"]) == (100.0, 100.0, 100.0)
    assert set(shared["per_label"]) == {"DISEASE"}


def test_evaluate_pipeline_counts_only_scored_labels():
    nlp = blank_biomedical()
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "DISEASE", "pattern": "fever"}, {"label": "PATHOGEN", "pattern": "Aspirin"}])
    gold = [_doc(nlp, [(0, 1, "CHEMICAL"), (2, 3, "DISEASE")])]
    result = evaluate_pipeline(nlp, gold, labels=["DISEASE"])
    assert result["gold_entities"] == 1 and result["predicted_entities"] == 1 and result["f1"] == 100.0
    result = evaluate_pipeline(nlp, gold)
    assert result["gold_entities"] == 2 and result["predicted_entities"] == 2 and result["f1"] == 50.0


def test_gold_from_another_vocab_lacking_a_predicted_label():
    """Gold read with a blank pipeline's vocab, predictions with a label the gold never had: a false positive, not E084."""
    from ruler import ruler_nlp
    from spacy.tokens import Span

    from medner.evaluation.entities import evaluate_pipeline
    from medner.tokenizer import blank_biomedical

    blank = blank_biomedical()
    gold = blank.make_doc("Warfarin was given.")
    gold.ents = [Span(gold, 0, 1, label="MEDICATION")]
    nlp = ruler_nlp({"MEDICATION": ["warfarin"], "A_LABEL_ONLY_THE_MODEL_HAS": ["given"]})
    scores = evaluate_pipeline(nlp, [gold])
    assert scores["per_label"]["MEDICATION"]["f"] == 100.0
    assert scores["precision"] == 50.0 and scores["recall"] == 100.0

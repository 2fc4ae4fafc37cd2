"""``configs/ensemble.cfg``: CNN ner, spacy-transformers ner and the HF classifier side by side, then a vote.

The point of ``medner_stash_entities`` is that each system in the ensemble
predicts exactly what it predicts alone; this is checked against the
separately saved tiny pipelines, and the vote against a recomputation.
"""
import pytest
from pipelines import TEXTS

from medner.ner.merge import MergeEntities


def _spans(spans):
    return [(s.start_char, s.end_char, s.label_) for s in spans]


def test_ensemble_layout(tiny_pipelines):
    nlp = tiny_pipelines.load("ensemble")
    assert nlp.pipe_names == ["tok2vec", "ner_cnn", "stash_cnn", "transformer", "ner_trf", "stash_trf", "hf", "merge"]


@pytest.mark.parametrize("text", [t for t in TEXTS if t])
def test_each_member_predicts_as_it_does_alone(tiny_pipelines, text):
    ensemble = tiny_pipelines.load("ensemble")(text)
    alone = {name: tiny_pipelines.load(name)(text) for name in ("cnn", "trf", "hf")}
    assert _spans(ensemble.spans["cnn"]) == _spans(alone["cnn"].ents)
    assert _spans(ensemble.spans["trf"]) == _spans(alone["trf"].ents)
    assert _spans(ensemble.spans["hf"]) == _spans(alone["hf"].spans["hf"])


def test_vote_result_and_provenance(tiny_pipelines):
    nlp = tiny_pipelines.load("ensemble")
    text = " ".join(TEXTS)
    doc = nlp(text)
    merge = nlp.get_pipe("merge")
    assert merge.cfg["policy"] == "vote" and merge.cfg["min_votes"] == 2
    expected = MergeEntities(nlp.vocab, sources=["trf", "cnn", "hf"], policy="vote", min_votes=2, scorer=None).merge(doc)[0]
    assert _spans(doc.ents) == _spans(expected)
    for agreement in doc.spans["medner"].attrs["agreement"]:
        assert len(agreement.split("+")) >= 2


def test_stash_rejects_ents_key():
    from medner.ner.stash import StashEntities

    with pytest.raises(ValueError):
        StashEntities(spans_key="ents")


def test_members_are_not_trivially_empty(tiny_pipelines):
    """The comparison above means something only if the CNN (whose ents are stashed) predicts entities."""
    docs = list(tiny_pipelines.load("ensemble").pipe([t for t in TEXTS if t]))
    assert sum(len(doc.spans["cnn"]) for doc in docs) > 0
    assert sum(len(doc.spans["hf"]) for doc in docs) > 0


def test_clinical_ensemble_two_cnns_with_their_own_tok2vec(tiny_pipelines, tmp_path):
    """configs/ensemble_clinical.cfg sources two CNN ``ner`` components with replace_listeners:
    no shared tok2vec, each predicts what its own pipeline predicts, and the saved nlp reloads."""
    import spacy
    from pipelines import build_assembled

    build_assembled("ensemble_clinical.cfg", tmp_path / "clinical", {
        "paths.cnn_model": str(tiny_pipelines.paths["cnn"]), "paths.cnn_fast_model": str(tiny_pipelines.paths["cnn"]),
        "paths.hf_model": str(tiny_pipelines.keyword_model)})
    nlp = spacy.load(tmp_path / "clinical")
    assert nlp.pipe_names == ["ner_cnn", "stash_cnn", "ner_fast", "stash_fast", "hf", "merge"]
    assert "tok2vec" not in nlp.pipe_names
    texts = [t for t in TEXTS if t]
    alone = [tiny_pipelines.load("cnn")(t) for t in texts]
    for text, cnn_doc, doc in zip(texts, alone, nlp.pipe(texts)):
        assert _spans(doc.spans["cnn"]) == _spans(cnn_doc.ents), text
        assert _spans(doc.spans["cnn_fast"]) == _spans(cnn_doc.ents), text
        # two identical CNNs always agree, so every CNN entity wins the 2-of-3 vote
        assert set(_spans(cnn_doc.ents)) <= set(_spans(doc.ents))


def test_stash_keeps_and_renames_labels():
    """A BC5CDR model's CHEMICAL entities join a clinical pipeline as MEDICATION; its DISEASE ones are left out."""
    from ruler import ruler_nlp

    nlp = ruler_nlp({"CHEMICAL": ["warfarin"], "DISEASE": ["stroke"]})
    nlp.add_pipe("medner_stash_entities", config={"spans_key": "bc5cdr", "labels": ["CHEMICAL"], "label_map": {"CHEMICAL": "MEDICATION"}})
    doc = nlp("Warfarin after a stroke.")
    assert [(s.text, s.label_) for s in doc.spans["bc5cdr"]] == [("Warfarin", "MEDICATION")]
    assert list(doc.ents) == []

"""The guideline switch: documents tagged with the corpus definition they follow (join, reader, component),
and configs/cnn_fast_vocab_drug_guideline.cfg trained for a few steps (tiny widths) whose token vectors
depend on the tag, saved and switched to the other guideline at load."""
import random
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example
from spacy.util import load_config, load_model_from_config

from medner.corpus.join import join_corpora
from medner.ner.guideline import GUIDELINE_ATTR, UnknownGuideline, guideline_corpus, guideline_ids, save_with_guideline

ROOT = Path(__file__).resolve().parents[2]


def _docbin(path, vocab, sentences):
    docs = []
    for words, ents in sentences:
        doc = Doc(vocab, words=words)
        doc.ents = [Span(doc, s, e, label=label) for s, e, label in ents]
        docs.append(doc)
    DocBin(docs=docs, store_user_data=True).to_disk(path)
    return path


def test_component_sets_its_guideline_only_where_a_doc_has_none():
    nlp = spacy.blank("en")
    nlp.add_pipe("medner_guideline", name="guideline", config={"guideline": "ncbi_disease"})
    assert nlp("breast cancer")._.guideline == "ncbi_disease"
    tagged = nlp.make_doc("breast cancer")
    tagged._.set(GUIDELINE_ATTR, "bc5cdr")
    assert nlp(tagged)._.guideline == "bc5cdr"


def test_an_unknown_guideline_is_one_line_naming_the_known_ones():
    nlp = spacy.blank("en")
    with pytest.raises(UnknownGuideline, match=r"^unknown guideline 'ncbi'; this pipeline knows: bc5cdr, ncbi_disease$"):
        nlp.add_pipe("medner_guideline", config={"guideline": "ncbi"})


def test_guideline_ids_put_unknown_and_untagged_documents_at_zero():
    nlp = spacy.blank("en")
    docs = [nlp.make_doc(text) for text in ("a b", "c", "d e f")]
    docs[0]._.set(GUIDELINE_ATTR, "ncbi_disease")
    docs[2]._.set(GUIDELINE_ATTR, "somewhere_else")
    ids, _ = guideline_ids(["bc5cdr", "ncbi_disease"])(docs, is_train=False)
    assert [list(array) for array in ids] == [[2, 2], [0], [0, 0, 0]]


def test_join_tags_each_corpus_and_the_reader_hands_the_tag_to_the_predicted_doc(tmp_path):
    nlp = spacy.blank("en")
    a = _docbin(tmp_path / "a.spacy", nlp.vocab, [(["cisplatin", "nephrotoxicity"], [(0, 1, "CHEMICAL"), (1, 2, "DISEASE")])])
    b = _docbin(tmp_path / "b.spacy", nlp.vocab, [(["breast", "cancer"], [(0, 2, "DISEASE")])])
    with pytest.raises(ValueError, match="1 guidelines for 2 corpora"):
        join_corpora([a, b], ["CHEMICAL", "DISEASE"], nlp.vocab, guidelines=["bc5cdr"])
    joined, counts = join_corpora([a, b], ["CHEMICAL", "DISEASE"], nlp.vocab, guidelines=["bc5cdr", "ncbi_disease"])
    assert counts[str(b)]["guideline"] == "ncbi_disease"
    joined.to_disk(tmp_path / "joined.spacy")
    examples = list(guideline_corpus(tmp_path / "joined.spacy")(nlp))
    assert [(eg.reference._.guideline, eg.predicted._.guideline) for eg in examples] == [
        ("bc5cdr", "bc5cdr"), ("ncbi_disease", "ncbi_disease")]
    assert [e.label_ for e in examples[0].reference.ents] == ["CHEMICAL", "DISEASE"]


def _tiny_guideline_config(tmp_path):
    medic = tmp_path / "medic.txt"
    mesh = tmp_path / "mesh.tsv"
    medic.write_text("D007674||Kidney Diseases|kidney disease\n", encoding="utf8")
    mesh.write_text("D002945\tCisplatin\n", encoding="utf8")
    return load_config(ROOT / "configs" / "cnn_fast_vocab_drug_guideline.cfg", overrides={
        "paths.vocab_medic": str(medic), "paths.vocab_mesh": str(mesh),
        "components.vocab_features.sources": ["MEDIC", "MESH"],
        "components.tok2vec.model.embed.embed.n_sources": 2,
        "initialize.components.vocab_features": {"medic_path": str(medic), "mesh_path": str(mesh)},
        "components.tok2vec.model.encode.width": 32, "components.tok2vec.model.encode.depth": 1,
        "components.tok2vec.model.embed.embed.embed.rows": [500, 100, 100, 100],
    })


def test_tiny_guideline_pipeline_learns_both_definitions_and_switches_at_load(tmp_path):
    nlp = load_model_from_config(_tiny_guideline_config(tmp_path), auto_fill=True, validate=True)
    assert nlp.pipe_names == ["guideline", "vocab_features", "tok2vec", "ner"]
    # The same words, two definitions: BC5CDR leaves the modifier out, NCBI-disease keeps it.
    words = "the hereditary breast cancer patients".split()
    examples = []
    for guideline, start in (("bc5cdr", 2), ("ncbi_disease", 1)):
        gold = Doc(nlp.vocab, words=words)
        gold.ents = [Span(gold, start, 4, label="DISEASE")]
        predicted = Doc(nlp.vocab, words=words)
        gold._.set(GUIDELINE_ATTR, guideline)
        predicted._.set(GUIDELINE_ATTR, guideline)
        examples.append(Example(predicted, gold))
    spacy.util.fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(200):
        random.shuffle(examples)
        nlp.update(examples, sgd=optimizer, drop=0.0, annotates=["vocab_features"])
    text = " ".join(words)
    assert [e.text for e in nlp(text).ents] == ["breast cancer"]  # the pipeline's default: bc5cdr

    tok2vec = nlp.get_pipe("tok2vec").model
    one, other = nlp.make_doc(text), nlp.make_doc(text)
    one._.set(GUIDELINE_ATTR, "bc5cdr")
    other._.set(GUIDELINE_ATTR, "ncbi_disease")
    for doc in (one, other):
        nlp.get_pipe("vocab_features")(doc)
    assert not numpy.allclose(*tok2vec.predict([one, other]))

    nlp.to_disk(tmp_path / "pipeline")
    ncbi = spacy.load(tmp_path / "pipeline", config={"components": {"guideline": {"guideline": "ncbi_disease"}}})
    assert [e.text for e in ncbi(text).ents] == ["hereditary breast cancer"]
    assert [e.text for e in spacy.load(tmp_path / "pipeline")(text).ents] == ["breast cancer"]
    save_with_guideline(tmp_path / "pipeline", "ncbi_disease", tmp_path / "ncbi")  # scripts/set_guideline.py
    assert [e.text for e in spacy.load(tmp_path / "ncbi")(text).ents] == ["hereditary breast cancer"]


def test_a_pipeline_without_the_switch_is_named(tmp_path):
    spacy.blank("en").to_disk(tmp_path / "plain")
    with pytest.raises(UnknownGuideline, match="plain has no medner_guideline component: it follows one guideline only"):
        save_with_guideline(tmp_path / "plain", "ncbi_disease", tmp_path / "out")

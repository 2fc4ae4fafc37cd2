"""The drug dictionary as a third dictionary source (features) and as candidate MEDICATION spans
(``medner_vocab_spans`` merged by ``medner_merge_entities``), on a tiny drug dictionary written
in drug-named-entity-recognition's pickle layout."""
import bz2
import pickle
import random
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import load_config, load_model_from_config

from medner.ner.vocab.component import TAGS_ATTR, VocabFeatureTagger
from medner.ner.vocab.spans import VocabSpans, name_precision
from medner.ner.vocab.tags import describe_tag, source_spans, tag_ids
from medner.tokenizer import blank_biomedical

ROOT = Path(__file__).resolve().parents[2]
DRUGS = {
    "drug_variant_to_canonical": {
        "metformin": ["metformin"], "glucophage": ["metformin"], "gabapentin": ["gabapentin"],
        "lead": ["lead"], "insulin glargine": ["insulin glargine"],
    },
    "drug_canonical_to_data": {
        "metformin": {"name": "Metformin", "drugbank_id": "DB00331", "mesh_id": "D007004"},
        "gabapentin": {"name": "Gabapentin", "drugbank_id": "DB00996"},
        "lead": {"name": "Lead"},
        "insulin glargine": {"name": "Insulin Glargine", "drugbank_id": "DB00047"},
    },
}


@pytest.fixture()
def vocab_files(tmp_path):
    medic = tmp_path / "medic.txt"
    mesh = tmp_path / "mesh.tsv"
    drugs = tmp_path / "drugs.pkl.bz2"
    medic.write_text("D003920||Diabetes Mellitus|diabetes\n", encoding="utf8")
    mesh.write_text("D008687\tMetformin\nD007004\tHypoglycemic Agents\n", encoding="utf8")
    with bz2.open(drugs, "wb") as file_:
        pickle.dump(DRUGS, file_)
    return {"medic_path": medic, "mesh_path": mesh, "drug_path": drugs}


def test_three_sources_encode_and_decode():
    sources = ("MEDIC", "MESH", "DRUG")
    ids = tag_ids(4, {"MEDIC": [(0, 1)], "DRUG": [(1, 3)]}, sources)
    assert [describe_tag(i, sources) for i in ids] == ["B-MEDIC", "B-DRUG", "I-DRUG", "O"]
    assert source_spans(ids, 2) == [(1, 3)] and source_spans(ids, 0) == [(0, 1)]
    assert source_spans(tag_ids(3, {"DRUG": [(0, 1), (1, 2)]}, sources), 2) == [(0, 1), (1, 2)]  # B B: two spans


def test_drug_source_marks_drug_names(vocab_files):
    nlp = blank_biomedical()
    pipe = nlp.add_pipe("medner_vocab_features", config={"sources": ["MEDIC", "MESH", "DRUG"]})
    pipe.initialize(nlp=nlp, **vocab_files)
    doc = nlp("Glucophage and insulin glargine for diabetes; metformin was held.")
    assert [t._.vocab_match for t in doc[:4]] == ["B-DRUG", "O", "B-DRUG", "I-DRUG"]
    assert doc[-4]._.vocab_match == "B-MESH B-DRUG"  # metformin: MeSH descriptor and drug name
    copy = VocabFeatureTagger(nlp.vocab, sources=("MEDIC", "MESH", "DRUG")).from_bytes(pipe.to_bytes())
    assert copy(nlp.make_doc(doc.text))._.get(TAGS_ATTR) == doc._.get(TAGS_ATTR)


def test_drug_source_needs_its_file(vocab_files):
    nlp = blank_biomedical()
    pipe = nlp.add_pipe("medner_vocab_features", config={"sources": ["MEDIC", "DRUG"]})
    with pytest.raises(ValueError, match=r"initialize needs drug_path for sources \['MEDIC', 'DRUG'\]"):
        pipe.initialize(nlp=nlp, medic_path=vocab_files["medic_path"])


def _gold(nlp, text, ents):
    doc = nlp.make_doc(text)
    doc.ents = [doc.char_span(text.index(word), text.index(word) + len(word), label=label) for word, label in ents]
    return doc


def test_vocab_spans_learn_unreliable_names_and_round_trip(tmp_path, vocab_files):
    nlp = blank_biomedical()
    nlp.add_pipe("medner_vocab_features", config={"sources": ["MEDIC", "MESH", "DRUG"]})
    spans = nlp.add_pipe("medner_vocab_spans", config={"min_count": 2, "min_precision": 0.5})
    gold = [
        _gold(nlp, "Serum lead was normal.", []),
        _gold(nlp, "Blood lead level was high.", []),
        _gold(nlp, "Metformin was started.", [("Metformin", "MEDICATION")]),
        _gold(nlp, "Gabapentin for pain; metformin continued.", [("Gabapentin", "MEDICATION"), ("metformin", "MEDICATION")]),
    ]
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in gold]
    nlp.get_pipe("medner_vocab_features").initialize(nlp=nlp, **vocab_files)
    spans.initialize(lambda: examples, nlp=nlp)
    assert spans.name_counts["lead"] == (2, 0) and spans.name_counts["metformin"] == (2, 2)
    assert spans.excluded == ["lead"]
    doc = nlp("Lead and gabapentin; Glucophage.")
    assert [(s.text, s.label_) for s in doc.spans["vocab_drug"]] == [("gabapentin", "MEDICATION"), ("Glucophage", "MEDICATION")]
    copy = VocabSpans(nlp.vocab).from_bytes(spans.to_bytes())
    assert copy.excluded == ["lead"] and copy.cfg["min_count"] == 2
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    loaded_doc = loaded("Lead and gabapentin")
    assert [s.text for s in loaded_doc.spans["vocab_drug"]] == ["gabapentin"]


def test_vocab_spans_need_the_source_before_them(vocab_files):
    nlp = blank_biomedical()
    nlp.add_pipe("medner_vocab_features")  # MEDIC and MESH only
    nlp.add_pipe("medner_vocab_spans")
    nlp.get_pipe("medner_vocab_features").initialize(nlp=nlp, medic_path=vocab_files["medic_path"],
                                                     mesh_path=vocab_files["mesh_path"])
    with pytest.raises(ValueError, match=r"the vocab features have sources \['MEDIC', 'MESH'\], not DRUG"):
        nlp("metformin")
    bare = blank_biomedical()
    bare.add_pipe("medner_vocab_spans")
    with pytest.raises(ValueError, match=r"doc._.vocab_tags is not set: add a medner_vocab_features"):
        bare("metformin")


def test_name_precision_skips_missing_gold_tokens(nlp):
    gold = nlp.make_doc("lead was given")
    gold.set_ents([], missing=[gold[0:1]], default="outside")
    counts = name_precision([Example(gold, gold)], lambda doc: [(0, 1)], "MEDICATION")
    assert counts == {}


def test_clinical_config_merges_dictionary_drugs_the_ner_missed(tmp_path, vocab_files):
    """configs/clinical_cnn.cfg (tiny widths, a few updates): the dictionary's drug fills a gap of the NER."""
    config = load_config(ROOT / "configs" / "clinical_cnn.cfg", overrides={
        "paths.vocab_medic": str(vocab_files["medic_path"]), "paths.vocab_mesh": str(vocab_files["mesh_path"]),
        "paths.vocab_drug": str(vocab_files["drug_path"]),
        "components.tok2vec.model.encode.width": 32, "components.tok2vec.model.encode.depth": 1,
        "components.tok2vec.model.embed.embed.rows": [500, 100, 100, 100],
        "components.tok2vec.model.embed.feature_width": 8,
    })
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.pipe_names == ["vocab_features", "tok2vec", "ner", "vocab_spans", "merge"]
    gold = [_gold(nlp, "Diabetes treated with metformin .", [("Diabetes", "DISEASE"), ("metformin", "MEDICATION")]),
            _gold(nlp, "Chronic diabetes .", [("diabetes", "DISEASE")])]
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in gold]
    spacy.util.fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(20):
        random.shuffle(examples)
        nlp.update(examples, sgd=optimizer, drop=0.0, annotates=["vocab_features"])
    doc = nlp("Gabapentin was added .")  # never seen in training: found by the dictionary
    assert ("Gabapentin", "MEDICATION") in [(e.text, e.label_) for e in doc.ents]
    assert doc.spans["medner"].attrs["sources"][[e.text for e in doc.ents].index("Gabapentin")] == "vocab_drug"
    nlp.to_disk(tmp_path / "clinical")
    assert [(e.text, e.label_) for e in spacy.load(tmp_path / "clinical")(doc.text).ents] == [(e.text, e.label_) for e in doc.ents]


def test_vocab_spans_learn_from_a_corpus_file_as_spacy_assemble_needs(tmp_path, vocab_files):
    """`spacy assemble` passes a dummy example: train_path takes precedence, and a missing file is named."""
    from spacy.tokens import DocBin

    nlp = blank_biomedical()
    nlp.add_pipe("medner_vocab_features", config={"sources": ["MEDIC", "MESH", "DRUG"]})
    spans = nlp.add_pipe("medner_vocab_spans", name="vocab_medic",
                         config={"source": "MEDIC", "label": "DISEASE", "spans_key": "vocab_medic", "min_count": 2})
    gold = [_gold(nlp, "Diabetes was noted.", [("Diabetes", "DISEASE")]), _gold(nlp, "No diabetes.", []),
            _gold(nlp, "diabetes screen negative", [])]
    DocBin(docs=gold).to_disk(tmp_path / "train.spacy")
    nlp.get_pipe("medner_vocab_features").initialize(nlp=nlp, **vocab_files)
    with pytest.raises(ValueError, match=r"train_path not found: .*nothing\.spacy"):
        spans.initialize(lambda: [], nlp=nlp, train_path=str(tmp_path / "nothing.spacy"))
    spans.initialize(lambda: [], nlp=nlp, train_path=str(tmp_path / "train.spacy"))
    assert spans.name_counts == {"diabetes": (3, 1)} and spans.excluded == ["diabetes"]

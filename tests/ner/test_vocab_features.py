"""Dictionary-match features: the tag algorithm, the ``medner_vocab_features`` component, and
``medner.VocabFeatures.v1`` trained for a few steps from configs/cnn_fast_vocab.cfg (tiny widths,
a four-line vocabulary), saved and loaded without the vocabulary files."""
import random
import shutil
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import load_config, load_model_from_config

from medner.ner.vocab.component import PATTERNS_FILE, TAGS_ATTR, VocabFeatureTagger
from medner.tokenizer import blank_biomedical
from medner.ner.vocab.tags import describe_tag, is_abbreviation, keep_name, longest_matches, tag_ids, uninverted

ROOT = Path(__file__).resolve().parents[2]

MEDIC_LINES = [
    "D001172||Arthritis, Rheumatoid|Rheumatoid Arthritis|Rheumatoid arthritides",
    "D054198||Precursor Cell Lymphoblastic Leukemia-Lymphoma|acute lymphoblastic leukemia|ALL",
    "D007676||Kidney Failure, Chronic|chronic kidney failure",
    "D007674||Kidney Diseases|kidney disease",
]
MESH_LINES = ["D002945\tCisplatin", "D007668\tKidney", "D051381\tRats", "D001172\tArthritis, Rheumatoid"]


@pytest.fixture()
def vocab_files(tmp_path):
    medic = tmp_path / "medic.txt"
    mesh = tmp_path / "mesh.tsv"
    medic.write_text("\n".join(MEDIC_LINES) + "\n", encoding="utf8")
    mesh.write_text("\n".join(MESH_LINES) + "\n", encoding="utf8")
    return medic, mesh


def test_longest_match_wins_and_ties_go_to_the_earlier_span():
    assert longest_matches([(0, 1), (0, 3), (2, 4), (5, 6), (4, 6)]) == [(0, 3), (4, 6)]


def test_tag_ids_encode_begin_inside_per_source():
    ids = tag_ids(5, {"MEDIC": [(1, 3)], "MESH": [(2, 3), (4, 5)]})
    assert [describe_tag(i) for i in ids] == ["O", "B-MEDIC", "I-MEDIC B-MESH", "O", "B-MESH"]
    with pytest.raises(ValueError, match="tag id must be in 0..8, got 9"):
        describe_tag(9)


def test_name_rules():
    assert uninverted("Arthritis, Rheumatoid") == ["Arthritis, Rheumatoid", "Rheumatoid Arthritis"]
    assert uninverted("Tooth Agenesis, Selective, 6") == ["Tooth Agenesis, Selective, 6"]
    assert is_abbreviation("ALL") and is_abbreviation("FPH2")
    assert not is_abbreviation("Rats") and not is_abbreviation("LEUKEMIAS")
    assert keep_name("ALL") and keep_name("Rats")
    assert not keep_name("Back") and not keep_name("A") and not keep_name("1,2")


def test_component_marks_dictionary_words(vocab_files):
    nlp = blank_biomedical()
    pipe = nlp.add_pipe("medner_vocab_features", name="vocab_features")
    pipe.initialize(nlp=nlp, medic_path=vocab_files[0], mesh_path=vocab_files[1])
    doc = nlp("Rheumatoid arthritis and ALL in rats given cisplatin, not all kidney disease")
    tags = {token.text: token._.vocab_match for token in doc}
    assert [t._.vocab_match for t in doc[:2]] == ["B-MEDIC B-MESH", "I-MEDIC I-MESH"]  # MeSH name un-inverted
    assert tags["ALL"] == "B-MEDIC" and tags["all"] == "O"  # abbreviation matched with its case only
    assert tags["rats"] == "B-MESH" and tags["cisplatin"] == "B-MESH"
    # longest match within a source: "kidney disease" (MEDIC) over MeSH "Kidney" only within MESH
    assert [t._.vocab_match for t in doc[-2:]] == ["B-MEDIC B-MESH", "I-MEDIC"]
    assert len(doc._.get(TAGS_ATTR)) == len(doc)


def test_initialize_without_paths_and_call_before_initialize_fail_clearly(nlp, vocab_files):
    pipe = VocabFeatureTagger(nlp.vocab, "vocab_features")
    with pytest.raises(ValueError, match=r"vocab_features has no dictionary: call nlp.initialize\(\)"):
        pipe(nlp("kidney disease"))
    with pytest.raises(ValueError, match=r"initialize needs mesh_path for sources \[.MEDIC., .MESH.\]"):
        pipe.initialize(nlp=nlp, medic_path=vocab_files[0])
    with pytest.raises(ValueError, match=r"vocabulary file not found: .*missing\.tsv"):
        pipe.initialize(nlp=nlp, medic_path=vocab_files[0], mesh_path=vocab_files[1].with_name("missing.tsv"))


def _tiny_docs(nlp):
    texts = [
        ("Rheumatoid arthritis was worse after cisplatin .", [(0, 2, "DISEASE"), (5, 6, "CHEMICAL")]),
        ("Rats given cisplatin developed chronic kidney failure .", [(2, 3, "CHEMICAL"), (4, 7, "DISEASE")]),
        ("Kidney disease in ALL patients .", [(0, 2, "DISEASE"), (3, 4, "DISEASE")]),
    ]
    docs = []
    for text, ents in texts:
        doc = Doc(nlp.vocab, words=text.split())
        doc.ents = [Span(doc, s, e, label=label) for s, e, label in ents]
        docs.append(doc)
    return docs


def test_tiny_cnn_vocab_pipeline_trains_uses_the_tags_and_loads_without_vocab_files(tmp_path, vocab_files):
    config = load_config(ROOT / "configs" / "cnn_fast_vocab.cfg", overrides={
        "paths.vocab_medic": str(vocab_files[0]), "paths.vocab_mesh": str(vocab_files[1]),
        "components.tok2vec.model.encode.width": 32, "components.tok2vec.model.encode.depth": 1,
        "components.tok2vec.model.embed.embed.rows": [500, 100, 100, 100],
        "components.tok2vec.model.embed.feature_width": 8,
    })
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.pipe_names == ["vocab_features", "tok2vec", "ner"]
    gold = _tiny_docs(nlp)
    examples = [Example(Doc(nlp.vocab, words=[t.text for t in doc]), doc) for doc in gold]
    spacy.util.fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(40):
        random.shuffle(examples)
        nlp.update(examples, sgd=optimizer, drop=0.0, annotates=["vocab_features"])
    predicted = [nlp(doc.text) for doc in gold]
    assert sum(len(doc.ents) for doc in predicted) > 0
    assert [(e.text, e.label_) for e in predicted[0].ents] == [(e.text, e.label_) for e in gold[0].ents]

    # The tok2vec output depends on the tags: same words, tags wiped -> different vectors.
    tok2vec = nlp.get_pipe("tok2vec").model
    tagged = nlp.get_pipe("vocab_features")(nlp.make_doc("Rheumatoid arthritis after cisplatin"))
    untagged = nlp.make_doc("Rheumatoid arthritis after cisplatin")
    assert any(tagged._.get(TAGS_ATTR))
    with_tags, without_tags = tok2vec.predict([tagged, untagged])
    assert not numpy.allclose(with_tags, without_tags)

    # Saved dictionary: the pipeline loads and predicts the same with the vocabulary files gone.
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "vocab_features" / PATTERNS_FILE).is_file()
    for path in vocab_files:
        path.unlink()
    loaded = spacy.load(tmp_path / "pipeline")
    for doc, before in zip(gold, predicted):
        after = loaded(doc.text)
        assert [(e.start, e.end, e.label_) for e in after.ents] == [(e.start, e.end, e.label_) for e in before.ents]
        assert after._.get(TAGS_ATTR) == before._.get(TAGS_ATTR)
    # to_bytes / from_bytes (multiprocessing) keeps the dictionary too
    copy = VocabFeatureTagger(loaded.vocab).from_bytes(loaded.get_pipe("vocab_features").to_bytes())
    assert copy.n_patterns == loaded.get_pipe("vocab_features").n_patterns > 0


def test_missing_dictionary_file_is_named(tmp_path, nlp, vocab_files):
    pipe = VocabFeatureTagger(nlp.vocab, "vocab_features")
    pipe.initialize(nlp=nlp, medic_path=vocab_files[0], mesh_path=vocab_files[1])
    pipe.to_disk(tmp_path / "vf")
    (tmp_path / "vf" / PATTERNS_FILE).unlink()
    with pytest.raises(ValueError, match=r"dictionary file missing: .*vocab_patterns\.msgpack\.gz"):
        VocabFeatureTagger(nlp.vocab, "vocab_features").from_disk(tmp_path / "vf")


def test_trf_vocab_config_trains_on_a_tiny_bert_with_the_width_found_at_initialization(tmp_path, vocab_files):
    from pipelines import TRF_OVERRIDES
    from tiny_bert import make_tiny_token_classifier

    base_dir = make_tiny_token_classifier(tmp_path / "tiny_bert", hidden_size=32)
    config = load_config(ROOT / "configs" / "trf_vocab.cfg", overrides=dict(TRF_OVERRIDES, **{
        "paths.transformer_model": str(base_dir),
        "paths.vocab_medic": str(vocab_files[0]), "paths.vocab_mesh": str(vocab_files[1]),
    }))
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    gold = _tiny_docs(nlp)
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in gold]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(2):
        losses = nlp.update(examples, sgd=optimizer, annotates=["vocab_features"])
    assert losses["ner"] > 0
    vocab_layer = next(node for node in nlp.get_pipe("ner").model.walk() if node.name == "vocab_features")
    assert vocab_layer.get_dim("nO") == 32  # the tiny BERT's hidden size, not a config value
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    doc = loaded("Rats given cisplatin developed chronic kidney failure .")
    assert [t._.vocab_match for t in doc][:3] == ["B-MESH", "O", "B-MESH"]
    assert doc._.trf_data is not None


def test_phrase_index_finds_what_a_phrase_matcher_finds(vocab_files):
    """The index replaced a PhraseMatcher (8-28 s to build at load): same tags on the same names and text."""
    from spacy.matcher import PhraseMatcher

    nlp = blank_biomedical()
    pipe = nlp.add_pipe("medner_vocab_features", name="vocab_features")
    pipe.initialize(nlp=nlp, medic_path=vocab_files[0], mesh_path=vocab_files[1])
    doc = nlp("Kidney disease, chronic kidney failure and ALL: rats with rheumatoid arthritis; all Kidney Diseases.")
    expected = {source: [] for source in ("MEDIC", "MESH")}
    for mode, attr in (("lower", "LOWER"), ("exact", "ORTH")):
        matcher = PhraseMatcher(nlp.vocab, attr=attr)
        for source, word_lists in pipe.patterns[mode].items():
            if word_lists:
                matcher.add(source, [Doc(nlp.vocab, words=words) for words in word_lists])
        for match_id, start, end in matcher(doc):
            expected[nlp.vocab.strings[match_id]].append((start, end))
    assert sum(map(len, expected.values())) >= 6
    assert pipe(doc)._.get(TAGS_ATTR) == tag_ids(len(doc), expected)

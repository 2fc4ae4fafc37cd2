"""A trained CNN pipeline saved with nlp.to_disk loads with spacy.load and predicts the same."""
import random

import spacy
from spacy.training import Example

from medner.corpus.align import FileReport, source_to_doc
from medner.corpus.records import SourceDoc, SourceSpan

TEXTS = [
    ("Naloxone reverses the hypotension caused by clonidine.", [(0, 8, "CHEMICAL"), (22, 33, "DISEASE"), (44, 53, "CHEMICAL")]),
    ("Lidocaine-induced cardiac asystole was seen.", [(0, 9, "CHEMICAL"), (18, 34, "DISEASE")]),
    ("Warfarin prevents stroke in atrial fibrillation.", [(0, 8, "CHEMICAL"), (18, 24, "DISEASE"), (28, 47, "DISEASE")]),
]


def train_tiny(nlp_blank):
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "medner.biomedical_tokenizer.v1"}}})
    nlp.add_pipe("ner", config={"model": {"@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner",
                                          "extra_state_tokens": False, "hidden_width": 16, "maxout_pieces": 2,
                                          "use_upper": True, "nO": None,
                                          "tok2vec": {"@architectures": "spacy.HashEmbedCNN.v2", "width": 32, "depth": 2,
                                                      "embed_size": 500, "window_size": 1, "maxout_pieces": 2,
                                                      "subword_features": True, "pretrained_vectors": None}}})
    golds = []
    for text, spans in TEXTS:
        report = FileReport(path="mem")
        golds.append(source_to_doc(nlp, SourceDoc("d", text, [SourceSpan(*s) for s in spans]), report))
    examples = [Example(nlp.make_doc(d.text), d) for d in golds]
    optimizer = nlp.initialize(lambda: examples)
    random.seed(0)
    for _ in range(60):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return nlp


def test_to_disk_and_spacy_load_give_identical_entities(tmp_path, nlp):
    trained = train_tiny(nlp)
    texts = [t for t, _ in TEXTS] + ["The patient was prescribed Warfarin to prevent blood clots.", "", "   "]
    before = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in trained.pipe(texts)]
    assert any(before), "the tiny model should have learnt something to compare"
    trained.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert loaded.config["nlp"]["tokenizer"]["@tokenizers"] == "medner.biomedical_tokenizer.v1"
    after = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in loaded.pipe(texts)]
    assert before == after
    assert [t.text for t in loaded("[3H]-naloxone")] == [t.text for t in trained("[3H]-naloxone")]

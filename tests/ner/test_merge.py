"""Tests of the ``medner_merge_entities`` component on hand-made spans."""
import pytest
import spacy
from spacy.tokens import Span, SpanGroup
from spacy.training import Example

from medner.tokenizer import blank_biomedical

TEXT = "acute renal failure after aspirin and ibuprofen overdose in the patient"
#        0     1     2       3     4       5   6         7        8  9   10


def make_doc(nlp, ents=(), **groups):
    doc = nlp.make_doc(TEXT)
    doc.ents = [Span(doc, s, e, label) for s, e, label in ents]
    for key, spans in groups.items():
        items = [Span(doc, sp[0], sp[1], sp[2]) for sp in spans]
        attrs = {"scores": [sp[3] for sp in spans]} if all(len(sp) > 3 for sp in spans) else {}
        doc.spans[key] = SpanGroup(doc, name=key, spans=items, attrs=attrs)
    return doc


def merger(**cfg):
    nlp = blank_biomedical()
    nlp.add_pipe("medner_merge_entities", name="merge", config=cfg)
    return nlp, nlp.get_pipe("merge")


def triples(doc, key="medner"):
    return [(s.start, s.end, s.label_) for s in doc.spans[key]]


NER = [(1, 3, "DISEASE"), (4, 5, "MEDICATION"), (6, 7, "MEDICATION")]
HF = [(0, 3, "DISEASE", 0.9), (4, 5, "CHEMICAL", 0.8), (6, 8, "DISEASE", 0.7), (10, 11, "PERSON", 0.6)]


def test_prefer_first():
    nlp, merge = merger(sources=["ents", "hf"], policy="prefer_first")
    doc = merge(make_doc(nlp, NER, hf=HF))
    assert triples(doc) == [(1, 3, "DISEASE"), (4, 5, "MEDICATION"), (6, 7, "MEDICATION"), (10, 11, "PERSON")]
    assert doc.spans["medner"].attrs["sources"] == ["ents", "ents", "ents", "hf"]
    assert doc.spans["medner"].attrs["scores"] == [None, None, None, 0.6]
    assert [(e.start, e.end, e.label_) for e in doc.ents] == triples(doc)
    # reversed order: hf wins
    nlp, merge = merger(sources=["hf", "ents"], policy="prefer_first")
    doc = merge(make_doc(nlp, NER, hf=HF))
    assert triples(doc) == [(0, 3, "DISEASE"), (4, 5, "CHEMICAL"), (6, 8, "DISEASE"), (10, 11, "PERSON")]
    assert doc.spans["medner"].attrs["scores"] == pytest.approx([0.9, 0.8, 0.7, 0.6])


def test_longest_ties_by_source_order():
    nlp, merge = merger(sources=["ents", "hf"], policy="longest")
    doc = merge(make_doc(nlp, NER, hf=HF))
    # (0,3) longer than (1,3); (4,5) tie -> ents; (6,8) longer than (6,7)
    assert triples(doc) == [(0, 3, "DISEASE"), (4, 5, "MEDICATION"), (6, 8, "DISEASE"), (10, 11, "PERSON")]
    assert doc.spans["medner"].attrs["sources"] == ["hf", "ents", "hf", "hf"]


def test_union_label_priority_then_length():
    nlp, merge = merger(sources=["ents", "hf"], policy="union", label_priority=["MEDICATION", "DISEASE"])
    doc = merge(make_doc(nlp, NER, hf=HF))
    # MEDICATION beats CHEMICAL (unlisted) and DISEASE; DISEASE vs DISEASE: longer
    assert triples(doc) == [(0, 3, "DISEASE"), (4, 5, "MEDICATION"), (6, 7, "MEDICATION"), (10, 11, "PERSON")]
    # all non-overlapping spans are kept
    nlp, merge = merger(sources=["a", "b"], policy="union")
    doc = merge(make_doc(nlp, (), a=[(0, 1, "X", 0.5)], b=[(2, 3, "Y", 0.5)]))
    assert triples(doc) == [(0, 1, "X"), (2, 3, "Y")]


def test_vote():
    nlp, merge = merger(sources=["ents", "hf", "other"], policy="vote", min_votes=2)
    other = [(4, 5, "MEDICATION", 1.0), (1, 3, "DISEASE", 1.0)]
    doc = merge(make_doc(nlp, NER, hf=HF, other=other))
    assert triples(doc) == [(1, 3, "DISEASE"), (4, 5, "MEDICATION")]
    assert doc.spans["medner"].attrs["agreement"] == ["ents+other", "ents+other"]
    nlp, merge = merger(sources=["ents", "hf", "other"], policy="vote")
    doc = merge(make_doc(nlp, NER, hf=HF, other=other))
    assert triples(doc) == [(1, 3, "DISEASE"), (4, 5, "MEDICATION"), (6, 8, "DISEASE"), (10, 11, "PERSON")]


def test_missing_source_and_misaligned_scores():
    nlp, merge = merger(sources=["nothere", "hf"], policy="prefer_first")
    doc = make_doc(nlp, (), hf=HF)
    doc.spans["hf"].attrs["scores"] = [0.1]  # misaligned: ignored
    doc = merge(doc)
    assert len(doc.spans["medner"]) == 4
    assert doc.spans["medner"].attrs["scores"] == [None] * 4


def test_set_ents_false_and_empty_doc():
    nlp, merge = merger(sources=["hf"], set_ents=False)
    doc = merge(make_doc(nlp, NER, hf=HF))
    assert [(e.start, e.end, e.label_) for e in doc.ents] == NER
    empty = merge(nlp.make_doc(""))
    assert len(empty.spans["medner"]) == 0 and empty.ents == ()
    with pytest.raises(ValueError):
        merger(policy="bogus")


def test_no_overlaps_and_provenance_aligned():
    nlp, merge = merger(sources=["ents", "hf"], policy="longest")
    doc = merge(make_doc(nlp, NER, hf=HF))
    group = doc.spans["medner"]
    for key in ("sources", "agreement", "scores"):
        assert len(group.attrs[key]) == len(group)
    spans = list(group)
    assert len(spans) == 4
    assert all(a.end <= b.start for a, b in zip(spans[:-1], spans[1:]))


def test_score_and_serialization(tmp_path):
    nlp, merge = merger(sources=["ents"], spans_key="merged")
    gold = nlp.make_doc(TEXT)
    gold.ents = [Span(gold, 1, 3, "DISEASE")]

    def annotate(doc):
        doc.ents = [Span(doc, 1, 3, "DISEASE"), Span(doc, 4, 5, "MEDICATION")]
        return doc

    from spacy.language import Language

    Language.component("test_annotate_ents", func=annotate)
    nlp.add_pipe("test_annotate_ents", first=True)
    scores = nlp.evaluate([Example(nlp.make_doc(TEXT), gold)])
    assert scores["spans_merged_p"] == pytest.approx(0.5)
    assert scores["spans_merged_r"] == pytest.approx(1.0)
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert loaded.get_pipe("merge").cfg == merge.cfg
    assert triples(loaded(TEXT), "merged") == [(1, 3, "DISEASE"), (4, 5, "MEDICATION")]


# ------------------------------------------------- assembling the combined pipeline
ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def make_tiny_cnn(path):
    """A small tok2vec + ner pipeline from configs/cnn.cfg (random weights, a few labels)."""
    from spacy import util

    overrides = {
        "components.tok2vec.model.embed.rows": [300, 50, 50, 50],
        "components.tok2vec.model.encode.width": 16,
        "components.tok2vec.model.encode.depth": 1,
        "components.ner.model.hidden_width": 16,
    }
    config = util.load_config(ROOT / "configs" / "cnn.cfg", overrides=overrides)
    nlp = util.load_model_from_config(config, auto_fill=True)
    doc = nlp.make_doc(TEXT)
    gold = nlp.make_doc(TEXT)
    gold.ents = [Span(gold, 0, 3, "DISEASE"), Span(gold, 4, 5, "MEDICATION")]
    examples = [Example(doc, gold)]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(2):
        nlp.update(examples, sgd=optimizer)
    nlp.to_disk(path)
    return path


def test_assemble_combined_clinical(tmp_path):
    import os
    import shutil

    import numpy as np

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from tiny_bert import make_tiny_token_classifier

    from medner.ner.assembly import assemble

    cnn = make_tiny_cnn(tmp_path / "cnn")
    hf = make_tiny_token_classifier(
        tmp_path / "hf", ["CHEMICAL", "DISEASE"], keywords={"aspirin": "B-CHEMICAL", "overdose": "B-DISEASE"}
    )
    out = tmp_path / "combined"
    nlp = assemble(
        ROOT / "configs" / "combined_clinical.cfg",
        out,
        {"paths.ner_model": str(cnn), "paths.hf_model": str(hf), "components.hf.device": "cpu"},
    )
    assert nlp.pipe_names == ["tok2vec", "ner", "hf", "merge"]
    source = spacy.load(cnn)
    shutil.rmtree(hf)  # the assembled pipeline must carry the HF weights itself
    loaded = spacy.load(out)
    assert loaded.get_pipe("ner").labels == source.get_pipe("ner").labels
    # sourced weights kept: same tok2vec output and same CNN entities
    with loaded.select_pipes(enable=["tok2vec", "ner"]):
        cnn_doc = loaded(TEXT)
    src_doc = source(TEXT)
    assert np.allclose(cnn_doc.tensor, src_doc.tensor)
    assert [(e.start, e.end, e.label_) for e in cnn_doc.ents] == [(e.start, e.end, e.label_) for e in src_doc.ents]
    doc = loaded(TEXT)
    hf_spans = [(s.start, s.end, s.label_) for s in doc.spans["hf"]]
    assert hf_spans == [(4, 5, "CHEMICAL"), (7, 8, "DISEASE")]
    merged = doc.spans["medner"]
    assert [(e.start, e.end, e.label_) for e in doc.ents] == triples(doc)
    for span, origin in zip(merged, merged.attrs["sources"]):
        assert origin in ("hf", "ents")
        if (span.start, span.end, span.label_) in hf_spans:
            assert origin == "hf"  # hf is the first source
    for ent in src_doc.ents:  # CNN entities not overlapping the HF ones are kept
        if not any(s < ent.end and ent.start < e for s, e, _ in hf_spans):
            assert (ent.start, ent.end, ent.label_) in triples(doc)
    gold = loaded.make_doc(TEXT)
    gold.ents = [Span(gold, 0, 3, "DISEASE"), Span(gold, 4, 5, "MEDICATION")]
    scores = loaded.evaluate([Example(loaded.make_doc(TEXT), gold)])
    assert {"spans_hf_f", "spans_medner_f", "ents_f"} <= set(scores)

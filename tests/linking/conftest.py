"""Fixtures shared by the linking tests: a KB built from MEDIC-format lines, and linking one mention."""
import pytest
import spacy

from medner.linking.component import ConceptLinker
from medner.linking.kb import KnowledgeBase
from medner.ner.vocab.sources import read_medic


@pytest.fixture(scope="module")
def medic_kb(tmp_path_factory):
    """``build(medic_lines, training_mentions=())`` -> a KB of those MEDIC concepts (and training names)."""
    def build(medic: str, training=()) -> KnowledgeBase:
        path = tmp_path_factory.mktemp("vocab") / "medic.txt"
        path.write_text(medic, encoding="utf8")
        return KnowledgeBase.build(list(read_medic(path)), list(training))
    return build


@pytest.fixture(scope="module")
def link_one():
    """``link(kb, text, label="DISEASE", **config)`` -> (the whole text as one linked entity, the linker); threshold 0."""
    def link(kb, text, label="DISEASE", **config):
        doc = spacy.blank("en").make_doc(text)
        doc.ents = [doc.char_span(0, len(text), label=label)]
        linker = ConceptLinker(kb=kb, threshold=0.0, **config)
        linker(doc)
        return doc.ents[0], linker
    return link

"""medner.bench.linker (``scripts/benchmark_linker.py``): a fresh worker links every gold mention of a corpus."""
import pytest
import spacy
from spacy.tokens import DocBin

from medner.bench.linker import best_of
from medner.bench.pipelines import BenchmarkError
from medner.linking.component import add_linker
from medner.linking.kb import KnowledgeBase
from medner.ner.vocab.sources import read_mesh_descriptors

MESH = "D014859\tWarfarin\nD009270\tNaloxone\nD003000\tClonidine\n"


def test_fresh_workers_link_every_gold_mention_and_the_fastest_is_reported(tmp_path):
    (tmp_path / "mesh.tsv").write_text(MESH, encoding="utf8")
    kb = KnowledgeBase.build(list(read_mesh_descriptors(tmp_path / "mesh.tsv")), [])
    nlp = spacy.blank("en")
    add_linker(nlp, kb, abbreviations=False)
    nlp.to_disk(tmp_path / "linker")
    text = "Naloxone reverses clonidine; warfarin and quuxol."
    doc = nlp.make_doc(text)
    doc.ents = [doc.char_span(text.index(t), text.index(t) + len(t), label="CHEMICAL")
                for t in ("Naloxone", "clonidine", "warfarin", "quuxol")]
    DocBin(docs=[doc]).to_disk(tmp_path / "gold.spacy")
    best = best_of(2, tmp_path / "linker", tmp_path / "gold.spacy", threads=1)
    assert best["mentions"] == 4 and best["linked"] == 3 and best["nil"] == 1
    assert len(best["runs"]) == 2 and best["peak_rss_mb"] > 0
    with pytest.raises(BenchmarkError, match=f"benchmark worker failed on {tmp_path / 'gone'}"):
        best_of(1, tmp_path / "gone", tmp_path / "gold.spacy", threads=1)

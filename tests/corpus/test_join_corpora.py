"""The joint DISEASE corpus: other labels' entities become "O" (not missing), documents and kb ids are kept."""
import pytest
from spacy.tokens import Doc, DocBin, Span

from medner.corpus.join import join_corpora, split_corpus


def _write(path, vocab, sentences):
    docs = []
    for words, ents in sentences:
        doc = Doc(vocab, words=words)
        doc.ents = [Span(doc, s, e, label=label, kb_id=kb) for s, e, label, kb in ents]
        docs.append(doc)
    DocBin(docs=docs).to_disk(path)


def test_join_keeps_only_disease_and_marks_dropped_tokens_outside(tmp_path, nlp):
    _write(tmp_path / "a.spacy", nlp.vocab, [(["cisplatin", "nephrotoxicity"], [(0, 1, "CHEMICAL", "D002945"), (1, 2, "DISEASE", "D007674")])])
    _write(tmp_path / "b.spacy", nlp.vocab, [(["breast", "cancer", "gene"], [(0, 2, "DISEASE", "D001943")])])
    joined, counts = join_corpora([tmp_path / "a.spacy", tmp_path / "b.spacy"], ["DISEASE"], nlp.vocab)
    docs = list(joined.get_docs(nlp.vocab))
    assert [[(e.text, e.label_, e.kb_id_) for e in doc.ents] for doc in docs] == [
        [("nephrotoxicity", "DISEASE", "D007674")], [("breast cancer", "DISEASE", "D001943")]]
    assert docs[0][0].ent_iob_ == "O"  # the dropped chemical is a negative example, not missing
    assert counts[str(tmp_path / "a.spacy")] == {"docs": 1, "entities_kept": 1, "entities_dropped": 1}


def test_join_names_a_missing_file(tmp_path, nlp):
    with pytest.raises(ValueError, match=r"corpus file not found: .*nope\.spacy"):
        join_corpora([tmp_path / "nope.spacy"], ["DISEASE"], nlp.vocab)


def test_split_keeps_file_order_entities_and_every_document(tmp_path, nlp):
    _write(tmp_path / "dev.spacy", nlp.vocab, [([f"w{i}", "cancer"], [(1, 2, "DISEASE", f"D{i}")]) for i in range(5)])
    first, rest = split_corpus(tmp_path / "dev.spacy", nlp.vocab, 0.5)
    ids = lambda part: [doc.ents[0].kb_id_ for doc in part.get_docs(nlp.vocab)]  # noqa: E731
    assert ids(first) == ["D0", "D1"] and ids(rest) == ["D2", "D3", "D4"]  # round(2.5) = 2: nothing lost, nothing twice
    with pytest.raises(ValueError, match="first_share must be between 0 and 1"):
        split_corpus(tmp_path / "dev.spacy", nlp.vocab, 1.0)
    _write(tmp_path / "one.spacy", nlp.vocab, [(["cancer"], [])])
    with pytest.raises(ValueError, match="has 1 document"):
        split_corpus(tmp_path / "one.spacy", nlp.vocab)

"""`medner.annotate.long_text`: splitting long texts, rejoining chunk docs, chunked annotation."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Span, SpanGroup
from typer.testing import CliRunner

from medner.annotate import doc_entities, read_records
from medner.cli import app
from medner.annotate.long_text import (
    bounded_batches,
    join_docs,
    multiprocess_batch_size,
    pipe_chunked,
    split_text,
)
from medner.tokenizer import blank_biomedical
from ruler import ruler_nlp

runner = CliRunner()

CHEMICALS = ["cisplatin", "aspirin", "ibuprofen", "5-fluorouracil"]
DISEASES = ["renal failure", "fever", "hepatitis"]
KEYWORDS = {"aspirin": "B-CHEMICAL", "ibuprofen": "B-CHEMICAL", "fever": "B-DISEASE", "renal": "B-DISEASE", "failure": "I-DISEASE"}


def make_ruler_nlp():
    return ruler_nlp({"CHEMICAL": CHEMICALS, "DISEASE": DISEASES})


def paragraphs(n=20):
    out = []
    for i in range(n):
        c, d = CHEMICALS[i % len(CHEMICALS)], DISEASES[i % len(DISEASES)]
        sentences = [
            f"Patient {i} received {c} and developed {d}.",
            f"No {d} was seen after {c} was stopped!",
            f"Follow-up {i}: stable.",
        ]
        sep = "\n" if i % 3 == 0 else " "
        out.append(sep.join(sentences))
    return "\n\n".join(out) + "\n"


def ents(doc):
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


# --------------------------------------------------------------------------- #
# split_text
# --------------------------------------------------------------------------- #
TEXT_ALPHABET = st.sampled_from(list("ab.!? \n\t\r") + ["\u00a0", "é", "😀"])


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=TEXT_ALPHABET, max_size=400), max_chars=st.integers(1, 60))
def test_split_text_properties(text, max_chars):
    chunks = split_text(text, max_chars)
    assert "".join(chunks) == text
    assert chunks and all(len(c) <= max_chars for c in chunks)
    assert all(chunks) or chunks == [""]
    start = 0
    for chunk in chunks[:-1]:
        window = text[start : start + max_chars]
        if any(ch.isspace() for ch in window):
            assert chunk[-1].isspace(), (chunk, window)
        else:
            assert len(chunk) == max_chars  # hard cut only without whitespace
        start += len(chunk)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300), max_chars=st.integers(1, 50))
def test_split_text_any_text(text, max_chars):
    chunks = split_text(text, max_chars)
    assert "".join(chunks) == text and all(len(c) <= max_chars for c in chunks)


def test_split_text_preferences():
    assert split_text("", 10) == [""]
    assert split_text("short", 10) == ["short"]
    assert split_text("abc def", 0) == ["abc def"]
    # paragraph break beats a later line break and sentence end
    text = "One two.\n\nThree four.\nFive six. Seven"
    assert split_text(text, 30)[0] == "One two.\n\n"
    # line break beats a later sentence end
    assert split_text("One two.\nThree four. Five six seven", 28)[0] == "One two.\n"
    # sentence end beats a later space
    assert split_text("One two. Three four five six", 24)[0] == "One two. "
    # any whitespace: the last one in the window, whole run of spaces kept
    assert split_text("aaa bbb   ccc ddd", 11)[0] == "aaa bbb   "
    # no whitespace: hard cut
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    # never cuts inside a word when there is whitespace
    text = paragraphs()
    for chunk in split_text(text, 300)[:-1]:
        assert chunk.endswith("\n")


# --------------------------------------------------------------------------- #
# join_docs
# --------------------------------------------------------------------------- #
def test_join_docs_keeps_text_ents_spans_and_attrs():
    nlp = blank_biomedical()
    parts = ["aspirin caused fever.\n\n", "ibuprofen and renal failure ", "", "x"]
    docs = []
    for k, part in enumerate(parts):
        doc = nlp.make_doc(part)
        words = [t for t in doc if not t.is_space and t.is_alpha]
        spans = [Span(doc, t.i, t.i + 1, label="CHEMICAL" if k % 2 == 0 else "DISEASE") for t in words]
        doc.ents = spans[:1]
        doc.spans["medner"] = SpanGroup(
            doc,
            name="medner",
            spans=spans,
            attrs={
                "scores": [0.5 + k / 10 + j / 100 for j in range(len(spans))],
                "sources": [f"src{k}"] * len(spans),
                "policy": "longest",
                "by_offset": {"0:1": 1},
            },
        )
        if k == 1:
            doc.spans["hf"] = SpanGroup(doc, name="hf", spans=spans[1:], attrs={"scores": [0.9] * (len(spans) - 1)})
        doc.user_data["medner.hf.stats"] = {"docs": 1, "spans": len(spans)}
        docs.append(doc)
    joined = join_docs(docs)
    assert joined.text == "".join(parts)
    offsets = [0]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    want_ents, want_spans, want_scores, want_sources = [], [], [], []
    for k, doc in enumerate(docs):
        off = offsets[k]
        want_ents += [(e.start_char + off, e.end_char + off, e.label_) for e in doc.ents]
        group = doc.spans["medner"]
        want_spans += [(s.start_char + off, s.end_char + off, s.label_) for s in group]
        want_scores += group.attrs["scores"]
        want_sources += group.attrs["sources"]
    assert ents(joined) == want_ents
    group = joined.spans["medner"]
    assert [(s.start_char, s.end_char, s.label_) for s in group] == want_spans
    assert group.attrs["scores"] == want_scores
    assert group.attrs["sources"] == want_sources
    assert group.attrs["policy"] == "longest"
    assert "by_offset" not in group.attrs  # offsets-keyed dicts are not shifted: dropped
    for span in group:
        assert joined.text[span.start_char : span.end_char] == span.text
    # a group present in one chunk only
    hf = joined.spans["hf"]
    assert [s.text for s in hf] == ["and", "renal", "failure"]
    assert hf.attrs["scores"] == [0.9, 0.9, 0.9]
    # doc_entities reads the restored attrs
    records = doc_entities(joined)
    assert [r["source"] for r in records] == want_sources
    assert [r["score"] for r in records] == pytest.approx(want_scores)
    assert [r["text"] for r in records] == [joined.text[r["start"] : r["end"]] for r in records]
    assert joined.user_data["medner.hf.stats"] == {"docs": 4, "spans": len(want_spans)}
    # one doc: returned as is
    assert join_docs(docs[:1]) is docs[0]
    with pytest.raises(ValueError):
        join_docs([])


def test_join_docs_drops_misaligned_lists():
    nlp = blank_biomedical()
    a, b = nlp.make_doc("aspirin "), nlp.make_doc("fever")
    a.spans["k"] = SpanGroup(a, name="k", spans=[a[0:1]], attrs={"scores": [0.1, 0.2]})  # not parallel
    b.spans["k"] = SpanGroup(b, name="k", spans=[b[0:1]], attrs={"scores": [0.3]})
    joined = join_docs([a, b])
    assert [s.text for s in joined.spans["k"]] == ["aspirin", "fever"]
    assert "scores" not in joined.spans["k"].attrs


# --------------------------------------------------------------------------- #
# pipe_chunked
# --------------------------------------------------------------------------- #
def test_bounded_batches():
    texts = ["a" * 5, "b" * 5, "c" * 20, "d", "e", "f", "g"]
    batches = list(bounded_batches(texts, batch_size=3, max_batch_chars=10))
    assert batches == [["a" * 5, "b" * 5], ["c" * 20], ["d", "e", "f"], ["g"]]
    assert list(bounded_batches(texts, batch_size=3, max_batch_chars=0)) == [texts[:3], texts[3:6], texts[6:]]
    assert multiprocess_batch_size(64, 50_000, 200_000) == 4
    assert multiprocess_batch_size(64, 0, 200_000) == 64
    assert multiprocess_batch_size(64, 500_000, 200_000) == 1


class CountingPipe:
    """Wraps ``nlp`` and records the batches ``pipe`` is called with."""

    def __init__(self, nlp):
        self.nlp = nlp
        self.batches = []

    def pipe(self, texts, **kwargs):
        texts = list(texts)
        self.batches.append([len(t) for t in texts])
        return self.nlp.pipe(texts, **kwargs)


def test_pipe_chunked_same_entities_as_unchunked():
    nlp = make_ruler_nlp()
    long_text = paragraphs(20)
    texts = ["", "Short note: aspirin for fever.", long_text, "renal failure", long_text[:299]]
    expected = [ents(d) for d in nlp.pipe(texts)]
    counting = CountingPipe(nlp)
    docs = list(pipe_chunked(counting, texts, max_chars=300, max_batch_chars=1000, batch_size=4))
    assert len(docs) == len(texts)
    for text, doc, want in zip(texts, docs, expected):
        assert doc.text == text
        assert ents(doc) == want
        for start, end, _ in ents(doc):
            assert text[start:end] == doc.char_span(start, end).text
    assert len(expected[2]) >= 60
    assert len(split_text(long_text, 300)) > 5
    for batch in counting.batches:
        assert len(batch) <= 4 and (sum(batch) <= 1000 or len(batch) == 1)
        assert max(batch) <= 300
    # records of texts up to max_chars: identical docs to nlp.pipe
    assert [t.text for t in docs[1]] == [t.text for t in nlp(texts[1])]


def test_pipe_chunked_no_chunking_and_lazy():
    nlp = make_ruler_nlp()
    text = paragraphs(5)
    seen = []

    def gen():
        for i in range(5):
            seen.append(i)
            yield text

    it = pipe_chunked(nlp, gen(), max_chars=0, max_batch_chars=len(text) * 2, batch_size=64)
    first = next(it)
    assert first.text == text
    assert len(seen) <= 3  # one char-bounded batch ahead, not the whole stream
    assert len(list(it)) == 4


@pytest.fixture(scope="module")
def merge_pipeline(tmp_path_factory):
    from tiny_bert import make_tiny_token_classifier

    root = tmp_path_factory.mktemp("long_text")
    model = make_tiny_token_classifier(root / "kw", ["CHEMICAL", "DISEASE"], keywords=KEYWORDS, max_positions=64)
    nlp = blank_biomedical()
    nlp.add_pipe("hf_token_classifier", name="hf", config={"model_dir": str(model), "device": "cpu"})
    nlp.add_pipe("medner_merge_entities", name="merge", config={"sources": ["hf", "ents"], "policy": "prefer_first"})
    nlp.initialize()
    # the ruler after initialize (which would clear its patterns): "ents" for the merge
    ruler = nlp.add_pipe("entity_ruler", first=True)
    ruler.add_patterns(make_ruler_nlp().get_pipe("entity_ruler").patterns)
    return nlp


def test_pipe_chunked_span_groups_and_attrs(merge_pipeline):
    nlp = merge_pipeline
    text = paragraphs(20)
    whole = nlp(text)
    expected = doc_entities(whole)
    assert {e["source"] for e in expected} >= {"hf"}
    (doc,) = pipe_chunked(nlp, [text], max_chars=300, max_batch_chars=900, batch_size=3)
    assert doc.text == text
    got = doc_entities(doc)
    # windows of the hf model and the chunks differ, but the keyword model is context-free
    assert [(e["start"], e["end"], e["label"], e["source"]) for e in got] == [
        (e["start"], e["end"], e["label"], e["source"]) for e in expected
    ]
    assert [e["score"] for e in got] == pytest.approx([e["score"] for e in expected], abs=1e-4)
    for e in got:
        assert text[e["start"] : e["end"]] == e["text"]
    assert len(doc.spans["hf"].attrs["scores"]) == len(doc.spans["hf"])
    assert doc.user_data["medner.hf.stats"]["spans"] == len(doc.spans["hf"])
    assert {e["source"] for e in got} == {"hf", "ents"}


# --------------------------------------------------------------------------- #
# CLI
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def ruler_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("ruler") / "tiny"
    make_ruler_nlp().to_disk(path)
    return path


def test_cli_max_chars_same_entities(tmp_path, ruler_dir):
    long_text = paragraphs(40)
    records = [
        {"id": "long", "text": long_text, "ward": 3},
        {"id": "short", "text": "aspirin for fever"},
        {"id": "crlf", "text": long_text.replace("\n", "\r\n")},
        {"id": "nospace", "text": "aspirin," * 200},
    ]
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    outputs = {}
    for max_chars in (0, 250):
        out = tmp_path / f"out{max_chars}.jsonl"
        result = runner.invoke(
            app,
            ["annotate", str(inp), str(out), "-m", str(ruler_dir), "--max-chars", str(max_chars),
             "--max-batch-chars", "1000", "--no-progress", "--html", str(tmp_path / f"h{max_chars}.html")],
        )
        assert result.exit_code == 0, result.output
        outputs[max_chars] = read_records(out)
        assert (tmp_path / f"h{max_chars}.html").exists()
    assert [r["id"] for r in outputs[250]] == ["long", "short", "crlf", "nospace"]
    assert outputs[250][0]["ward"] == 3
    for chunked, whole in zip(outputs[250], outputs[0]):
        if chunked["id"] == "nospace":
            continue  # hard cuts every 250 characters may split an entity
        assert chunked == whole
    texts = {r["id"]: r["text"] for r in records}
    for r in outputs[250]:
        for e in r["entities"]:
            assert texts[r["id"]][e["start"] : e["end"]] == e["text"]
    assert len(outputs[250][0]["entities"]) >= 120


def test_battery_chunked_check():
    from medner.bench.battery import battery_cases, run_battery

    nlp = make_ruler_nlp()
    cases = battery_cases(long_chars=60_000, no_space_chars=12_000)
    report = run_battery(nlp, cases, multiprocess=False, compare_pipe=False, chunked_max_chars=5_000)
    chunked = report["chunked"]
    assert chunked["ok"], chunked["problems"]
    assert report["ok"]
    assert chunked["chunks"]["long_document"] >= 12 and chunked["chunks"]["empty"] == 1
    # whitespace everywhere: cut between words, same entities; hard cuts only where there is no space
    assert set(chunked["differences"]) <= {"no_spaces_one_word", "no_spaces_punctuated", "no_spaces_dotted"}


def test_pipe_chunked_multiprocess():
    nlp = make_ruler_nlp()
    texts = [paragraphs(12), "aspirin for fever", "", paragraphs(3)]
    one = [ents(d) for d in pipe_chunked(nlp, texts, max_chars=300, max_batch_chars=600)]
    two = list(pipe_chunked(nlp, texts, max_chars=300, max_batch_chars=600, n_process=2))
    assert [d.text for d in two] == texts
    assert [ents(d) for d in two] == one == [ents(d) for d in nlp.pipe(texts)]

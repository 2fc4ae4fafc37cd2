"""Tests of the ``hf_token_classifier`` component and its window/alignment helpers.

Two tiny offline BERTs (``tests/tiny_bert.py``): a random, context-dependent
one (compared against itself and against a brute-force reference), and a
context-free "keyword" one whose predictions are known exactly.
"""
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

import spacy  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from spacy.tokens import Span  # noqa: E402
from spacy.training import Example  # noqa: E402

from medner.ner.hf.alignment import decode_bio  # noqa: E402
from medner.ner.hf.windows import decode_tag_ids, edge_distance, plan_windows, reconcile  # noqa: E402
from medner.tokenizer import blank_biomedical  # noqa: E402

from tiny_bert import make_tiny_token_classifier  # noqa: E402

KEYWORDS = {
    "aspirin": "B-CHEMICAL",
    "z": "B-CHEMICAL",  # first piece of any z-word: zidovudine -> z ##i ##d ...
    "fever": "B-DISEASE",
    "renal": "B-DISEASE",
    "failure": "I-DISEASE",
    "cannot": "B-DISEASE",  # one piece, two spaCy tokens (can + not)
}

TRICKY = [
    "Acetaminophen 500 mg was given for fever.",
    "Fièvre, naïve café; Zidovudine-induced anaemia 😀😀 with renal failure.",
    "Line one\r\nLine two:\taspirin\r\n\r\n  Kawasaki's disease (KD)  ",
    "5-HT, [3H]-naloxone and beta-catenin/TCF at 10(-8) M — “quoted” text… cannot",
    "ALL CAPS ASPIRIN RENAL FAILURE",
    "x" * 300,
]

FILLER = "The patient was treated with a daily dose and showed normal blood pressure. "


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_bert")
    return {
        "random": make_tiny_token_classifier(root / "random", ["CHEMICAL", "DISEASE"], seed=1),
        "keyword": make_tiny_token_classifier(root / "keyword", ["CHEMICAL", "DISEASE"], keywords=KEYWORDS),
    }


def make_nlp(model_dir, **cfg):
    nlp = blank_biomedical()
    config = {"model_dir": str(model_dir), "device": "cpu"}
    config.update(cfg)
    nlp.add_pipe("hf_token_classifier", name="hf", config=config)
    nlp.initialize()
    return nlp


def spans_of(doc, key="hf"):
    return [(s.start_char, s.end_char, s.label_) for s in doc.spans[key]]


def check_invariants(doc, key="hf"):
    group = doc.spans[key]
    scores = group.attrs["scores"]
    assert len(scores) == len(group)
    assert all(0.0 <= s <= 1.0 + 1e-6 for s in scores)
    token_starts = {t.idx for t in doc}
    token_ends = {t.idx + len(t) for t in doc}
    previous_end = -1
    for span in group:
        assert span.start_char in token_starts and span.end_char in token_ends
        assert span.text == doc.text[span.start_char : span.end_char]
        assert not span.text.startswith("##") and span.text.strip() == span.text
        assert span.start >= previous_end  # sorted, not overlapping
        previous_end = span.end


# ------------------------------------------------------------ pure helpers
def test_plan_windows_cover_and_overlap():
    for n in [0, 1, 5, 12, 13, 14, 40, 101]:
        plan = plan_windows(n, 12, 4)
        if n == 0:
            assert len(plan) == 0
            continue
        assert plan[0, 0] == 0 and plan[-1, 1] == n
        assert ((plan[:, 1] - plan[:, 0]) <= 12).all()
        for (s0, e0), (s1, e1) in zip(plan[:-1], plan[1:]):
            assert s1 > s0 and e0 - s1 >= 4  # overlap at least stride
    with pytest.raises(ValueError):
        plan_windows(10, 4, 4)


def test_reconcile_keeps_most_central_window():
    n = 20
    plan = plan_windows(n, 8, 4)
    # window w predicts label w for all its pieces
    probs = [np.eye(len(plan), dtype=np.float32)[[w] * (e - s)] for w, (s, e) in enumerate(plan)]
    merged = reconcile(n, plan, probs).argmax(axis=1)
    for piece in range(n):
        dists = [
            edge_distance(s, e, n)[piece - s] if s <= piece < e else -1 for s, e in plan
        ]
        assert merged[piece] == int(np.argmax(dists))  # argmax: first of ties
    # document edges are not window edges: first/last pieces come from the first/last window
    assert merged[0] == 0 and merged[-1] == len(plan) - 1


TAGS = ["O", "B-A", "I-A", "B-B", "I-B"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(TAGS), max_size=30))
def test_vectorised_decode_matches_decode_bio(tags):
    entity = np.array([{"O": -1, "A": 0, "B": 1}[t.partition("-")[2] or "O"] for t in tags], dtype=np.int64)
    begin = np.array([t.startswith("B-") for t in tags], dtype=bool)
    starts, ends, labels = decode_tag_ids(entity, begin)
    got = [(int(s), int(e), "AB"[int(lab)]) for s, e, lab in zip(starts, ends, labels)]
    assert got == decode_bio(tags)


# -------------------------------------------------------- keyword (exact) model
def test_known_entities_with_exact_offsets(models):
    nlp = make_nlp(models["keyword"])
    text = "Fièvre 😀 Aspirin\r\nrenal failure, café; zidovudine-induced fever cannot"
    doc = nlp(text)
    expected = [
        (text.index("Aspirin"), text.index("Aspirin") + 7, "CHEMICAL"),
        (text.index("renal"), text.index("failure") + 7, "DISEASE"),
        (text.index("zidovudine"), text.index("zidovudine") + 10, "CHEMICAL"),  # 10 pieces, 1 span
        (text.index("fever"), text.index("fever") + 5, "DISEASE"),
        (text.index("cannot"), len(text), "DISEASE"),  # can + not: "not" inherits I-DISEASE
    ]
    assert spans_of(doc) == expected
    check_invariants(doc)
    stats = doc.user_data["medner.hf.stats"]
    assert stats["inherited_tokens"] == 1 and stats["unplaced_pieces"] == 0
    assert nlp.get_pipe("hf").stats["inherited_tokens"] >= 1
    assert doc.ents == ()  # set_ents "none" by default


def test_aggregation_modes(models):
    text = "zidovudine and aspirin"
    first = make_nlp(models["keyword"])(text)
    average = make_nlp(models["keyword"], aggregation="average")(text)
    maximum = make_nlp(models["keyword"], aggregation="max")(text)
    assert [s.text for s in first.spans["hf"]] == ["zidovudine", "aspirin"]
    # averaged over 10 pieces of which one says CHEMICAL: O wins
    assert [s.text for s in average.spans["hf"]] == ["aspirin"]
    assert "aspirin" in [s.text for s in maximum.spans["hf"]]
    check_invariants(maximum)


def test_long_text_windows_keep_entities(models):
    paragraph = "Aspirin caused fever and renal failure in the patient."
    long_text = paragraph + "\n\n" + FILLER * 30 + "Finally zidovudine."
    nlp = make_nlp(models["keyword"], window=16, stride=4)
    hf = nlp.get_pipe("hf")
    alone = nlp(paragraph)
    doc = nlp(long_text)
    assert hf.effective_window == 16
    assert doc.user_data["medner.hf.stats"]["pieces"] > 200  # many windows
    head = [s for s in spans_of(doc) if s[1] <= len(paragraph)]
    assert head == spans_of(alone) and len(head) == 3
    assert spans_of(doc)[-1] == (long_text.index("zidovudine"), long_text.index("zidovudine") + 10, "CHEMICAL")
    # same as one big window
    big = make_nlp(models["keyword"], window=128, stride=32)(long_text)
    assert spans_of(big) == spans_of(doc)


def test_windows_match_bruteforce_reference(models):
    """Random (contextual) model: every token's tag comes from its most central window."""
    window, stride = 16, 4
    nlp = make_nlp(models["random"], window=window, stride=stride)
    hf = nlp.get_pipe("hf")
    text = FILLER * 4 + "Aspirin, zidovudine and acetaminophen."
    doc = nlp(text)
    check_invariants(doc)
    enc = hf.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    n = len(ids)
    assert n > window
    best = [(-1.0, None)] * n
    plan = plan_windows(n, window - 2, stride)
    with torch.inference_mode():
        for s, e in plan:
            inp = torch.tensor([[hf.tokenizer.cls_token_id] + ids[s:e] + [hf.tokenizer.sep_token_id]])
            probs = torch.softmax(hf.hf_model(input_ids=inp).logits[0, 1:-1], -1).numpy()
            for p in range(s, e):
                d = min(p - s if s > 0 else np.inf, e - 1 - p if e < n else np.inf)
                if d > best[p][0]:
                    best[p] = (d, probs[p - s])
    id2label = hf.hf_model.config.id2label
    token_tags = ["O"] * len(doc)
    seen = set()
    for p, (start, _end) in enumerate(offsets):
        tok = doc.char_span(start, start + 1, alignment_mode="expand")
        if tok is None or tok.start in seen or tok[0].idx != start:
            continue
        seen.add(tok.start)
        token_tags[tok.start] = id2label[int(best[p][1].argmax())]
    expected = [(doc[s].idx, doc[e - 1].idx + len(doc[e - 1]), lab) for s, e, lab in decode_bio(token_tags)]
    assert spans_of(doc) == expected


# -------------------------------------------------------- random model invariants
@pytest.mark.parametrize("window,stride", [(512, 128), (16, 4), (10, 2)])
def test_invariants_on_tricky_texts(models, window, stride):
    nlp = make_nlp(models["random"], window=window, stride=stride, aggregation="average")
    for doc in nlp.pipe(TRICKY):
        check_invariants(doc)
        assert doc.user_data["medner.hf.stats"]["unplaced_pieces"] == 0


@pytest.mark.parametrize("text", ["", " ", "\n\r\n\t  ", "\u3000\u00a0"])
def test_empty_and_whitespace_docs(models, text):
    nlp = make_nlp(models["random"])
    doc = nlp(text)
    assert len(doc.spans["hf"]) == 0 and doc.spans["hf"].attrs["scores"] == []
    assert list(nlp.pipe([text, text]))[1].spans["hf"].attrs["scores"] == []


def test_pipe_equals_call(models):
    nlp = make_nlp(models["random"], window=16, stride=4, batch_size=3)
    texts = TRICKY + ["", FILLER * 5]
    one_by_one = [spans_of(nlp(t)) for t in texts]
    piped = [spans_of(d) for d in nlp.pipe(texts, batch_size=4)]
    assert piped == one_by_one
    scores = [nlp(t).spans["hf"].attrs["scores"] for t in texts]
    piped_scores = [d.spans["hf"].attrs["scores"] for d in nlp.pipe(texts, batch_size=4)]
    assert np.allclose(np.concatenate([s for s in scores if s]), np.concatenate([s for s in piped_scores if s]), atol=1e-5)
    assert any(one_by_one)  # the random model does predict something


def test_threshold_and_label_map(models):
    text = "Aspirin for fever"
    nlp = make_nlp(models["keyword"], threshold=1.01)
    doc = nlp(text)
    assert len(doc.spans["hf"]) == 0
    assert doc.user_data["medner.hf.stats"]["below_threshold"] == 2
    mapped = make_nlp(models["keyword"], label_map={"CHEMICAL": "MEDICATION"})(text)
    assert [s.label_ for s in mapped.spans["hf"]] == ["MEDICATION", "DISEASE"]


def test_set_ents_modes(models):
    text = "Aspirin for fever"
    for mode, expected in [
        ("none", ["PRESET"]),
        ("overwrite", ["CHEMICAL", "DISEASE"]),
        ("fill", ["PRESET", "DISEASE"]),
    ]:
        nlp = make_nlp(models["keyword"], set_ents=mode)
        doc = nlp.make_doc(text)
        doc.ents = [Span(doc, 0, 1, "PRESET")]
        doc = nlp.get_pipe("hf")(doc)
        assert [e.label_ for e in doc.ents] == expected, mode
    with pytest.raises(ValueError):
        make_nlp(models["keyword"], set_ents="bogus")


# ---------------------------------------------------------------- serialization
def test_to_disk_and_spacy_load_offline(models, tmp_path):
    model_copy = tmp_path / "model_copy"
    shutil.copytree(models["random"], model_copy)
    nlp = make_nlp(model_copy, window=16, stride=4)
    before = [spans_of(d) for d in nlp.pipe(TRICKY)]
    before_scores = [d.spans["hf"].attrs["scores"] for d in nlp.pipe(TRICKY)]
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(model_copy)  # the saved pipeline must not need model_dir
    assert (tmp_path / "pipeline" / "hf" / "model" / "tokenizer.json").exists()
    loaded = spacy.load(tmp_path / "pipeline")
    after = [spans_of(d) for d in loaded.pipe(TRICKY)]
    after_scores = [d.spans["hf"].attrs["scores"] for d in loaded.pipe(TRICKY)]
    assert after == before
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(after_scores, before_scores))
    # bytes round trip
    other = make_nlp(models["keyword"], window=16, stride=4)
    other.get_pipe("hf").from_bytes(loaded.get_pipe("hf").to_bytes())
    assert [spans_of(d) for d in other.pipe(TRICKY)] == before


def test_missing_model_dir_errors(tmp_path):
    nlp = blank_biomedical()
    nlp.add_pipe("hf_token_classifier", config={"model_dir": str(tmp_path / "nope")})
    with pytest.raises(FileNotFoundError):
        nlp("text")
    nlp2 = blank_biomedical()
    nlp2.add_pipe("hf_token_classifier")
    with pytest.raises(ValueError):
        nlp2("text")


def test_multiprocessing_pipe(models):
    nlp = make_nlp(models["keyword"])
    texts = ["Aspirin for fever.", "renal failure", "", "zidovudine"] * 2
    single = [spans_of(d) for d in nlp.pipe(texts)]
    multi = [spans_of(d) for d in nlp.pipe(texts, n_process=2, batch_size=2)]
    assert multi == single


# ---------------------------------------------------------------------- scoring
def test_score_against_gold_ents(models):
    nlp = make_nlp(models["keyword"])
    text = "Aspirin for fever and renal failure"
    gold = nlp.make_doc(text)
    gold.ents = [Span(gold, 0, 1, "CHEMICAL"), Span(gold, 2, 3, "DISEASE"), Span(gold, 4, 6, "DISEASE")]
    scores = nlp.evaluate([Example(nlp.make_doc(text), gold)])
    assert scores["spans_hf_f"] == pytest.approx(1.0)
    wrong = nlp.make_doc(text)
    wrong.ents = [Span(wrong, 0, 1, "DISEASE")]
    scores = nlp.evaluate([Example(nlp.make_doc(text), wrong)])
    assert scores["spans_hf_p"] == 0.0 and scores["spans_hf_r"] == 0.0
    assert "CHEMICAL" in scores["spans_hf_per_type"]


# ------------------------------------------------- spaCy conventions (config, device, layout)
V1_PIPELINE = Path(__file__).parents[1] / "data" / "hf_pipeline_v1"
V1_TEXT = "Aspirin caused fever and renal failure."
V1_SPANS = [(0, 7, "CHEMICAL"), (15, 20, "DISEASE"), (25, 38, "DISEASE")]


def test_bad_config_value_is_named_by_spacy(models):
    """A typo in a Literal setting fails in spaCy's config validation, naming the field."""
    from thinc.api import ConfigValidationError

    for field, value in [("aggregation", "mean"), ("set_ents", "replace")]:
        nlp = blank_biomedical()
        with pytest.raises(ConfigValidationError) as info:
            nlp.add_pipe("hf_token_classifier", config={"model_dir": str(models["keyword"]), field: value})
        assert field in str(info.value) and repr(value).strip("'") in str(info.value)


def test_device_follows_thinc_unless_overridden(models, monkeypatch):
    """``spacy.require_gpu()`` works through Thinc's default device; ``device`` pins it."""
    import thinc.api

    monkeypatch.setattr(thinc.api, "get_torch_default_device", lambda: torch.device("meta"))
    followed = make_nlp(models["keyword"], device=None).get_pipe("hf")
    assert next(followed.hf_model.parameters()).device.type == "meta"
    legacy = make_nlp(models["keyword"], device="auto").get_pipe("hf")  # configs saved before
    assert next(legacy.hf_model.parameters()).device.type == "meta"
    pinned = make_nlp(models["keyword"], device="cpu").get_pipe("hf")
    assert next(pinned.hf_model.parameters()).device.type == "cpu"
    with pytest.raises(ValueError, match="device must be"):
        make_nlp(models["keyword"], device="gpu please")


def test_pipeline_saved_by_first_release_loads(tmp_path):
    """``tests/data/hf_pipeline_v1`` was saved by the component before this layout was
    written with named fields (config ``device = "auto"``, torch module at ``.model``)."""
    nlp = spacy.load(V1_PIPELINE)
    assert spans_of(nlp(V1_TEXT)) == V1_SPANS
    hf = nlp.get_pipe("hf")
    assert hf.labels == ("CHEMICAL", "DISEASE")
    # saved again and reloaded: same layout, same predictions
    nlp.to_disk(tmp_path / "again")
    assert sorted(p.name for p in (tmp_path / "again" / "hf").iterdir()) == ["cfg", "model"]
    assert spans_of(spacy.load(tmp_path / "again")(V1_TEXT)) == V1_SPANS


def test_exclude_model_field(tmp_path):
    hf = spacy.load(V1_PIPELINE).get_pipe("hf")
    hf.to_disk(tmp_path / "no_model", exclude=["model"])
    assert [p.name for p in (tmp_path / "no_model").iterdir()] == ["cfg"]
    assert (tmp_path / "no_model" / "cfg").read_text().count('"saved_model":false') == 1
    # a deleted model directory of a component saved with one is named, not skipped
    shutil.copytree(V1_PIPELINE, tmp_path / "broken")
    shutil.rmtree(tmp_path / "broken" / "hf" / "model")
    with pytest.raises(FileNotFoundError, match=r"saved model directory missing: .*broken/hf/model"):
        spacy.load(tmp_path / "broken")

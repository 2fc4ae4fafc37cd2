"""The HF comparison (``medner.ner.hf.compare``) and benchmark (``medner.bench.hf``) on a tiny offline BERT.

The context-free "keyword" BERT of ``tests/tiny_bert.py`` tags ``aspirin``
and the first piece of every z-word (``zidovudine`` -> ``z ##id ...``), so the
raw pipeline is known to produce a mid-word fragment that ``hf_token_pipe``
drops and medner extends to the whole spaCy token.
"""
import json
import os
from pathlib import Path

import pytest

from medner.tokenizer import count_text_words

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

torch = pytest.importorskip("torch")
pytest.importorskip("spacy_huggingface_pipelines")
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[2]
from tiny_bert import make_tiny_token_classifier  # noqa: E402

KEYWORDS = {"aspirin": "B-CHEMICAL", "z": "B-CHEMICAL", "fever": "B-DISEASE", "renal": "B-DISEASE",
            "failure": "I-DISEASE"}
PARAGRAPHS = [
    "The patient was given aspirin for fever.\nZidovudine caused renal failure in the patient.",
    "Aspirin and zidovudine were given daily.",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare_scripts")
    model = make_tiny_token_classifier(root / "model", ["CHEMICAL", "DISEASE"], keywords=KEYWORDS)
    # A "combined" pipeline without a CNN: blank tokenizer + hf_token_classifier + merge
    from medner.tokenizer import blank_biomedical

    nlp = blank_biomedical()
    nlp.add_pipe("hf_token_classifier", name="hf", config={"model_dir": str(model), "device": "cpu"})
    nlp.add_pipe("medner_merge_entities", name="merge", config={"sources": ["hf", "ents"]})
    nlp.initialize()
    nlp.to_disk(root / "combined")
    texts = root / "texts.txt"
    texts.write_text("\n\n".join(PARAGRAPHS) + "\n", encoding="utf8")
    return {"root": root, "model": model, "combined": root / "combined", "texts": texts}


def test_read_paragraphs(tmp_path):
    """A paragraph is a block of lines between blank lines; whitespace-only lines and CRLF
    count as blank / line ends, lines are stripped and joined with one space."""
    from medner.ner.hf.systems import read_paragraphs

    path = tmp_path / "texts.txt"
    path.write_bytes(
        b"  First line \r\nsecond line\r\n\r\n \t \n\n\nOne-line paragraph\n   \nLast, no final newline"
    )
    assert read_paragraphs(path) == ["First line second line", "One-line paragraph", "Last, no final newline"]
    (tmp_path / "blank.txt").write_text("\n \n\t\n", encoding="utf8")
    assert read_paragraphs(tmp_path / "blank.txt") == []


def test_compare_hf_report(tiny):
    from medner.ner.hf.compare import write_comparison
    from medner.ner.hf.systems import read_paragraphs

    out_md = tiny["root"] / "out" / "compare.md"
    write_comparison(tiny["model"], read_paragraphs(tiny["texts"]), out_md, out_md.with_suffix(".json"),
                     tiny["combined"], "pytest", tiny["texts"])
    data = json.loads(out_md.with_suffix(".json").read_text(encoding="utf8"))
    texts = data["texts"]
    assert len(texts) == 2
    assert set(data["systems"]) == {"raw", "hf_token_pipe", "medner", "combined"}
    for name, system in data["systems"].items():
        assert len(system["docs"]) == len(texts)
        for text, doc in zip(texts, system["docs"]):
            for ent in doc["entities"]:
                assert ent["text_at_offsets"] == text[ent["start"] : ent["end"]]

    # (a) raw: the z-word fragment "Z" / "z" of "Zidovudine" is flagged
    raw_ents = data["systems"]["raw"]["docs"][0]["entities"]
    z = [e for e in raw_ents if e["text_at_offsets"].lower() == "z"]
    assert z and all(e["fragment"] and e["end_mid_word"] for e in z)
    assert data["summary"]["raw"]["fragments"] >= 2

    # (b) hf_token_pipe drops the fragments, and counts them
    htp = data["summary"]["hf_token_pipe"]
    assert htp["dropped_vs_raw"] >= 2 and htp["fragments"] == 0
    assert htp["entities"] == data["summary"]["raw"]["entities"] - htp["dropped_vs_raw"]

    # (c) medner: whole words, offsets match span text, scores present
    for text, doc in zip(texts, data["systems"]["medner"]["docs"]):
        for ent in doc["entities"]:
            assert text[ent["start"] : ent["end"]] == ent["span_text"]
            assert not ent["fragment"]
            assert 0.0 <= ent["score"] <= 1.0
    med_texts = {e["span_text"].lower() for d in data["systems"]["medner"]["docs"] for e in d["entities"]}
    assert {"aspirin", "zidovudine", "renal failure", "fever"} <= med_texts
    assert data["summary"]["medner"]["offset_mismatches"] == 0

    # (d) combined: provenance from doc.spans["medner"]
    comb = data["systems"]["combined"]["docs"][0]["entities"]
    assert comb and all(e["source"] == "hf" for e in comb)

    md = out_md.read_text(encoding="utf8")
    for heading in ("## Summary", "(a) raw", "(b) spacy-huggingface-pipelines", "(c) medner", "(d) combined"):
        assert heading in md
    assert "MID-WORD" in md and "`Zidovudine`" in md


def test_benchmark_hf(tiny, tmp_path):
    from spacy.tokens import DocBin

    from medner.tokenizer import blank_biomedical

    nlp = blank_biomedical()
    texts = [p.replace("\n", " ") for p in PARAGRAPHS] * 3
    gold = tmp_path / "gold.spacy"
    DocBin(docs=[nlp.make_doc(t) for t in texts]).to_disk(gold)
    out = tmp_path / "bench.json"
    from medner.bench.hf import benchmark

    report = benchmark(
        tiny["model"], out, gold, n_docs=4, long_docs=1, long_chars=2000, combined=tiny["combined"],
        threads=1, batch_size=4, stride=32, warmup=1, profile="never", timeout=120, command="pytest",
    )
    data = json.loads(out.read_text(encoding="utf8"))
    assert data["systems"].keys() == {"raw", "hf_token_pipe", "medner", "combined"}
    expected_words = count_text_words(texts[:4])  # non-space tokens of the biomedical tokenizer
    assert data["texts"]["short"]["words"] == expected_words
    assert data["texts"]["long"]["chars_each"][0] >= 2000
    for name, res in data["systems"].items():
        assert "error" not in res, res
        assert res["total"]["words"] == data["texts"]["total"]["words"]
        assert res["total"]["seconds"] > 0 and res["total"]["words_per_second"] > 0
        assert res["peak_rss_mb"] > 0 and res["threads"] == 1
        assert res["short"]["entities"] > 0
    # with stride, every system reads the whole long text; without, the raw pipeline truncates (128 pieces)
    assert data["systems"]["medner"]["long"]["min_last_entity_end_fraction"] > 0.9
    assert data["systems"]["raw"]["long"]["min_last_entity_end_fraction"] > 0.9
    probe = data["systems"]["raw"]["no_stride_probe"]
    assert probe["error"] is None and probe["fraction_of_text_reached"] < 0.5
    assert "truncated" in probe["behaviour"]
    assert data["systems"]["medner"]["long"]["mid_word_entities"] == 0
    assert data["systems"]["raw"]["short"]["mid_word_entities"] > 0
    comparison = data["comparison"]
    assert "medner_over_raw_time" in comparison and isinstance(comparison["target_met"], bool)
    assert comparison["combined_uses_same_hf_model"] is True
    assert data["machine"]["cpu_count"] and data["loadavg_start"] is not None
    assert report["command"] == "pytest"


def test_profile_summary_finds_medner_phases(tiny):
    """The phases are found by file name: after a module move they silently read 0 unless this fails."""
    import cProfile

    import spacy

    from medner.bench.hf import summarize_profile

    nlp = spacy.load(tiny["combined"])
    profiler = cProfile.Profile()
    profiler.enable()
    list(nlp.pipe(PARAGRAPHS * 30))
    profiler.disable()
    summary = summarize_profile(profiler, None)
    phases = summary["phases_cumulative_s"]  # phases under 0.5 ms round to 0 and are left out
    for phase in ("medner.predict (all)", "medner._predict_doc (alignment, reconcile, BIO)", "model_forward"):
        assert phases.get(phase, 0) > 0, (phase, phases)
    assert summary["top_cumulative"][0]["cum_s"] >= phases["medner.predict (all)"]

"""medner.bench.pipelines (``scripts/benchmark.py``) and the one-line errors of the benchmark helpers."""
import pytest
from spacy.tokens import DocBin

from pipelines import build_cnn, training_docs

from medner.bench.pipelines import BenchmarkError, benchmark_pipelines
from medner.serve import screenshot


def test_each_pipeline_is_timed_in_its_own_process_on_the_same_words(tmp_path):
    nlp = build_cnn(tmp_path / "cnn")
    gold = training_docs(nlp, n=4)
    DocBin(docs=gold).to_disk(tmp_path / "gold.spacy")
    logged = []
    report = benchmark_pipelines({"a": str(tmp_path / "cnn"), "b": str(tmp_path / "cnn")}, tmp_path / "gold.spacy",
                                 n_docs=3, batch_sizes=[1, 2], threads=1, packages_record=tmp_path / "none.json",
                                 log=logged.append)
    assert list(report["pipelines"]) == ["a", "b"] and len(logged) == 2
    a, b = report["pipelines"]["a"], report["pipelines"]["b"]
    assert a["docs"] == 3 and a["words"] == b["words"] > 0
    assert set(a["runs"]) == {"1", "2"} and a["runs"]["1"]["entities"] == a["runs"]["2"]["entities"]
    assert a["size_on_disk_mb"] > 0 and a["peak_rss_mb"] > 0 and "wheel" not in a


def test_a_pipeline_that_does_not_load_is_named(tmp_path):
    nlp = build_cnn(tmp_path / "cnn")
    DocBin(docs=training_docs(nlp, n=2)).to_disk(tmp_path / "gold.spacy")
    with pytest.raises(BenchmarkError, match="en_medner_no_such_pipeline failed"):
        benchmark_pipelines({"gone": "en_medner_no_such_pipeline"}, tmp_path / "gold.spacy", 2, [1], 1,
                            tmp_path / "none.json")


def test_screenshot_without_chromium_is_one_line(tmp_path, monkeypatch):
    pytest.importorskip("playwright")
    monkeypatch.setattr(screenshot, "CHROMIUM", tmp_path / "no_chromium")
    with pytest.raises(screenshot.ScreenshotError, match="headless Chromium is missing"):
        screenshot.serve_screenshot(["clinical"], "No fever.", tmp_path / "x.png")

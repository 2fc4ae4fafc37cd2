"""``medner.release.tables`` (scripts/results.py): the README tables are rendered from the committed JSON, between markers."""
import pytest
import srsly

from medner.release import tables as results


def _scores(f1):
    return {"precision": f1 + 1, "recall": f1 - 1, "f1": f1, "per_label": {}}


@pytest.fixture
def project(tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    srsly.write_json(metrics / "x_cnn__bc5cdr.json", {
        "pipeline": "x_cnn", "dataset": "bc5cdr", "model": "training/x/model-best", "precision": 80.0, "recall": 70.0,
        "f1": 74.67, "per_label": {"CHEMICAL": {"p": 1, "r": 1, "f": 81.5}}, "words_per_second": 12345})
    srsly.write_json(metrics / "packages.json", {"en_x": {"model": "training/x/model-best", "wheel_mb": 47.2}})
    srsly.write_json(metrics / "ablation__bc5cdr.json", {
        "systems": {"a": "training/a", "b": "training/b"}, "selected_on_dev": "vote>=2(a+b)",
        "rows": {"a": {"dev": _scores(70.0), "test": _scores(69.0), "train_seconds": 600.0},
                 "vote>=2(a+b)": {"dev": _scores(75.5), "test": _scores(74.25), "train_seconds": None}}})
    srsly.write_json(metrics / "benchmark.json", {
        "threads": 2, "machine": {"cpu_count": 2, "cpu_model": "CPU"}, "loadavg_start": [0.123],
        "pipelines": {"x_cnn": {"docs": 3, "words": 1000, "pipe_names": ["tok2vec", "ner"], "peak_rss_mb": 500,
                                "size_on_disk_mb": 20.0, "wheel_mb": 18.0,
                                "runs": {"1": {"words_per_second": 9000}, "64": {"words_per_second": 11000}}}}})
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nold\n<!-- results:end -->\nmiddle\n<!-- ablation:start -->\n"
                      "<!-- ablation:end -->\n<!-- benchmark:start -->old<!-- benchmark:end -->\nend\n")
    return tmp_path


def test_tables_rendered_between_markers(project):
    results.render_results(project / "metrics", project / "README.md", project / "none.json")
    text = (project / "README.md").read_text()
    assert text.startswith("intro\n") and text.endswith("end\n") and "old" not in text
    assert "| `x_cnn` | ents | 80.00 | 70.00 | **74.67** | 81.50 | 12,345 | 47 MB |" in text
    assert "| `vote>=2(a+b)` **(best on dev)** | 75.50 | 75.25 | 73.25 | 74.25 | not recorded |" in text
    assert "| `a` | 70.00 | 70.00 | 68.00 | 69.00 | 10 min |" in text
    assert "| `x_cnn` | tok2vec, ner | 9,000 | 11,000 | 500 MB | 20 MB | 18 MB |" in text
    assert "load average 0.12" in text


def test_missing_markers_fail(project):
    (project / "README.md").write_text("no markers\n")
    with pytest.raises(SystemExit):
        results.render_results(project / "metrics", project / "README.md", project / "none.json")


def test_shipped_table_from_release_manifests(tmp_path):
    """The README's shipped table is rendered from each pipeline's release manifest, clinical first."""
    release = tmp_path / "0.9.0"
    release.mkdir()
    for short, package, dataset, f1 in (("bc5cdr", "en_medner_bc5cdr_x", "bc5cdr", 80.5), ("clinical", "en_medner_clinical_x", "maccrobat", 55.25)):
        srsly.write_json(release / f"{package}.json", {
            "package": package, "short_name": short, "description": f"{short} text: things",
            "test": {"dataset": dataset, "precision": 81.0, "recall": 80.0, "f1": f1, "words_per_second": 12345,
                     "per_label": {"DISEASE": {"p": 1, "r": 1, "f": 77.77}}},
            "wheel": {"mb": 6.04}})
    readme = tmp_path / "README.md"
    readme.write_text("top\n<!-- shipped:start -->\nold\n<!-- shipped:end -->\nbottom\n")
    results.render_release(release, readme)
    text = readme.read_text()
    assert "old" not in text and text.startswith("top\n") and text.endswith("bottom\n")
    rows = [line for line in text.splitlines() if line.startswith("| `")][1:]  # after the header
    assert rows[0].startswith("| `clinical` | `en_medner_clinical_x` | clinical text |") and "**55.25**" in rows[0]
    assert "DISEASE 77.8" in rows[1] and "12,345" in rows[1] and "6.0 MB" in rows[1]

"""End to end: the real project.yml `quick` workflow in a temporary copy of the project.

convert -> train (a few steps) -> evaluate -> package -> install the wheel into a
fresh venv -> spacy.load by name in a new process; then the team round trip:
`spacy project push` to a local directory remote, `spacy project pull` into a
fresh copy, where `spacy project run` skips the training. Takes a few minutes.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def copy_project(project: Path) -> Path:
    project.mkdir()
    for name in ("project.yml", "pyproject.toml", "README.md", "constraints.txt"):
        shutil.copy(ROOT / name, project / name)
    for name in ("configs", "scripts", "assets", "medner"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    return project


def spacy_project(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "spacy", "project", *args],
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result.stdout


@pytest.mark.slow
def test_quick_workflow_end_to_end(tmp_path):
    project = copy_project(tmp_path / "project")
    spacy_project("run", "quick", str(project))

    report = json.loads((project / "corpus/quick/report.json").read_text())
    for split in ("train", "dev", "test"):
        assert report["splits"][split]["docs"] == 12 and report["splits"][split]["adds_up"]
    metrics = json.loads((project / "reports/quick__bc5cdr.json").read_text())
    assert metrics["docs"] == 12 and 0.0 <= metrics["f1"] <= 100.0 and metrics["words_per_second"] > 0
    assert metrics["gold_entities"] > 0
    check = json.loads((project / "reports/install_check__en_medner_quick.json").read_text())
    assert check["package"] == "en_medner_quick" and "site-packages" in check["file"]
    assert check["pipeline"] == ["tok2vec", "ner"]
    meta = json.loads(next(project.glob("packages/en_medner_quick-*/meta.json")).read_text())
    assert any(req.startswith("medner") for req in meta["requirements"])
    assert meta["sources"][0]["name"].startswith("BioCreative")
    sizes = json.loads((project / "packages/quick_packages.json").read_text())["en_medner_quick"]
    assert sizes["model"] == "training/quick/model-best" and sizes["wheel_mb"] > 0 and sizes["on_disk_mb"] > 0
    assert not (project / "metrics/packages.json").exists()  # the quick run leaves committed metrics alone

    # A team trains once and pushes; a colleague's fresh copy pulls and skips training.
    remote = tmp_path / "remote"
    pushed = spacy_project("push", str(remote), str(project))
    assert "training/quick/model-best" in pushed and any(remote.iterdir())
    colleague = copy_project(tmp_path / "colleague")
    pulled = spacy_project("pull", str(remote), str(colleague))
    assert "training/quick/model-best" in pulled
    model = colleague / "training/quick/model-best"
    assert (model / "ner" / "model").read_bytes() == (project / "training/quick/model-best/ner/model").read_bytes()
    before = model.stat().st_mtime_ns
    rerun = spacy_project("run", "train-quick", str(colleague))
    assert "Skipping 'train-quick': nothing changed" in rerun, rerun
    assert model.stat().st_mtime_ns == before

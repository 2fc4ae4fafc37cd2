"""The shipped pipelines: checksums, size budget, install without torch, and their test scores.

A change to the tokenizer, a component or a reader that breaks a shipped model
fails here: each installed release pipeline is re-evaluated on its official
test set, converted afresh from assets/, and must reproduce its manifest's F1.
"""
import json
from pathlib import Path

import pytest
import spacy
import srsly

import medner

from medner.corpus.datasets import DATASETS
from medner.evaluation.entities import evaluate_pipeline
from medner.release.packaging import CleanVenv, sha256, wheel_requirements
from medner.annotate.pipelines import SHIPPED, resolve
from medner.tokenizer import blank_biomedical

ROOT = Path(__file__).resolve().parents[2]
RELEASE_CONFIG = srsly.read_yaml(ROOT / "configs" / "release.yml")
RELEASE = ROOT / "releases" / medner.__version__
MANIFESTS = sorted(RELEASE.glob("en_medner_*.json"))
F1_TOLERANCE = 0.05


def test_release_exists_for_the_configured_version():
    assert RELEASE.is_dir(), f"no release folder {RELEASE}: run `spacy project run release`"
    assert {json.loads(m.read_text())["package"] for m in MANIFESTS} == {p.package for p in SHIPPED.values()}


def test_sha256sums_cover_every_wheel():
    listed = {}
    for line in (RELEASE / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name] = digest
    wheels = sorted(p.name for p in RELEASE.glob("*.whl"))
    assert sorted(listed) == wheels and wheels
    for name, digest in listed.items():
        assert sha256(RELEASE / name) == digest, f"{name} does not match SHA256SUMS"
    for manifest_path in MANIFESTS:
        manifest = json.loads(manifest_path.read_text())
        assert listed[manifest["wheel"]["file"]] == manifest["wheel"]["sha256"]


def test_release_fits_its_budget():
    total = sum(p.stat().st_size for p in RELEASE.glob("*.whl")) / 2**20
    assert total <= RELEASE_CONFIG["budget_mb"], f"{total:.1f} MB of wheels > {RELEASE_CONFIG['budget_mb']} MB"


def test_cnn_wheels_need_neither_torch_nor_an_exact_spacy():
    for manifest_path in MANIFESTS:
        requires = json.loads(manifest_path.read_text())["wheel"]["requires"]
        assert any(r.startswith("spacy") and ">=3.8.0" in r and "<3.9.0" in r for r in requires), requires
        assert any(r.replace(" ", "").startswith("medner") and "[" not in r for r in requires), requires
        assert not any(r.startswith(("torch", "transformers", "spacy-transformers")) for r in requires), requires


def test_medner_wheel_keeps_the_transformer_stack_in_an_extra():
    (wheel,) = RELEASE.glob("medner-*.whl")
    requires = wheel_requirements(wheel)
    core = [r for r in requires if "extra ==" not in r]
    assert not any(r.startswith(("torch", "transformers", "spacy-transformers", "weasel")) for r in core), core
    assert any(r.startswith("torch") and 'extra == "transformers"' in r for r in requires), requires


@pytest.fixture(scope="module")
def test_sets():
    """Official test sets converted afresh from assets/ with today's readers and tokenizer."""
    nlp = blank_biomedical()
    sets = {}
    for name in {json.loads(m.read_text())["test"]["dataset"] for m in MANIFESTS}:
        spec = DATASETS[name]
        docs, _ = spec.convert_split(nlp, ROOT / "assets", "test")
        sets[name] = docs
    return sets


@pytest.mark.parametrize("manifest_path", MANIFESTS, ids=[m.stem for m in MANIFESTS])
def test_shipped_pipeline_reproduces_its_test_score(manifest_path, test_sets):
    manifest = json.loads(manifest_path.read_text())
    package = resolve(manifest["short_name"])  # installed by scripts/install.sh from the release
    assert package == manifest["package"]
    nlp = spacy.load(package)
    assert nlp.meta["version"] == manifest["version"]
    gold = test_sets[manifest["test"]["dataset"]]
    assert len(gold) == manifest["test"]["docs"]
    scores = evaluate_pipeline(nlp, gold)
    assert abs(scores["f1"] - manifest["test"]["f1"]) <= F1_TOLERANCE, (
        f"{package}: F1 {scores['f1']} on {manifest['test']['dataset']} test, manifest says {manifest['test']['f1']}"
    )


def test_release_installs_by_name_in_a_clean_venv_without_torch(tmp_path):
    """A user's venv with the project's spaCy gets a CNN pipeline offline; spaCy stays, torch stays out."""
    env = CleanVenv(tmp_path / "venv")
    installed = env.pip_install("-c", str(ROOT / "constraints.txt"), f"spacy=={spacy.__version__}")
    assert installed.returncode == 0, installed.stderr
    package = SHIPPED["bc5cdr"].package
    installed = env.pip_install("--no-index", "--find-links", str(RELEASE), package)
    assert installed.returncode == 0, installed.stderr
    probe = (
        "import importlib.util, json, spacy, sys; nlp = spacy.load(sys.argv[1]);"
        "doc = nlp('Cisplatin-induced nephrotoxicity was reversed.');"
        "print(json.dumps({'spacy': spacy.__version__, 'torch': importlib.util.find_spec('torch') is not None,"
        "'transformers': importlib.util.find_spec('transformers') is not None,"
        "'ents': [[e.start_char, e.end_char, e.label_] for e in doc.ents]}))"
    )
    run = env.run(probe, package, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["spacy"] == spacy.__version__
    assert not result["torch"] and not result["transformers"]
    assert [0, 9, "CHEMICAL"] in result["ents"], result["ents"]


def test_annotate_without_model_uses_the_shipped_clinical_pipeline(tmp_path):
    """`medner annotate notes.txt out.jsonl`: the default pipeline finds the example medications as whole words."""
    from typer.testing import CliRunner

    from medner.annotate import read_records
    from medner.cli import app

    notes = ROOT / "assets" / "examples" / "clinical_sentences.txt"
    result = CliRunner().invoke(app, ["annotate", str(notes), str(tmp_path / "out.jsonl"), "--no-progress"])
    assert result.exit_code == 0, result.output
    (record,) = read_records(tmp_path / "out.jsonl")
    text = notes.read_text(encoding="utf-8")
    found = {(e["text"], e["label"]) for e in record["entities"]}
    for drug in ("Aspirin", "Ibuprofen", "Metformin", "Lisinopril", "Warfarin", "Acetaminophen", "Atorvastatin", "Levothyroxine"):
        assert (drug, "MEDICATION") in found, sorted(found)
    assert all(text[e["start"]:e["end"]] == e["text"] for e in record["entities"])
    assert not (tmp_path / "out.errors.jsonl").exists()


def test_readme_python_snippet_runs_as_written():
    """The README's "In Python" block is executed as it stands, on the installed shipped pipelines."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## In Python", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    doc = namespace["doc"]
    found = {ent.text: (ent.label_, ent._.assertion, ent._.medication_status) for ent in doc.ents}
    assert found.get("Metformin") == ("MEDICATION", "present", "held"), found
    assert found.get("pneumonia") == ("DISEASE", "negated", ""), found

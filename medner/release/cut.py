"""Cut a release (the work of scripts/release.py): the shipped pipelines' wheels, committed under releases/<version>/.

For each pipeline in configs/release.yml: build its wheel (``package_script``: scripts/package.py),
then install ALL wheels by name into a clean venv that has only the project's
spaCy (``pip install --no-index --find-links releases/<version>``), check that
spaCy was not replaced and that no torch came along, and evaluate each
installed pipeline on its official test set there. The manifest of each
pipeline holds the scores of exactly these artefacts; SHA256SUMS and a README
sit beside the wheels. The release is refused if it would exceed the size
budget, or if the version already exists (a release is re-cut only when it
gets better: bump the version).
"""
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import spacy
import srsly
from wasabi import msg

import medner
from medner.corpus.datasets import DATASETS
from medner.release.packaging import CleanVenv, output_labels, sha256, wheel_requirements
from medner.annotate.pipelines import SHIPPED


# Runs inside the clean venv: load by name, score on the gold file with medner's scorer.
EVALUATE_INSTALLED = """
import json, sys, spacy
from spacy.tokens import DocBin
from medner.evaluation.entities import evaluate_pipeline
package, gold_path = sys.argv[1:3]
nlp = spacy.load(package)
gold = list(DocBin().from_disk(gold_path).get_docs(nlp.vocab))
record = evaluate_pipeline(nlp, gold)
record.update(package=package, version=nlp.meta["version"], pipeline=nlp.pipe_names,
              loaded_from=str(spacy.util.get_package_path(package)))
print(json.dumps(record))
"""


def check_config(config: dict) -> None:
    """configs/release.yml and medner.annotate.pipelines.SHIPPED must name the same pipelines."""
    configured = {p["short_name"]: p["package"] for p in config["pipelines"]}
    shipped = {name: p.package for name, p in SHIPPED.items()}
    if configured != shipped:
        msg.fail(f"configs/release.yml ships {configured} but medner/annotate/pipelines.py SHIPPED says {shipped}", exits=1)
    if config["version"] != medner.__version__:
        msg.fail(f"release version {config['version']} != medner {medner.__version__}: bump both together", exits=1)
    for spec in config["pipelines"]:
        if not Path(spec["model"]).exists():
            msg.fail(f"{spec['package']}: {spec['model']} does not exist; build it with: {spec['rebuild']}", exits=1)


def build_wheels(config: dict, staging: Path, packages_dir: Path, package_script: Path) -> Dict[str, Path]:
    wheels = {}
    for spec in config["pipelines"]:
        name = spec["package"].split("_", 1)[1]  # spacy package adds the language prefix
        args = [sys.executable, str(package_script), spec["model"], name, str(packages_dir),
                "--version", config["version"], "--description", spec["description"]]
        for dataset in spec["trained_on"]:
            args += ["--dataset", dataset]
        subprocess.run(args, check=True)
        built = packages_dir / f"{spec['package']}-{config['version']}" / "dist" / f"{spec['package']}-{config['version']}-py3-none-any.whl"
        wheels[spec["package"]] = Path(shutil.copy(built, staging))
    medner_wheel = packages_dir / "wheels" / f"medner-{config['version']}-py3-none-any.whl"
    wheels["medner"] = Path(shutil.copy(medner_wheel, staging))
    return wheels


def clean_venv_check(config: dict, staging: Path, corpus_dir: Path, constraints: Path) -> Dict[str, dict]:
    """Install the release by name into a venv with only spaCy; evaluate each pipeline there."""
    packages = [p["package"] for p in config["pipelines"]]
    with tempfile.TemporaryDirectory() as tmp:
        env = CleanVenv(Path(tmp) / "venv")
        for args in (["-c", str(constraints.resolve()), f"spacy=={spacy.__version__}"],
                     ["--no-index", "--find-links", str(staging.resolve()), *packages]):
            installed = env.pip_install(*args)
            if installed.returncode != 0:
                msg.fail(f"pip install {' '.join(args)} failed in the clean venv:\n{installed.stderr[-3000:]}", exits=1)
        probe = env.run("import importlib.util, json, spacy; print(json.dumps({'spacy': spacy.__version__, "
                        "'torch': importlib.util.find_spec('torch') is not None, "
                        "'transformers': importlib.util.find_spec('transformers') is not None}))", cwd=tmp)
        environment = json.loads(probe.stdout)
        if environment["spacy"] != spacy.__version__:
            msg.fail(f"installing the release replaced spaCy {spacy.__version__} by {environment['spacy']}", exits=1)
        if environment["torch"] or environment["transformers"]:
            msg.fail(f"installing the CNN release brought in torch/transformers: {environment}", exits=1)
        msg.good(f"Clean venv: spaCy {environment['spacy']} kept, no torch, no transformers")
        results = {}
        for spec in config["pipelines"]:
            gold = corpus_dir / spec["test_set"] / "test.spacy"
            run = env.run(EVALUATE_INSTALLED, spec["package"], str(gold.resolve()), cwd=tmp)
            if run.returncode != 0:
                msg.fail(f"{spec['package']} failed in the clean venv:\n{run.stderr[-3000:]}", exits=1)
            record = json.loads(run.stdout.strip().splitlines()[-1])
            if "site-packages" not in record["loaded_from"]:
                msg.fail(f"{spec['package']} was loaded from {record['loaded_from']}, not the installed wheel", exits=1)
            record["environment"] = environment
            results[spec["package"]] = record
            msg.good(f"{spec['package']}: F1 {record['f1']} on {spec['test_set']} test, {record['words_per_second']} words/s")
    return results


def write_manifest(spec: dict, config: dict, wheel: Path, score: dict, staging: Path) -> dict:
    nlp = spacy.load(spec["model"])
    manifest = {
        "package": spec["package"],
        "short_name": spec["short_name"],
        "version": config["version"],
        "description": spec["description"],
        "labels": output_labels(nlp),
        "components": nlp.pipe_names,
        "trained_on": [{"dataset": d, **DATASETS[d].source} for d in spec["trained_on"]],
        "test": {
            "dataset": spec["test_set"],
            "scored_with": "medner.evaluation.entities.evaluate_pipeline (exact span match), the installed wheel in a clean venv",
            **{k: score[k] for k in ("docs", "words", "gold_entities", "predicted_entities", "precision", "recall", "f1",
                                     "per_label", "words_per_second", "cpu_count")},
        },
        "wheel": {"file": wheel.name, "bytes": wheel.stat().st_size, "mb": round(wheel.stat().st_size / 2**20, 2),
                  "sha256": sha256(wheel), "requires": wheel_requirements(wheel)},
        "install": f"pip install --no-index --find-links releases/{config['version']} {spec['package']}",
        "rebuild": spec["rebuild"],
        "built_with": {"spacy": spacy.__version__, "python": platform.python_version(), "medner": medner.__version__},
        "clean_venv": score["environment"],
    }
    srsly.write_json(staging / f"{spec['package']}.json", manifest)
    return manifest


def write_readme(config: dict, manifests: List[dict], staging: Path, total_mb: float) -> None:
    rows = "\n".join(
        f"| `{m['package']}` | `{m['short_name']}` | {m['test']['dataset']} | {m['test']['precision']:.2f} | "
        f"{m['test']['recall']:.2f} | **{m['test']['f1']:.2f}** | {m['test']['words_per_second']:,} | {m['wheel']['mb']:.1f} MB |"
        for m in manifests)
    text = f"""# medner release {config['version']}

Pipelines shipped with the repository. Install by name, offline, into any
environment with spaCy 3.8 (spaCy is not replaced; no PyTorch is installed):

```bash
pip install --no-index --find-links releases/{config['version']} {' '.join(m['package'] for m in manifests)}
```

| package | `--model` | test set | P | R | F1 | words/s | wheel |
|---|---|---|---|---|---|---|---|
{rows}

Scores are those of these wheels, installed in a clean venv and evaluated on
the official test sets by `scripts/release.py`; each `<package>.json` has the
labels, per-label scores, training data and licences, and how to rebuild it.
`SHA256SUMS` covers every file ({total_mb:.1f} MB of wheels, budget {config['budget_mb']} MB).
"""
    (staging / "README.md").write_text(text, encoding="utf-8")


def cut_release(config_path: Path, releases_dir: Path, packages_dir: Path, corpus_dir: Path, constraints: Path,
                package_script: Path) -> None:
    """Build, check in a clean venv, and stage the release of ``config_path`` under ``releases_dir``."""
    config = srsly.read_yaml(config_path)
    check_config(config)
    target = releases_dir / config["version"]
    if target.exists():
        msg.fail(f"{target} exists. A release is re-cut only when it gets better: bump the version "
                 "(configs/release.yml, project.yml vars, medner/__init__.py) and run again", exits=1)
    start = time.perf_counter()
    staging = releases_dir / f".{config['version']}.staging"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    wheels = build_wheels(config, staging, packages_dir, package_script)
    total_mb = sum(w.stat().st_size for w in wheels.values()) / 2**20
    if total_mb > config["budget_mb"]:
        msg.fail(f"the release would hold {total_mb:.1f} MB of wheels, over its {config['budget_mb']} MB budget", exits=1)
    scores = clean_venv_check(config, staging, corpus_dir, constraints)
    manifests = [write_manifest(spec, config, wheels[spec["package"]], scores[spec["package"]], staging)
                 for spec in config["pipelines"]]
    write_readme(config, manifests, staging, total_mb)
    sums = "".join(f"{sha256(path)}  {path.name}\n" for path in sorted(staging.iterdir()) if path.suffix == ".whl")
    (staging / "SHA256SUMS").write_text(sums, encoding="utf-8")
    staging.rename(target)
    msg.good(f"Release {config['version']}: {len(manifests)} pipelines, {total_mb:.1f} MB in {target} "
             f"({time.perf_counter() - start:.0f} s)")


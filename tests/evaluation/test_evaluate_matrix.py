"""The evaluation matrix (configs/evaluation.yml, scripts/evaluate_matrix.py) on a tiny CNN pipeline.

It replaced 62 ``scripts/evaluate.py`` lines in project.yml, so its records
must be the ones that script writes (``scripts/results.py`` renders them), its
cells must be the committed metrics files, and a missing pipeline must stop it
with one line before anything is evaluated.
"""
import json
from pathlib import Path

import pytest
import srsly
from spacy.tokens import DocBin, Span
from spacy.util import fix_random_seed

from pipelines import build_cnn, training_docs
from script_cli import run_script

import medner.evaluation.matrix as matrix_module
from medner.evaluation.matrix import MatrixError, evaluate_cells, load_matrix, matrix_cells

ROOT = Path(__file__).resolve().parents[2]

TIMING_KEYS = {"seconds", "words_per_second", "date"}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project dir with a tiny CNN (CHEMICAL, DISEASE), its own test set and a 'cross' set without CHEMICAL."""
    root = tmp_path_factory.mktemp("matrix")
    fix_random_seed(0)  # 30 unseeded updates sometimes leave a model that predicts nothing
    nlp = build_cnn(root / "cnn")
    gold = training_docs(nlp, n=4)
    DocBin(docs=gold, store_user_data=True).to_disk(root / "own.spacy")
    cross = []
    for doc in gold:  # CHEMICAL becomes a label the pipeline cannot predict: only DISEASE is shared
        copy = doc.copy()
        copy.ents = [Span(copy, e.start, e.end, "PATHOGEN" if e.label_ == "CHEMICAL" else e.label_) for e in doc.ents]
        cross.append(copy)
    DocBin(docs=cross, store_user_data=True).to_disk(root / "cross.spacy")
    srsly.write_yaml(root / "matrix.yml", {
        "metrics_dir": "metrics",
        "test_sets": {"own": "own.spacy", "cross": "cross.spacy"},
        "pipelines": {
            "tiny": {"path": "cnn", "own_labels_on": ["own"]},
            "tiny_again": {"path": "cnn", "own_labels_on": ["own"], "test_sets": ["own"]},
        },
    })
    return root


def test_matrix_writes_the_records_evaluate_py_writes_and_loads_each_pipeline_once(project, monkeypatch):
    monkeypatch.chdir(project)
    loads = []
    real_load = matrix_module.spacy.load
    monkeypatch.setattr(matrix_module.spacy, "load", lambda path, **kw: loads.append(path) or real_load(path, **kw))
    evaluated = evaluate_cells(matrix_cells(load_matrix(project / "matrix.yml")))
    assert loads == ["cnn"]  # two pipelines over the same directory: one load
    assert [(cell.pipeline, cell.test_set) for cell, _ in evaluated] == [("tiny", "own"), ("tiny", "cross"),
                                                                          ("tiny_again", "own")]
    written = sorted(p.name for p in (project / "metrics").glob("*.json"))
    assert written == ["tiny__cross.json", "tiny__own.json", "tiny_again__own.json"]

    for name, gold, extra in [("tiny__own", "own.spacy", []), ("tiny__cross", "cross.spacy", ["--shared-labels"])]:
        result = run_script("evaluate", "cnn", gold, f"single/{name}.json", *extra, cwd=project)
        assert result.returncode == 0, result.output
        from_matrix = json.loads((project / "metrics" / f"{name}.json").read_text())
        from_single = json.loads((project / "single" / f"{name}.json").read_text())
        assert list(from_matrix) == list(from_single)  # same keys in the same order
        assert {k: v for k, v in from_matrix.items() if k not in TIMING_KEYS} == \
               {k: v for k, v in from_single.items() if k not in TIMING_KEYS}
        assert from_matrix["predicted_entities"] > 0 and from_matrix["gold_entities"] > 0

    own = json.loads((project / "metrics" / "tiny__own.json").read_text())
    cross = json.loads((project / "metrics" / "tiny__cross.json").read_text())
    assert own["labels_scored"] is None and own["scored"] == "ents"
    assert cross["labels_scored"] == ["DISEASE"] and cross["scored"] == "ents (DISEASE only)"
    assert set(cross["per_label"]) == {"DISEASE"} and cross["gold_entities"] < own["gold_entities"]


def test_an_entry_with_load_config_is_its_own_load_and_its_record_says_so(project, monkeypatch, tmp_path):
    """One directory told two settings at load (the guideline model: bc5cdr or ncbi_disease) is loaded twice."""
    monkeypatch.chdir(project)
    override = {"components": {"ner": {"update_with_oracle_cut_size": 50}}}
    config = tmp_path / "matrix.yml"
    srsly.write_yaml(config, {"metrics_dir": str(tmp_path / "out"), "test_sets": {"own": "own.spacy"},
                              "pipelines": {"plain": {"path": "cnn", "own_labels_on": ["own"]},
                                            "switched": {"path": "cnn", "own_labels_on": ["own"], "load_config": override}}})
    loads = []
    real_load = matrix_module.spacy.load
    monkeypatch.setattr(matrix_module.spacy, "load",
                        lambda path, **kw: loads.append((path, kw.get("config"))) or real_load(path, **kw))
    evaluated = evaluate_cells(matrix_cells(load_matrix(config)))
    assert loads == [("cnn", {}), ("cnn", override)]
    records = {cell.pipeline: record for cell, record in evaluated}
    assert "load_config" not in records["plain"] and records["switched"]["load_config"] == override


def test_filters_rerun_one_cell_only(project, monkeypatch):
    monkeypatch.chdir(project)
    result = run_script("evaluate_matrix", "matrix.yml", "--pipelines", "tiny", "--datasets", "cross",
                        "--metrics-dir", "filtered", cwd=project)
    assert result.returncode == 0, result.output
    assert sorted(p.name for p in (project / "filtered").glob("*.json")) == ["tiny__cross.json"]


def test_missing_pipeline_directory_is_one_line_before_any_evaluation(project, monkeypatch, tmp_path):
    monkeypatch.chdir(project)
    config = tmp_path / "matrix.yml"
    srsly.write_yaml(config, {"metrics_dir": str(tmp_path / "out"), "test_sets": {"own": "own.spacy"},
                              "pipelines": {"tiny": {"path": "cnn", "own_labels_on": ["own"]},
                                            "gone": {"path": "training/gone/model-best", "own_labels_on": ["own"]}}})
    result = run_script("evaluate_matrix", config, cwd=project)
    assert result.returncode == 1
    assert "Pipeline gone: no directory training/gone/model-best" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # tiny was not evaluated either


def test_unknown_names_are_reported_with_the_known_ones(project):
    matrix = load_matrix(project / "matrix.yml")
    with pytest.raises(MatrixError, match="Unknown pipeline\\(s\\) tny; the matrix has: tiny, tiny_again"):
        matrix_cells(matrix, pipelines=["tny"])
    with pytest.raises(MatrixError, match="Unknown test set\\(s\\) ncbi; the matrix has: own, cross"):
        matrix_cells(matrix, test_sets=["ncbi"])


def test_config_naming_an_undeclared_test_set_fails_on_load(tmp_path):
    config = tmp_path / "matrix.yml"
    srsly.write_yaml(config, {"test_sets": {"own": "own.spacy"},
                              "pipelines": {"tiny": {"path": "cnn", "own_labels_on": ["bc5cdr"]}}})
    with pytest.raises(MatrixError, match="pipeline tiny names test set 'bc5cdr', not one of \\['own'\\]"):
        load_matrix(config)


def test_committed_metrics_are_cells_of_the_matrix():
    """Every metrics file the README quotes is produced by ``evaluate``, scored the way the matrix says."""
    cells = {cell.output.name: cell for cell in matrix_cells(load_matrix(ROOT / "configs" / "evaluation.yml"))}
    committed = set()
    for path in sorted((ROOT / "metrics").glob("*__*.json")):
        record = srsly.read_json(path)
        if "f1" not in record or "per_label" not in record:  # convert reports, ablations
            continue
        committed.add(path.name)
        assert path.name in cells, f"{path.name} is not a cell of configs/evaluation.yml"
        cell = cells[path.name]
        assert (record["model"], record["gold"]) == (cell.model_path, cell.gold_path), path.name
        assert bool(record.get("labels_scored")) == cell.shared_labels_only, path.name
        assert record["scored"].split(" ")[0] == (cell.spans_key or "ents"), path.name
    not_run = sorted(set(cells) - committed)
    assert not_run == [], f"cells without a committed metrics file (run evaluate --pipelines ...): {not_run}"

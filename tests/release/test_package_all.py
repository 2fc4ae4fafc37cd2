"""``scripts/package_all.py``: one ``package`` command builds every wheel of configs/packages.yml.

It replaced four package commands with twelve copied lines; it must call
scripts/package.py with the same arguments those lines had, and stop with one
line before building anything when a pipeline is missing.
"""
import subprocess

import srsly
from script_loader import invoke_script, load_script


def _config(tmp_path, model_dirs):
    packages = {name: {"model": str(path), "dataset": "bc5cdr", "metrics": f"metrics/{name}__bc5cdr.json",
                       "description": f"NER for {name} (BC5CDR)"} for name, path in model_dirs.items()}
    srsly.write_yaml(tmp_path / "packages.yml", {"output_dir": str(tmp_path / "packages"),
                                                 "record": str(tmp_path / "packages.json"), "packages": packages})
    return tmp_path / "packages.yml"


def test_each_entry_becomes_one_package_py_call_with_its_arguments(tmp_path, monkeypatch):
    for name in ("a_cnn", "b_hf"):
        (tmp_path / name).mkdir()
    config = _config(tmp_path, {"a_cnn": tmp_path / "a_cnn", "b_hf": tmp_path / "b_hf"})
    script = load_script("package_all")
    calls = []
    monkeypatch.setattr(script.subprocess, "run", lambda cmd, check: calls.append(cmd) or subprocess.CompletedProcess(cmd, 0))
    result = invoke_script(script, [config, "--version", "9.8.7", "--packages", "b_hf"])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1
    assert calls[0][1].endswith("scripts/package.py")
    assert calls[0][2:] == [str(tmp_path / "b_hf"), "b_hf", str(tmp_path / "packages"), "--dataset", "bc5cdr",
                            "--metrics", "metrics/b_hf__bc5cdr.json", "--version", "9.8.7",
                            "--description", "NER for b_hf (BC5CDR)", "--record", str(tmp_path / "packages.json")]


def test_missing_pipeline_stops_before_the_first_wheel(tmp_path, monkeypatch):
    (tmp_path / "a_cnn").mkdir()
    config = _config(tmp_path, {"a_cnn": tmp_path / "a_cnn", "gone": tmp_path / "gone"})
    script = load_script("package_all")
    calls = []
    monkeypatch.setattr(script.subprocess, "run", lambda cmd, check: calls.append(cmd))
    result = invoke_script(script, [config, "--version", "1.0.0"])
    assert result.exit_code == 1
    assert f"Package gone: no pipeline directory {tmp_path / 'gone'}" in result.flat_output
    assert calls == []


def test_unknown_package_name_lists_the_known_ones(tmp_path):
    (tmp_path / "a_cnn").mkdir()
    config = _config(tmp_path, {"a_cnn": tmp_path / "a_cnn"})
    result = invoke_script(load_script("package_all"), [config, "--version", "1.0.0", "--packages", "a_cnm"])
    assert result.exit_code == 1
    assert "Unknown package(s) a_cnm;" in result.flat_output and "has: a_cnn" in result.flat_output

"""``scripts/package_all.py``: one ``package`` command builds every wheel of configs/packages.yml.

It replaced four package commands with twelve copied lines; it must call
scripts/package.py with the same arguments those lines had, and stop with one
line before building anything when a pipeline is missing.
"""
import sys

import pytest
import srsly
from script_cli import run_script

from medner.release.packages import PackagesError, load_packages, package_command, select_packages


def _config(tmp_path, model_dirs):
    packages = {name: {"model": str(path), "dataset": "bc5cdr", "metrics": f"metrics/{name}__bc5cdr.json",
                       "description": f"NER for {name} (BC5CDR)"} for name, path in model_dirs.items()}
    srsly.write_yaml(tmp_path / "packages.yml", {"output_dir": str(tmp_path / "packages"),
                                                 "record": str(tmp_path / "packages.json"), "packages": packages})
    return tmp_path / "packages.yml"


def test_each_entry_becomes_one_package_py_call_with_its_arguments(tmp_path):
    for name in ("a_cnn", "b_hf"):
        (tmp_path / name).mkdir()
    path = _config(tmp_path, {"a_cnn": tmp_path / "a_cnn", "b_hf": tmp_path / "b_hf"})
    config = load_packages(path)
    assert select_packages(config, None, path) == ["a_cnn", "b_hf"]
    names = select_packages(config, "b_hf", path)
    assert names == ["b_hf"]
    command = package_command("b_hf", config, "9.8.7")
    assert command[0] == sys.executable and command[1].endswith("scripts/package.py")
    assert command[2:] == [str(tmp_path / "b_hf"), "b_hf", str(tmp_path / "packages"), "--dataset", "bc5cdr",
                           "--metrics", "metrics/b_hf__bc5cdr.json", "--version", "9.8.7",
                           "--description", "NER for b_hf (BC5CDR)", "--record", str(tmp_path / "packages.json")]


def test_missing_pipeline_stops_before_the_first_wheel(tmp_path):
    (tmp_path / "a_cnn").mkdir()
    path = _config(tmp_path, {"a_cnn": tmp_path / "a_cnn", "gone": tmp_path / "gone"})
    with pytest.raises(PackagesError, match="Package gone: no pipeline directory"):
        select_packages(load_packages(path), None, path)
    result = run_script("package_all", path, "--version", "1.0.0")
    assert result.returncode == 1
    assert f"Package gone: no pipeline directory {tmp_path / 'gone'}" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "packages").exists() and not (tmp_path / "packages.json").exists()


def test_unknown_package_name_lists_the_known_ones(tmp_path):
    (tmp_path / "a_cnn").mkdir()
    path = _config(tmp_path, {"a_cnn": tmp_path / "a_cnn"})
    with pytest.raises(PackagesError, match="Unknown package\\(s\\) a_cnm;.*has: a_cnn"):
        select_packages(load_packages(path), "a_cnm", path)
    with pytest.raises(PackagesError, match="No packages config at"):
        load_packages(tmp_path / "none.yml")

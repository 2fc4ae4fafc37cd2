"""project.yml declares what each command reads and writes, so weasel never skips a stale step.

Weasel re-runs a command only when the md5 of a listed dep or output changed
(``project.lock``). A script, config, corpus or package module a command uses
but does not list is invisible to it: after an edit the command is skipped
and metrics and README go stale. These tests read every command, including
ones added later, and name the missing path; the last one shows weasel
re-running a command after a one-line edit of the package code it depends on.
"""
import ast
import functools
import re
import shutil
import tomllib
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Optional, Set

import pytest
import srsly
from weasel.util import load_project_config

ROOT = Path(__file__).resolve().parents[1]
PROJECT_DIRS = ("assets", "configs", "corpus", "training", "metrics", "packages", "reports", "releases", "docs", "scripts")
PACKAGE = "medner"
TOKEN = re.compile(r"[^\s'\"=,;()\[\]]+")


def _covered(path: str, listed: Iterable[str]) -> bool:
    """``path`` is listed, or lies inside a listed directory."""
    return any(path == entry or path.startswith(entry.rstrip("/") + "/") for entry in listed)


def _dir_declared(path: str, deps: Iterable[str]) -> bool:
    """A directory argument (``corpus/bc5cdr``) whose files the command lists (``corpus/bc5cdr/train.spacy``)."""
    return any(dep.startswith(path.rstrip("/") + "/") for dep in deps)


def _related(path: str, outputs: Iterable[str]) -> bool:
    """``path`` is an output, inside one, or a directory holding one (``--output training/x``)."""
    return any(_covered(path, [out]) or out.startswith(path.rstrip("/") + "/") for out in outputs)


def mentioned_paths(line: str) -> List[str]:
    """Project paths a script line names (``corpus/x/test.spacy``, ``packages``).

    Single-quoted arguments are prose (``--description 'NER in case reports'``)
    and f-string templates (``{d}``) are not paths, so both are skipped.
    """
    paths = []
    for token in TOKEN.findall(re.sub(r"'[^']*'", " ", line)):
        if "{" in token or "}" in token:
            continue
        token = token.rstrip("/.:")
        if token.split("/", 1)[0] in PROJECT_DIRS and ("/" in token or token in PROJECT_DIRS):
            paths.append(token)
    return paths


def _module_file(module: str, root: Path) -> Optional[Path]:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=None)
def _imported_modules(source: Path, module: Optional[str], root: Path) -> FrozenSet[str]:
    """Package modules (``medner...``) a file imports, anywhere in it (imports inside functions too)."""
    found = set()
    package = module if source.name == "__init__.py" else (module.rsplit(".", 1)[0] if module and "." in module else module)
    for node in ast.walk(ast.parse(source.read_text(encoding="utf8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                if not package:
                    continue
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]  # `from medner.x import y`: y may be a module
        else:
            continue
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                parts = name.split(".")
                for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ too
                    prefix = ".".join(parts[:depth])
                    if _module_file(prefix, root):
                        found.add(prefix)
    return frozenset(found)


def _closure(modules: Iterable[str], root: Path) -> Dict[str, str]:
    """Module -> file for ``modules`` and every package module they import, transitively."""
    todo, files = set(modules), {}
    todo |= {".".join(m.split(".")[:depth]) for m in modules for depth in range(1, m.count(".") + 1)}  # parents run first
    while todo:
        module = todo.pop()
        if module in files or not _module_file(module, root):
            continue
        path = _module_file(module, root)
        files[module] = path.relative_to(root).as_posix()
        todo |= _imported_modules(path, module, root) - set(files)
    return files


def package_files_used(script: Optional[Path], root: Path = ROOT, entry_module: Optional[str] = None) -> Dict[str, str]:
    """Module -> file of every package module a script (or ``python -m`` module) imports, transitively."""
    if entry_module:
        return _closure({entry_module}, root)
    return _closure(set(_imported_modules(script, None, root)), root)


def registered_modules(root: Path) -> Dict[str, str]:
    """spaCy registry and factory names the package registers (pyproject entry points) -> their module.

    spaCy imports these when a config or a saved pipeline names them, so no
    ``import`` in the script shows them.
    """
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    groups = tomllib.loads(pyproject.read_text(encoding="utf8")).get("project", {}).get("entry-points", {})
    return {name: target.split(":")[0] for group, entries in groups.items() if group.startswith("spacy_")
            for name, target in entries.items()}


def config_modules(config: Path, registered: Dict[str, str]) -> Set[str]:
    """Package modules a spaCy config pulls in through ``@tokenizers = "medner..."`` or ``factory = "..."``."""
    if config.suffix != ".cfg" or not config.is_file():
        return set()
    names = re.findall(r'^\s*(?:@\w+|factory)\s*=\s*"([^"]+)"', config.read_text(encoding="utf8"), re.M)
    return {registered[name] for name in names if name in registered}


def _scripts_run(line: str) -> List[str]:
    return [token for token in mentioned_paths(line) if token.startswith("scripts/") and token.endswith(".py")]


def deps_problems(project_dir: Path) -> List[str]:
    """One line per path a command uses but does not declare."""
    config = load_project_config(project_dir)
    registered = registered_modules(project_dir)
    problems = []
    for command in config.get("commands", []):
        name = command["name"]
        deps = command.get("deps", [])
        outputs = [*command.get("outputs", []), *command.get("outputs_no_cache", [])]
        for line in command.get("script", []):
            paths = mentioned_paths(line)
            for path in paths:
                if path.startswith("scripts/") or path.startswith("configs/"):
                    if not _covered(path, deps):
                        problems.append(f"{name}: runs with {path}, not in its deps")
                elif not (_covered(path, deps) or _dir_declared(path, deps) or _related(path, outputs)):
                    problems.append(f"{name}: names {path}, neither in its deps nor its outputs")
            # package code the line runs: what its script imports, what its configs and pipelines register
            used: Dict[str, str] = {}
            for script in _scripts_run(line):
                if (project_dir / script).is_file():
                    used.update(package_files_used(project_dir / script, project_dir))
            module_run = re.search(rf"-m ({PACKAGE}(?:\.\w+)*)", line)
            if module_run:
                module = module_run.group(1)
                used.update(_closure({module, f"{module}.__main__"}, project_dir))
            registry = set()
            for path in paths:
                registry |= config_modules(project_dir / path, registered)
                loads_pipeline = path.split("/", 1)[0] in ("training", "packages") and not path.endswith(".whl")
                if loads_pipeline and not _related(path, outputs):  # (a wheel carries its code)
                    registry |= set(registered.values())  # a saved pipeline may name any registered component
            used.update(_closure(registry, project_dir))
            missing = sorted(f"{module} ({path})" for module, path in used.items() if not _covered(path, deps))
            if missing:
                problems.append(f"{name}: runs {', '.join(missing)}; add them (or \"{PACKAGE}\") to its deps")
    return sorted(set(problems))


def test_every_command_declares_what_its_script_lines_use():
    assert deps_problems(ROOT) == []


def workflow_order_problems(project_dir: Path) -> List[str]:
    """A workflow step that needs what a later step of the same workflow writes."""
    config = load_project_config(project_dir)
    commands = {command["name"]: command for command in config.get("commands", [])}
    problems = []
    for workflow, steps in config.get("workflows", {}).items():
        for i, step in enumerate(steps):
            for dep in commands[step].get("deps", []):
                for later in steps[i + 1:]:
                    outputs = [*commands[later].get("outputs", []), *commands[later].get("outputs_no_cache", [])]
                    if later != step and _related(dep, outputs):
                        problems.append(f"{workflow}: {step} needs {dep}, which {later} writes after it")
    return problems


def test_workflow_steps_come_after_the_steps_that_write_their_deps():
    assert workflow_order_problems(ROOT) == []


def test_matrix_commands_declare_every_pipeline_test_set_and_metrics_file():
    """``scripts/evaluate_matrix.py`` reads its paths from a config, so the line alone does not show them."""
    from medner.evaluation.matrix import load_matrix, matrix_cells

    config = load_project_config(ROOT)
    checked = 0
    for command in config["commands"]:
        for line in command.get("script", []):
            if "scripts/evaluate_matrix.py" not in line:
                continue
            matrix_path = next(p for p in mentioned_paths(line) if p.startswith("configs/"))
            option = lambda flag: (re.search(rf"{flag}[ =](\S+)", line) or [None, ""])[1].split(",")  # noqa: E731
            cells = matrix_cells(load_matrix(ROOT / matrix_path), [n for n in option("--pipelines") if n],
                                 [n for n in option("--datasets") if n])
            deps = command.get("deps", [])
            for cell in cells:
                assert _covered(cell.model_path, deps), f"{command['name']}: {cell.model_path} not in deps"
                assert _covered(cell.gold_path, deps), f"{command['name']}: {cell.gold_path} not in deps"
            assert sorted(command.get("outputs", [])) == sorted(str(cell.output) for cell in cells), command["name"]
            # the pipelines it loads may name any component the package registers
            component_code = _closure(set(registered_modules(ROOT).values()), ROOT)
            assert [path for path in component_code.values() if not _covered(path, deps)] == [], command["name"]
            checked += 1
    assert checked >= 2  # evaluate and evaluate-quick


def test_package_command_declares_every_pipeline_metrics_file_and_wheel():
    """``scripts/package_all.py`` reads its pipelines from configs/packages.yml, not from the script line."""
    config = load_project_config(ROOT)
    version = config["vars"]["version"]
    checked = 0
    for command in config["commands"]:
        for line in command.get("script", []):
            if "scripts/package_all.py" not in line:
                continue
            packages = srsly.read_yaml(ROOT / next(p for p in mentioned_paths(line) if p.startswith("configs/")))
            deps = command.get("deps", [])
            outputs = [*command.get("outputs", []), *command.get("outputs_no_cache", [])]
            assert _covered("scripts/package.py", deps), command["name"]
            for name, entry in packages["packages"].items():
                assert _covered(entry["model"], deps) and _covered(entry["metrics"], deps), (command["name"], name)
                assert f"packages/en_{name}-{version}/dist/en_{name}-{version}-py3-none-any.whl" in outputs, name
            assert packages["record"] in outputs, command["name"]
            checked += 1
    assert checked == 1


def _write_project(tmp_path: Path, commands: list) -> Path:
    (tmp_path / "scripts").mkdir(parents=True)
    (tmp_path / "scripts" / "step.py").write_text("import medner.evaluation.matrix\n")
    shutil.copytree(ROOT / PACKAGE, tmp_path / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    srsly.write_yaml(tmp_path / "project.yml", {"title": "t", "commands": commands})
    return tmp_path


def test_checker_names_a_missing_script_config_package_and_corpus(tmp_path):
    """The checker itself: a command listing nothing is reported for each thing it uses."""
    project = _write_project(tmp_path, [{
        "name": "step",
        "script": ["python scripts/step.py configs/x.cfg corpus/a/test.spacy --output training/a"],
        "deps": [], "outputs": ["training/a/model-best"],
    }])
    problems = deps_problems(project)
    assert "step: runs with scripts/step.py, not in its deps" in problems
    assert "step: runs with configs/x.cfg, not in its deps" in problems
    assert "step: names corpus/a/test.spacy, neither in its deps nor its outputs" in problems
    package_problem = next(p for p in problems if "add them" in p)
    # the transitive closure: the script imports evaluation_matrix, which imports evaluation
    assert "medner.evaluation.matrix (medner/evaluation/matrix.py)" in package_problem
    assert "medner.evaluation.entities (medner/evaluation/entities.py)" in package_problem
    assert not any("training/a" in p for p in problems)  # written by the command: an output

    fixed = _write_project(tmp_path / "fixed", [{
        "name": "step",
        "script": ["python scripts/step.py configs/x.cfg corpus/a/test.spacy --output training/a"],
        "deps": ["scripts/step.py", "configs/x.cfg", "corpus/a", "medner"], "outputs": ["training/a/model-best"],
    }])
    assert deps_problems(fixed) == []


def _run_and_report(project: Path, command: str, capsys) -> str:
    from weasel.cli.run import project_run

    project_run(project, command, skip_requirements_check=True)
    return capsys.readouterr().out


@pytest.mark.slow
def test_editing_package_code_reruns_the_command_that_depends_on_it(tmp_path, monkeypatch, capsys):
    """convert-quick on a copy of the project: run, skipped when nothing changed, re-run after a comment in medner/."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "project.yml", project / "project.yml")
    for name in ("scripts", PACKAGE):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "assets" / "bc5cdr", project / "assets" / "bc5cdr")
    monkeypatch.setenv("PYTHONPATH", str(project))  # the script imports the copy's package, not the checkout's
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    output = project / "corpus" / "quick" / "train.spacy"

    first = _run_and_report(project, "convert-quick", capsys)
    assert "Skipping" not in first and output.is_file()
    written = output.stat().st_mtime_ns
    assert "Skipping 'convert-quick': nothing changed" in _run_and_report(project, "convert-quick", capsys)
    assert output.stat().st_mtime_ns == written

    lock = srsly.read_yaml(project / "project.lock")["convert-quick"]
    assert any(dep["path"] == PACKAGE for dep in lock["deps"])
    tokenizer = project / PACKAGE / "tokenizer.py"
    tokenizer.write_text(tokenizer.read_text(encoding="utf8") + "\n# an edit weasel must see\n", encoding="utf8")
    third = _run_and_report(project, "convert-quick", capsys)
    assert "Skipping" not in third and output.stat().st_mtime_ns != written


def test_order_checker_names_a_step_that_runs_before_its_input_is_written(tmp_path):
    srsly.write_yaml(tmp_path / "project.yml", {"title": "t", "workflows": {"all": ["package", "evaluate"]}, "commands": [
        {"name": "evaluate", "script": ["echo"], "outputs": ["metrics/a__b.json"]},
        {"name": "package", "script": ["echo"], "deps": ["metrics/a__b.json"]},
    ]})
    assert workflow_order_problems(tmp_path) == ["all: package needs metrics/a__b.json, which evaluate writes after it"]

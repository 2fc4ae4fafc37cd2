"""Import a file of ``scripts/`` as a module for a test, without putting ``scripts/`` on ``sys.path``.

(``tests/`` itself is on ``sys.path`` already: pytest's rootdir-relative import
puts it there for every test module, so ``tiny_bert``/``pipelines`` import directly.)
"""
import importlib.util
from pathlib import Path
from types import ModuleType

import typer
from typer.testing import CliRunner

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name: str) -> ModuleType:
    """``scripts/<name>.py`` as a fresh module named ``_script_<name>``."""
    spec = importlib.util.spec_from_file_location(f"_script_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def invoke_script(module: ModuleType, args):
    """Run a script's typer ``main``; ``.flat_output`` is ``.output`` with wasabi's line wrapping undone."""
    app = typer.Typer()
    app.command()(module.main)
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    result.flat_output = " ".join(result.output.split())
    return result

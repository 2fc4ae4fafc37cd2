"""Import a file of ``scripts/`` as a module for a test, without putting ``scripts/`` on ``sys.path``.

(``tests/`` itself is on ``sys.path`` already: pytest's rootdir-relative import
puts it there for every test module, so ``tiny_bert``/``pipelines`` import directly.)
"""
import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name: str) -> ModuleType:
    """``scripts/<name>.py`` as a fresh module named ``_script_<name>``."""
    spec = importlib.util.spec_from_file_location(f"_script_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

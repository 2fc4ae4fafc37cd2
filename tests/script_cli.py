"""Run a ``scripts/`` command the way ``spacy project run`` does: ``python scripts/<name>.py ARGS`` in a subprocess.

For tests of a script's command line itself (its exit code, its one-line errors,
the files it writes); the logic behind it is tested through ``medner.*``.
"""
import os
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def run_script(name: str, *args, cwd=None) -> subprocess.CompletedProcess:
    """Exit status in ``.returncode``; ``.output`` is stdout + stderr with wasabi's line wrapping undone."""
    result = subprocess.run([sys.executable, str(SCRIPTS / f"{name}.py"), *[str(arg) for arg in args]],
                            capture_output=True, text=True, cwd=cwd, env={**os.environ, "COLUMNS": "200"})
    result.output = " ".join((result.stdout + result.stderr).split())
    return result

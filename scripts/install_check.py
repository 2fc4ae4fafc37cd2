"""Install a packaged pipeline into a fresh virtual environment and load it by name.

Run in a new process, from an empty directory, with the Hugging Face hub
switched off: proves the wheel is self-contained (weights, config, custom
code via the medner wheel) and that ``spacy.load("<name>")`` works offline.
"""
import json
import tempfile
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from medner.release.packaging import CleanVenv

CHECK = """
import json, sys, spacy
nlp = spacy.load(sys.argv[1])
doc = nlp(sys.argv[2])
print(json.dumps({"package": sys.argv[1], "pipeline": nlp.pipe_names, "file": spacy.util.get_package_path(sys.argv[1]).as_posix(),
                  "entities": [[e.start_char, e.end_char, e.text, e.label_] for e in doc.ents]}))
"""


def main(
    package: str = typer.Argument(..., help="Package name, e.g. en_medner_bc5cdr_cnn"),
    wheels: List[Path] = typer.Argument(..., exists=True, help="Pipeline wheel and the medner wheel"),
    text: str = typer.Option("The patient was prescribed Warfarin to prevent blood clots after a stroke.", "--text"),
    venv_dir: Optional[Path] = typer.Option(None, "--venv", help="Where to create the venv (default: a temp dir)"),
    constraints: Path = typer.Option(Path("constraints.txt"), "--constraints", exists=True),
    output: Optional[Path] = typer.Option(None, "--output", help="Write the check's result as JSON"),
):
    with tempfile.TemporaryDirectory() as tmp:
        env_dir = venv_dir or Path(tmp) / "venv"
        msg.info(f"Creating a fresh venv in {env_dir}")
        env = CleanVenv(env_dir)
        installed = env.pip_install("-c", str(constraints.resolve()), *[str(w.resolve()) for w in wheels])
        if installed.returncode != 0:
            msg.fail(f"pip could not install {[w.name for w in wheels]}:\n{installed.stderr[-3000:]}", exits=1)
        result = env.run(CHECK, package, text, cwd=tmp)
    if result.returncode != 0:
        msg.fail(f"spacy.load({package!r}) failed in the fresh venv:\n{result.stderr[-3000:]}", exits=1)
    record = json.loads(result.stdout.strip().splitlines()[-1])
    if "site-packages" not in record["file"]:
        msg.fail(f"{package} was loaded from {record['file']}, not from the installed wheel", exits=1)
    msg.good(f"{package} loads by name from {record['file']}")
    msg.table([(s, e, t, label) for s, e, t, label in record["entities"]], header=("start", "end", "text", "label"))
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(record, indent=2) + "\n", encoding="utf8")


if __name__ == "__main__":
    typer.run(main)

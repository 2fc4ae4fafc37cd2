"""Which model, and which combination of models, is best? Systems alone and merged, on dev and test.

    python scripts/ablate.py metrics/ablation__bc5cdr.json DEV TEST --system cnn=DIR --system hf=DIR --merge cnn+hf

The work (and what "merged" means) is in medner.evaluation.ablation; the variant is chosen on dev.
"""
from pathlib import Path
from typing import List, Tuple

import srsly
import typer
from wasabi import msg

from medner.evaluation.ablation import ablate


def parse_system(value: str) -> Tuple[str, Path]:
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise typer.BadParameter(f"expected NAME=PIPELINE_DIR, got {value!r}")
    if not Path(path).exists():
        raise typer.BadParameter(f"{name}: {path} does not exist")
    return name, Path(path)


def main(
    output: Path = typer.Argument(..., help="metrics/ablation__<dataset>.json"),
    dev: Path = typer.Argument(..., exists=True),
    test: Path = typer.Argument(..., exists=True),
    system: List[str] = typer.Option(..., "--system", help="NAME=PIPELINE_DIR, repeatable"),
    merge: List[str] = typer.Option([], "--merge", help="NAME+NAME[+NAME...] in priority order, repeatable"),
):
    try:
        record = ablate(dict(parse_system(value) for value in system), [group.split("+") for group in merge], dev, test)
    except ValueError as err:
        raise typer.BadParameter(str(err))
    srsly.write_json(output, record)
    rows, best = record["rows"], record["selected_on_dev"]
    msg.table([(name, r["dev"]["f1"], r["test"]["f1"], r["test"]["precision"], r["test"]["recall"])
               for name, r in rows.items()], header=("variant", "dev F1", "test F1", "test P", "test R"), divider=True)
    msg.good(f"Best on dev: {best} ({rows[best]['test']['f1']:.2f} test F1); wrote {output}")


if __name__ == "__main__":
    typer.run(main)

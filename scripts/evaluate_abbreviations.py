"""Abbreviation definitions on MED1250 (Ab3P's test set): exact (short form, long form) pairs per abstract.

Scores both rule sets of medner.abbreviations.detect (Schwartz-Hearst as published,
and with Ab3P's rules), beside the numbers Ab3P published on the same file,
and lists the errors so that the next rule can be chosen from them.
"""
from pathlib import Path

import typer

from medner.abbreviations.evaluation import evaluate_definitions


def main(
    gold_path: Path = typer.Argument(Path("assets/abbreviations/MED1250_labeled"), exists=True, dir_okay=False),
    output: Path = typer.Argument(Path("metrics/abbreviations__med1250.json")),
    n_errors: int = typer.Option(25, "--errors", help="Errors listed per rule set and kind"),
):
    return evaluate_definitions(gold_path, output, n_errors)


if __name__ == "__main__":
    typer.run(main)

"""Add abbreviation handling to a trained pipeline directory and save the result.

With ``--metrics`` (what evaluate-abbreviation-propagation wrote) the
propagation step is added with the variant chosen on dev for that pipeline,
or, where the step did not help on dev, only the detector
(``medner_abbreviations``, which the linker reads) is added.
"""
from pathlib import Path
from typing import Optional

import typer

from medner.abbreviations.pipeline import add_abbreviations


def main(
    model: Path = typer.Argument(..., exists=True, file_okay=False, help="Trained pipeline directory"),
    output: Path = typer.Argument(..., help="Where the pipeline with abbreviations is saved"),
    metrics: Optional[Path] = typer.Option(None, "--metrics", exists=True, dir_okay=False,
                                           help="metrics/abbreviation_propagation__<dataset>.json: use the variant chosen on dev"),
    pipeline: Optional[str] = typer.Option(None, "--pipeline", help="Entry in --metrics (default: the model's directory name)"),
    long_form_match: str = typer.Option("exact", "--long-form-match", help="exact | overlap (without --metrics)"),
    untagged_long_form: str = typer.Option("keep", "--untagged-long-form", help="keep | remove | propagate (without --metrics)"),
    detector_only: bool = typer.Option(False, "--detector-only", help="Add medner_abbreviations only; doc.ents untouched"),
    after: Optional[str] = typer.Option(None, "--after", help="Component to insert after (default: end of the pipeline)"),
):
    return add_abbreviations(model, output, metrics, pipeline, long_form_match, untagged_long_form, detector_only, after)


if __name__ == "__main__":
    typer.run(main)

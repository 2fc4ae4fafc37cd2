"""Save a copy of a guideline pipeline (configs/cnn_fast_vocab_drug_guideline.cfg) that follows another corpus's guideline."""
from pathlib import Path

import typer
from wasabi import msg

from medner.ner.guideline import UnknownGuideline, save_with_guideline


def main(
    pipeline: Path = typer.Argument(..., exists=True, file_okay=False, help="A pipeline with a medner_guideline component"),
    guideline: str = typer.Argument(..., help="The guideline its documents follow, e.g. ncbi_disease"),
    output: Path = typer.Argument(...),
):
    try:
        nlp = save_with_guideline(pipeline, guideline, output)
    except UnknownGuideline as err:
        msg.fail(str(err), exits=1)
    msg.good(f"Wrote {output} ({', '.join(nlp.pipe_names)}; guideline {guideline})")


if __name__ == "__main__":
    typer.run(main)

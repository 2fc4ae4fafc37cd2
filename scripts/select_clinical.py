"""Choose the shipped clinical pipeline by measurement, then assemble it.

Each variant of ``configs/clinical_variants.yml`` (the MACCROBAT fast CNN
alone, or ``configs/clinical.cfg`` with BC5CDR's knowledge merged in one way or
another) is assembled, scored on MACCROBAT dev and test (all types, and per
headline label: MEDICATION, DISEASE, TREATMENT) and run over the clinical
example sentences. The best mean headline F1 on dev wins; its pipeline is
written to OUTPUT_DIR and the whole comparison to the metrics JSON.
"""
from pathlib import Path

import typer

from medner.evaluation.clinical_selection import select_clinical


def main(
    config: Path = typer.Argument(..., exists=True, help="configs/clinical.cfg"),
    variants_path: Path = typer.Argument(..., exists=True, help="configs/clinical_variants.yml"),
    dev: Path = typer.Argument(..., exists=True, help="corpus/maccrobat/dev.spacy"),
    test: Path = typer.Argument(..., exists=True, help="corpus/maccrobat/test.spacy"),
    sentences: Path = typer.Argument(..., exists=True, help="assets/examples/clinical_sentences.txt"),
    output_dir: Path = typer.Argument(..., help="Where the chosen pipeline goes, e.g. training/clinical_cnn"),
    metrics: Path = typer.Argument(..., help="metrics/clinical_selection.json"),
    maccrobat_model: Path = typer.Option(..., "--maccrobat-model", exists=True),
    bc5cdr_model: Path = typer.Option(..., "--bc5cdr-model", exists=True),
):
    return select_clinical(config, variants_path, dev, test, sentences, output_dir, metrics, maccrobat_model, bc5cdr_model)


if __name__ == "__main__":
    typer.run(main)

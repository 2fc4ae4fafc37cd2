"""Add medner_abbreviations + medner_linker (with its KB) to a trained pipeline and save it elsewhere."""
import json
from pathlib import Path
from typing import Optional

import spacy
import typer
from wasabi import msg

from medner.bench.timing import directory_size_mb
from medner.linking.component import add_linker
from medner.linking.kb import KBFileError, KnowledgeBase


def main(
    input_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Trained pipeline (e.g. training/bc5cdr_cnn_fast/model-best)"),
    output_dir: Path = typer.Argument(..., help="Where to save the pipeline with the linker"),
    kb: Path = typer.Option(Path("training/kb"), "--kb", help="KB directory from scripts/build_kb.py"),
    threshold: float = typer.Option(0.8, help="NIL threshold: best score below it gives no id (0.8: best concept F1 on BC5CDR dev)"),
    no_abbreviations: bool = typer.Option(False, "--no-abbreviations", help="Do not add medner_abbreviations"),
    label_types: Optional[str] = typer.Option(None, "--label-types", help='JSON: entity label -> KB types, e.g. {"MEDICATION": ["CHEMICAL"]} (default: the linker\'s)'),
    only_listed_labels: bool = typer.Option(False, "--only-listed-labels", help="Link only the labels in the label types (e.g. not a clinical pipeline's LAB_VALUE)"),
):
    try:
        knowledge_base = KnowledgeBase.from_disk(kb)
    except KBFileError as err:
        msg.fail(str(err), exits=1)
    config = {"threshold": threshold, "link_unlisted_labels": not only_listed_labels}
    if label_types is not None:
        try:
            config["label_types"] = json.loads(label_types)
        except ValueError as err:
            msg.fail(f"--label-types is not JSON: {err}", exits=1)
    nlp = spacy.load(input_dir)
    try:
        add_linker(nlp, knowledge_base, abbreviations=not no_abbreviations, config=config)
    except ValueError as err:
        msg.fail(f"{input_dir}: {err}", exits=1)
    nlp.to_disk(output_dir)
    linker_mb = directory_size_mb(output_dir / "medner_linker")
    msg.good(f"Saved {output_dir} (pipeline: {', '.join(nlp.pipe_names)}); linker + KB {linker_mb:.2f} MB, "
             f"whole pipeline {directory_size_mb(output_dir):.2f} MB")


if __name__ == "__main__":
    typer.run(main)

"""Mark a partial corpus's unannotated entities as missing values with a teacher pipeline (medner.corpus.partial)."""
from enum import Enum
from pathlib import Path
from typing import List

import spacy
import srsly
import typer
from spacy.tokens import DocBin
from wasabi import msg

from medner.corpus.datasets import DATASETS, SPLITS
from medner.corpus.partial import mark_teacher_missing
from medner.corpus.schema import to_clinical_label


class TeacherSchema(str, Enum):
    clinical = "clinical"  # a clinical-schema teacher (or 0.2.0's MACCROBAT types), mapped to the clinical schema
    same = "same"  # the teacher's labels are already the corpus's schema (e.g. a BC5CDR teacher for phee_chemical)


def main(
    dataset: str = typer.Argument(..., help="The partial dataset (its labels are the annotated ones), e.g. phee"),
    corpus_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Its converted .spacy files"),
    teacher: str = typer.Argument(..., help="Pipeline trained on a fully annotated corpus"),
    output_dir: Path = typer.Argument(...),
    teacher_schema: TeacherSchema = typer.Option(TeacherSchema.clinical, help="How the teacher's labels map to the corpus's"),
    also_mark: List[str] = typer.Option([], "--also-mark", help="An annotated label the corpus labels only in part: the teacher's entities of it become missing too (repeatable)"),
):
    if dataset not in DATASETS:
        msg.fail(f"Unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}", exits=1)
    nlp = spacy.load(teacher)
    to_schema = to_clinical_label if teacher_schema == TeacherSchema.clinical else None
    annotated = [label for label in DATASETS[dataset].labels if label not in also_mark]
    output_dir.mkdir(parents=True, exist_ok=True)
    report = {"dataset": dataset, "teacher": teacher, "teacher_schema": teacher_schema.value,
              "also_marked": also_mark, "splits": {}}
    for split in SPLITS:
        docs = list(DocBin().from_disk(corpus_dir / f"{split}.spacy").get_docs(nlp.vocab))
        counts = mark_teacher_missing(docs, nlp, annotated, to_schema=to_schema)
        DocBin(docs=docs, store_user_data=True).to_disk(output_dir / f"{split}.spacy")
        report["splits"][split] = {"docs": len(docs), **dict(sorted(counts.items()))}
        msg.info(f"{split}: {len(docs)} docs, {counts['tokens_marked']} tokens marked missing")
    srsly.write_json(output_dir / "report.json", report)
    msg.good(f"Wrote {output_dir}")


if __name__ == "__main__":
    typer.run(main)

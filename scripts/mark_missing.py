"""Mark a partial corpus's unannotated entities as missing values with a teacher pipeline (medner.corpus.partial)."""
from pathlib import Path

import spacy
import srsly
import typer
from spacy.tokens import DocBin
from wasabi import msg

from medner.corpus.datasets import DATASETS, SPLITS
from medner.corpus.partial import mark_teacher_missing
from medner.corpus.schema import to_clinical_label


def main(
    dataset: str = typer.Argument(..., help="The partial dataset (its labels are the annotated ones), e.g. phee"),
    corpus_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Its converted .spacy files"),
    teacher: str = typer.Argument(..., help="Pipeline trained on a fully annotated corpus"),
    output_dir: Path = typer.Argument(...),
):
    if dataset not in DATASETS:
        msg.fail(f"Unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}", exits=1)
    nlp = spacy.load(teacher)
    output_dir.mkdir(parents=True, exist_ok=True)
    report = {"dataset": dataset, "teacher": teacher, "splits": {}}
    for split in SPLITS:
        docs = list(DocBin().from_disk(corpus_dir / f"{split}.spacy").get_docs(nlp.vocab))
        counts = mark_teacher_missing(docs, nlp, DATASETS[dataset].labels, to_schema=to_clinical_label)
        DocBin(docs=docs, store_user_data=True).to_disk(output_dir / f"{split}.spacy")
        report["splits"][split] = {"docs": len(docs), **dict(sorted(counts.items()))}
        msg.info(f"{split}: {len(docs)} docs, {counts['tokens_marked']} tokens marked missing")
    srsly.write_json(output_dir / "report.json", report)
    msg.good(f"Wrote {output_dir}")


if __name__ == "__main__":
    typer.run(main)

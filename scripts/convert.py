"""Convert one corpus from assets/ into corpus/<dataset>/{train,dev,test}.spacy + report.json."""
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from medner.corpus.align import DROPS, StrictAlignmentError
from medner.corpus.convert import convert_dataset, print_report
from medner.corpus.datasets import DATASETS
from medner.corpus.records import CorpusFormatError
from medner.tokenizer import blank_biomedical


def main(
    dataset: str = typer.Argument(..., help=f"One of: {', '.join(DATASETS)}"),
    asset_dir: Path = typer.Argument(..., exists=True, file_okay=False),
    output_dir: Path = typer.Argument(...),
    strict: bool = typer.Option(False, "--strict", help="Fail on any dropped annotation"),
    limit: Optional[int] = typer.Option(None, "--limit", help="Keep only the first N documents per split"),
):
    if dataset not in DATASETS:
        msg.fail(f"Unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}", exits=1)
    nlp = blank_biomedical()
    try:
        report = convert_dataset(nlp, dataset, asset_dir, output_dir, strict=strict, limit=limit)
    except (CorpusFormatError, StrictAlignmentError) as err:
        msg.fail(f"{dataset}: {err}", exits=1)
    print_report(report)
    dropped = sum(report["splits"][s][d] for s in report["splits"] for d in DROPS)
    if not all(s["adds_up"] for s in report["splits"].values()):
        msg.fail("Span counts do not add up: this is a bug in medner", exits=1)
    msg.good(f"{dataset}: wrote {output_dir} ({dropped} annotations dropped, see {output_dir / 'report.json'})")


if __name__ == "__main__":
    typer.run(main)

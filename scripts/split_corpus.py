"""Split a .spacy file in two parts in file order (e.g. half of a dev set to train on, half to score)."""
from pathlib import Path

import spacy
import typer
from wasabi import msg

from medner.corpus.join import split_corpus


def main(
    source: Path = typer.Argument(..., help="Converted .spacy file"),
    first: Path = typer.Argument(..., help="Output: the first part"),
    rest: Path = typer.Argument(..., help="Output: the other documents"),
    first_share: float = typer.Option(0.5, help="Share of the documents in the first part"),
):
    try:
        head, tail = split_corpus(source, spacy.blank("en").vocab, first_share)
    except ValueError as err:
        msg.fail(str(err), exits=1)
    for output, part in ((first, head), (rest, tail)):
        output.parent.mkdir(parents=True, exist_ok=True)
        part.to_disk(output)
        msg.good(f"Wrote {output} ({len(part)} docs)")


if __name__ == "__main__":
    typer.run(main)

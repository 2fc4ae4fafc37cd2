"""Write one .spacy file from several, keeping only --label entities (joint DISEASE training data)."""
from pathlib import Path
from typing import List

import spacy
import srsly
import typer
from wasabi import msg

from medner.corpus.join import join_corpora


def main(
    output: Path = typer.Argument(..., help="Joined .spacy file"),
    inputs: List[Path] = typer.Argument(..., help="Converted .spacy files, in order"),
    labels: List[str] = typer.Option(..., "--label", help="Entity label to keep (repeatable)"),
    guidelines: List[str] = typer.Option([], "--guideline", help="The guideline each input follows, in input order (doc._.guideline; repeatable)"),
):
    try:
        joined, counts = join_corpora(inputs, labels, spacy.blank("en").vocab, guidelines=guidelines or None)
    except ValueError as err:
        msg.fail(str(err), exits=1)
    output.parent.mkdir(parents=True, exist_ok=True)
    joined.to_disk(output)
    srsly.write_json(output.with_suffix(".json"), {"labels": labels, "guidelines": guidelines, "inputs": counts})
    for path, count in counts.items():
        msg.info(f"{path}: {count['docs']} docs, {count['entities_kept']} entities kept, {count['entities_dropped']} dropped")
    msg.good(f"Wrote {output} ({len(joined)} docs)")


if __name__ == "__main__":
    typer.run(main)

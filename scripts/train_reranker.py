"""Fit the linker's learned candidate re-ranker by cross-fitting on the train split (medner.linking.reranker_training)."""
import json
from pathlib import Path

import typer
from wasabi import msg

from medner.linking.experiments import FULL, VARIANTS
from medner.linking.kb import load_vocabulary
from medner.linking.reranker_training import cross_fit
from medner.ner.vocab.sources import VocabularyFormatError


def main(
    output: Path = typer.Argument(..., help="Weights file to write (JSON, a few floats)"),
    record: Path = typer.Argument(..., help="Record JSON: weights, rows, folds, time"),
    medic: Path = typer.Option(Path("assets/vocab/medic_06Jul2012.txt"), exists=True, dir_okay=False),
    mesh: Path = typer.Option(Path("assets/vocab/mesh_descriptors.tsv"), exists=True, dir_okay=False),
    drugs: Path = typer.Option(None, "--drugs", exists=True, dir_okay=False, help="drug dictionary (as build_kb.py --drugs)"),
    corpus_dir: Path = typer.Option(Path("corpus"), exists=True, file_okay=False),
    k: int = typer.Option(5, help="candidates per mention"),
    c: float = typer.Option(1.0, "--C", help="inverse L2 regularisation strength"),
):
    try:
        vocab, _, _ = load_vocabulary(medic, mesh, drugs)
    except VocabularyFormatError as err:
        msg.fail(str(err), exits=1)
    reranker, result = cross_fit(corpus_dir, vocab, VARIANTS[FULL], k=k, C=c, log=msg.info)
    output.parent.mkdir(parents=True, exist_ok=True)
    reranker.to_disk(output)
    result.update({"weights_file": str(output), "drugs": str(drugs or ""), "linker_config": FULL})
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(result, indent=2) + "\n", encoding="utf8")
    msg.good(f"Wrote {output} and {record}: {result['mentions']} mentions, {result['rows']} rows, weights {result['weights']}")


if __name__ == "__main__":
    typer.run(main)

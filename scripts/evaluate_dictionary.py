"""The dictionaries alone (drug library for CHEMICAL, MEDIC for DISEASE) on a gold .spacy file: the baseline row
of the abstract NER tables (medner.evaluation.dictionary)."""
import json
import time
from pathlib import Path
from typing import List

import typer
from spacy.tokens import DocBin
from spacy.vocab import Vocab
from wasabi import msg

from medner.evaluation.dictionary import dictionary_annotator
from medner.evaluation.entities import score_entities
from medner.tokenizer import count_words


def main(gold: Path = typer.Argument(..., exists=True, dir_okay=False, help="Gold .spacy file"),
         output: Path = typer.Argument(..., help="Metrics JSON to write"),
         labels: List[str] = typer.Option(["CHEMICAL", "DISEASE"], "--label", help="Labels to predict and score (repeatable)"),
         medic: Path = typer.Option(Path("assets/vocab/medic_06Jul2012.txt"), exists=True, dir_okay=False)):
    try:
        annotate = dictionary_annotator(medic, labels)
    except ValueError as err:
        msg.fail(str(err), exits=1)
    gold_docs = list(DocBin().from_disk(gold).get_docs(Vocab()))
    started = time.perf_counter()
    predicted = annotate([d.text for d in gold_docs])
    seconds = time.perf_counter() - started
    words = sum(count_words(d) for d in predicted)
    result = {"pipeline": "dictionary", "gold": str(gold), "labels_scored": labels, "medic": str(medic),
              "chemicals_from": "drug-named-entity-recognition find_drugs", "docs": len(gold_docs),
              **score_entities(predicted, gold_docs, labels=labels),
              "words": words, "seconds": round(seconds, 2), "words_per_second": round(words / seconds) if seconds else None}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf8")
    msg.good(f"dictionary on {gold}: F1 {result['f1']} {result['per_label']} -> {output}")


if __name__ == "__main__":
    typer.run(main)

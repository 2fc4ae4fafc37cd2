"""Assertion after a real NER: a pipeline with medner_assertion on raw test texts, scored on the entities it found.

Only predicted entities whose offsets match a gold assertion span are scored
(the assertion's score, not the NER's); how many gold spans the NER found is
reported beside it, per value.
"""
from pathlib import Path

import spacy
import srsly
import typer
from spacy.tokens import DocBin
from wasabi import msg

from medner.assertion.evaluation import score_found_values, summary_line
from medner.corpus.assertions import ASSERTION_KEY, ASSERTION_VALUES


def main(
    pipeline_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Pipeline with an NER and medner_assertion"),
    gold_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Converted .spacy file with doc.spans['assertion']"),
    output: Path = typer.Argument(..., help="metrics/assertion_e2e__<pipeline>.json"),
):
    nlp = spacy.load(pipeline_dir)
    golds = [d for d in DocBin().from_disk(gold_path).get_docs(nlp.vocab) if ASSERTION_KEY in d.spans]
    if not golds:
        msg.fail(f"{gold_path} has no doc.spans['{ASSERTION_KEY}']: re-convert it with this medner version", exits=1)
    result = score_found_values(golds, nlp.pipe(d.text for d in golds))
    print(summary_line("e2e", "test", result, ASSERTION_VALUES))
    srsly.write_json(output, {"pipeline": str(pipeline_dir), "components": nlp.pipe_names, "gold": str(gold_path),
                              "scored": "predicted entities whose offsets match a gold assertion span", **result})
    found = result["gold_spans_found_by_ner"].values()
    msg.good(f"{result['spans']} of {sum(c['gold'] for c in found)} gold assertion spans found by the NER and scored; wrote {output}")


if __name__ == "__main__":
    typer.run(main)

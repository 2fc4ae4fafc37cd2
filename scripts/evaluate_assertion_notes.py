"""Regression check: the trained assertion component on the gold spans of the clinical-notes set.

Assertion per value and medication status per value, each on every gold span
(no NER in front), to metrics/assertion_notes__<method>.json. Never used to
choose anything (assets/clinical_notes/README.md).
"""
from pathlib import Path

import srsly
import typer
from wasabi import msg

from medner.assertion.evaluation import component_predictor, evaluate_predictor, evaluate_statuses, summary_line
from medner.corpus.notes import NotesError, read_notes
from medner.tokenizer import blank_biomedical


def main(
    notes_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="assets/clinical_notes/notes.jsonl"),
    weights: Path = typer.Argument(..., help="training/assertion/combined (train-assertion's output)"),
    output: Path = typer.Argument(..., help="metrics/assertion_notes__combined.json"),
    method: str = typer.Option("combined", "--method", help="rules, classifier or combined"),
):
    nlp = blank_biomedical()
    component = nlp.add_pipe("medner_assertion", config={"method": method})
    if method != "rules":
        if not (weights / "medner_assertion").exists():
            msg.fail(f"{weights / 'medner_assertion'} is missing: run `spacy project run train-assertion` first", exits=1)
        component.from_disk(weights / "medner_assertion")
    try:
        gold = read_notes(notes_path, nlp)
    except NotesError as err:
        msg.fail(str(err), exits=1)
    assertion = evaluate_predictor(gold, component_predictor(nlp, "medner_assertion"))
    statuses = evaluate_statuses(gold, nlp, "medner_assertion")
    srsly.write_json(output, {"method": method, "gold": str(notes_path), "spans": "gold spans, no NER",
                              "assertion": assertion, "medication_status": statuses})
    print(summary_line(method, "notes", assertion))
    msg.good(f"medication status accuracy {100 * statuses['accuracy']:.1f} on {statuses['spans']} drugs -> {output}")


if __name__ == "__main__":
    typer.run(main)

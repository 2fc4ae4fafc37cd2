"""Score a pipeline on the clinical-notes regression set (assets/clinical_notes): per-label exact and overlap
P/R/F in the clinical schema, and the assertion of the entities it found with the exact gold span.

A regression check, not a benchmark to tune on (assets/clinical_notes/README.md).
"""
from pathlib import Path
from typing import Optional

import spacy
import srsly
import typer
from wasabi import msg

from medner.evaluation.clinical import make_annotator
from medner.evaluation.clinical_notes import evaluate_on_notes, score_notes
from medner.corpus.notes import NotesError, read_notes


def main(
    model: str = typer.Argument(..., help="Pipeline directory or installed package name; drug_library: the drug dictionary alone"),
    notes_path: Path = typer.Argument(..., dir_okay=False, help="assets/clinical_notes/notes.jsonl"),
    output: Path = typer.Argument(..., help="metrics/clinical_notes__<pipeline>.json"),
    spans_key: Optional[str] = typer.Option(None, "--spans-key", help="Score doc.spans[KEY] instead of doc.ents"),
):
    try:
        gold = read_notes(notes_path)
        if model == "drug_library":  # medner.evaluation.clinical's baseline: drug-named-entity-recognition alone
            annotate, _ = make_annotator("drug_library", None, Path())
            result, meta = score_notes(annotate([doc.text for doc in gold]), gold), {}
        else:
            nlp = spacy.load(model)
            result = evaluate_on_notes(nlp, gold, spans_key=spans_key)
            meta = {"model_name": f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}",
                    "model_version": nlp.meta.get("version"), "pipe_names": nlp.pipe_names}
    except (OSError, ImportError, NotesError) as err:
        msg.fail(str(err), exits=1)
    record = {"pipeline": model, **meta, "gold": str(notes_path), **result}
    output.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(output, record)
    exact, overlap = result["ner_exact"], result["ner_overlap"]["per_label"]
    rows = [(label, s["gold"], s["p"], s["r"], s["f"], overlap.get(label, {}).get("f", 0.0))
            for label, s in exact["per_label"].items()]
    msg.table(rows, header=("label", "gold", "P", "R", "F1", "overlap F1"), divider=True)
    assertion = result["assertion"]
    found = sum(c["found"] for c in assertion["gold_spans_found_by_ner"].values())
    gold_n = sum(c["gold"] for c in assertion["gold_spans_found_by_ner"].values())
    msg.good(f"{model}: F1 {exact['f1']}; assertion accuracy {100 * assertion['accuracy']:.1f} on the "
             f"{found} of {gold_n} gold assertion spans it found -> {output}")


if __name__ == "__main__":
    typer.run(main)

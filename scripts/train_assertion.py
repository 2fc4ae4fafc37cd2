"""Train medner_assertion's classifier (method classifier or combined) on MACCROBAT train; pick C on dev.

Writes a small pipeline (medner's tokenizer + medner_assertion) to OUTPUT_DIR,
for scripts/add_assertion.py to graft onto any NER pipeline, and the grid to
a JSON record. Runs on the CPU in under a minute per C value.
"""
import time
from pathlib import Path
from typing import List

import srsly
import typer
from spacy.training import Example
from wasabi import msg

from medner.assertion.evaluation import component_predictor, evaluate_predictor, load_gold, summary_line
from medner.assertion.component import AssertionComponent
from medner.corpus.assertions import ASSERTION_VALUES
from medner.tokenizer import blank_biomedical


def dev_macro_f(result: dict) -> float:
    """Mean F1 over the four non-present values: what the choice of C optimises."""
    return sum(result[v]["f"] for v in ASSERTION_VALUES if v != "present") / (len(ASSERTION_VALUES) - 1)


def main(
    method: str = typer.Argument(..., help="classifier or combined"),
    train_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    dev_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(..., help="Pipeline directory to write"),
    record: Path = typer.Option(..., "--record", help="JSON with the C grid and dev scores"),
    c_values: List[float] = typer.Option([0.1, 0.3, 1.0, 3.0], "--c", help="Regularisation values to try"),
):
    if method not in ("classifier", "combined"):
        msg.fail(f"method must be 'classifier' or 'combined' (the rules need no training), not {method!r}", exits=1)
    nlp = blank_biomedical()
    component: AssertionComponent = nlp.add_pipe("medner_assertion", config={"method": method})
    try:
        train, dev = load_gold(train_path, nlp), load_gold(dev_path, nlp)
    except (FileNotFoundError, ValueError) as err:
        msg.fail(str(err), exits=1)
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in train]
    grid, best = [], None
    for c_value in c_values:
        start = time.perf_counter()
        component.initialize(lambda: examples, nlp=nlp, C=c_value)
        seconds = time.perf_counter() - start
        result = evaluate_predictor(dev, component_predictor(nlp, "medner_assertion"))
        grid.append({"C": c_value, "train_seconds": round(seconds, 1), "dev_macro_f": dev_macro_f(result), "dev": result})
        msg.info(f"C={c_value}: {summary_line(method, 'dev', result)} ({seconds:.0f} s)")
        if best is None or grid[-1]["dev_macro_f"] > best["dev_macro_f"]:
            best = grid[-1]
    component.initialize(lambda: examples, nlp=nlp, C=best["C"])
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output_dir)
    size_kb = sum(f.stat().st_size for f in (output_dir / "medner_assertion").iterdir()) / 1024
    srsly.write_json(record, {"method": method, "chosen_C": best["C"], "train_docs": len(train),
                              "classifier": component.classifier.info, "component_kb": round(size_kb, 1), "grid": grid})
    msg.good(f"{method}: C={best['C']} chosen on dev, {size_kb:.0f} kB, wrote {output_dir} and {record}")


if __name__ == "__main__":
    typer.run(main)

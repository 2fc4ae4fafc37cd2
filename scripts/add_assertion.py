"""Add medner_assertion (with its trained weights) after the last component of a pipeline directory.

    python scripts/add_assertion.py IN_DIR OUT_DIR [--method auto|rules|classifier|combined]

``auto`` takes the method chosen on dev (metrics/assertion__summary.json).
The new pipeline is saved to OUT_DIR, reloaded and run on a check sentence;
the size the component adds is printed and, with --record, written to JSON.
"""
import shutil
from pathlib import Path
from typing import Optional

import spacy
import srsly
import typer
from wasabi import msg

from medner.bench.timing import directory_size_mb

CHECK_TEXT = "No evidence of pneumonia. His mother had breast cancer. Rule out myocardial infarction."


def main(
    in_dir: Path = typer.Argument(..., help="Trained pipeline directory (with an NER)"),
    out_dir: Path = typer.Argument(..., help="Where to write the pipeline with the assertion component"),
    method: str = typer.Option("auto", "--method", help="auto (chosen on dev), rules, classifier or combined"),
    trained_dir: Path = typer.Option(Path("training/assertion"), "--trained-dir", help="Output of train-assertion"),
    summary: Path = typer.Option(Path("metrics/assertion__summary.json"), "--summary"),
    name: str = typer.Option("assertion", "--name", help="Component name in the pipeline"),
    record: Optional[Path] = typer.Option(None, "--record", help="Write sizes and the check result here"),
):
    if not (in_dir / "config.cfg").exists():
        msg.fail(f"{in_dir} is not a spaCy pipeline directory (no config.cfg)", exits=1)
    if out_dir.resolve() == in_dir.resolve():
        msg.fail("OUT_DIR must differ from IN_DIR: the input pipeline is left as it is", exits=1)
    if method == "auto":
        if not summary.exists():
            msg.fail(f"{summary} is missing: run `spacy project run evaluate-assertion`, or pass --method", exits=1)
        method = srsly.read_json(summary)["chosen_method"]
    if method not in ("rules", "classifier", "combined"):
        msg.fail(f"--method must be auto, rules, classifier or combined, not {method!r}", exits=1)
    weights = trained_dir / method / "medner_assertion"
    if method != "rules" and not weights.exists():
        msg.fail(f"{weights} is missing: run `spacy project run train-assertion` first", exits=1)
    nlp = spacy.load(in_dir)
    if name in nlp.pipe_names:
        msg.fail(f"{in_dir} already has a component named {name!r}", exits=1)
    component = nlp.add_pipe("medner_assertion", name=name, config={"method": method}, last=True)
    if method != "rules":
        component.from_disk(weights)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    nlp.to_disk(out_dir)

    reloaded = spacy.load(out_dir)
    doc = reloaded(CHECK_TEXT)
    check = [{"text": e.text, "label": e.label_, "assertion": e._.assertion} for e in doc.ents]
    added_mb = directory_size_mb(out_dir / name)
    result = {"in_dir": str(in_dir), "out_dir": str(out_dir), "method": method, "pipeline": reloaded.pipe_names,
              "component_mb": round(added_mb, 3), "pipeline_mb": round(directory_size_mb(out_dir), 2), "check": check}
    if record is not None:
        srsly.write_json(record, result)
    msg.good(f"{out_dir}: {' -> '.join(reloaded.pipe_names)}; medner_assertion ({method}) adds {added_mb:.2f} MB")
    for ent in check:
        print(f"  {ent['text']!r} {ent['label']}: {ent['assertion']}")


if __name__ == "__main__":
    typer.run(main)

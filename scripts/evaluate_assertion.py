"""Compare the assertion methods (rules, classifier, combined) and negspacy on the same gold spans
(medner.assertion.evaluation.compare_methods).

All four are run on MACCROBAT dev and test; the method is chosen on dev (mean F1
over negated, uncertain, historical, family) and written with the test scores to
metrics/assertion__summary.json. One JSON per system: metrics/assertion__<system>.json.
"""
from pathlib import Path

import srsly
import typer
from wasabi import msg

from medner.assertion.evaluation import AssertionEvaluationError, compare_methods


def main(
    dev_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    test_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    trained_dir: Path = typer.Argument(Path("training/assertion"), help="Holds classifier/ and combined/ from train-assertion"),
    metrics_dir: Path = typer.Option(Path("metrics"), "--metrics-dir"),
):
    try:
        records, summary = compare_methods(dev_path, test_path, trained_dir)
    except AssertionEvaluationError as err:
        msg.fail(str(err), exits=1)
    for name, record in records.items():
        srsly.write_json(metrics_dir / f"assertion__{name}.json", record)
    srsly.write_json(metrics_dir / "assertion__summary.json", summary)
    chosen = summary["chosen_method"]
    negated = {name: summary["test_f"][name]["negated"] for name in (chosen, "negspacy")}
    msg.good(f"chosen on dev: {chosen}; test negated F1 {100 * negated[chosen]:.1f} vs negspacy {100 * negated['negspacy']:.1f}")


if __name__ == "__main__":
    typer.run(main)

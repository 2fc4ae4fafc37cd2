"""Compare the assertion methods (rules, classifier, combined) and negspacy on the same gold spans.

All four are run on MACCROBAT dev and test; the method is chosen on dev (mean F1
over negated, uncertain, historical, family) and written with the test scores to
metrics/assertion__summary.json. One JSON per system: metrics/assertion__<system>.json.
"""
from pathlib import Path

import srsly
import typer
from wasabi import msg

from medner.assertion.evaluation import (
    component_predictor,
    ended_drug_accounting,
    evaluate_predictor,
    load_gold,
    negspacy_predictor,
    summary_line,
)
from medner.corpus.assertions import ASSERTION_VALUES
from medner.tokenizer import blank_biomedical

CHOICE_VALUES = [v for v in ASSERTION_VALUES if v != "present"]


def load_method(method: str, trained_dir: Path):
    """A blank biomedical pipeline with the component: rules need nothing, the others their weights."""
    nlp = blank_biomedical()
    component = nlp.add_pipe("medner_assertion", config={"method": method})
    if method != "rules":
        path = trained_dir / method / "medner_assertion"
        if not path.exists():
            msg.fail(f"{path} is missing: run `spacy project run train-assertion` first", exits=1)
        component.from_disk(path)
    return nlp


def main(
    dev_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    test_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    trained_dir: Path = typer.Argument(Path("training/assertion"), help="Holds classifier/ and combined/ from train-assertion"),
    metrics_dir: Path = typer.Option(Path("metrics"), "--metrics-dir"),
):
    systems = {}
    for method in ("rules", "classifier", "combined"):
        nlp = load_method(method, trained_dir)
        systems[method] = (nlp, component_predictor(nlp, "medner_assertion"))
    baseline_nlp = blank_biomedical()
    try:
        systems["negspacy"] = (baseline_nlp, negspacy_predictor(baseline_nlp))
    except ImportError as err:
        msg.fail(str(err), exits=1)
    results = {}
    for name, (nlp, predict) in systems.items():
        try:
            splits = {"dev": load_gold(dev_path, nlp), "test": load_gold(test_path, nlp)}
        except (FileNotFoundError, ValueError) as err:
            msg.fail(str(err), exits=1)
        results[name] = {split: evaluate_predictor(docs, predict) for split, docs in splits.items()}
        for split in ("dev", "test"):
            print(summary_line(name, split, results[name][split]))
        record = {"system": name, "corpus": "maccrobat", "spans": "gold doc.spans['assertion']", **results[name]}
        if name != "negspacy":  # gold NEG on held/stopped drugs, which medner calls present with a status
            record["ended_drugs"] = {s: ended_drug_accounting(d, nlp, "medner_assertion") for s, d in splits.items()}
        if name == "negspacy":
            record["note"] = "negspacy 1.1.0, en_clinical termset, sentencizer; it predicts negated or present only"
        srsly.write_json(metrics_dir / f"assertion__{name}.json", record)

    def dev_choice(name: str) -> float:
        return sum(results[name]["dev"][v]["f"] for v in CHOICE_VALUES) / len(CHOICE_VALUES)

    chosen = max(("rules", "classifier", "combined"), key=dev_choice)
    negated_test = {name: results[name]["test"]["negated"]["f"] for name in results}
    summary = {
        "chosen_method": chosen,
        "chosen_by": "dev mean F1 over " + ", ".join(CHOICE_VALUES),
        "dev_mean_f": {name: dev_choice(name) for name in ("rules", "classifier", "combined")},
        "test_f": {name: {v: results[name]["test"][v]["f"] for v in ASSERTION_VALUES} for name in results},
        "test_negated_f_gain_over_negspacy": negated_test[chosen] - negated_test["negspacy"],
        "goal": {"negated_test_f_at_least": 0.90, "uncertain_test_f_at_least": 0.70,
                 "negated_met": negated_test[chosen] >= 0.90,
                 "uncertain_met": results[chosen]["test"]["uncertain"]["f"] >= 0.70},
    }
    srsly.write_json(metrics_dir / "assertion__summary.json", summary)
    msg.good(f"chosen on dev: {chosen}; test negated F1 {100 * negated_test[chosen]:.1f} "
             f"vs negspacy {100 * negated_test['negspacy']:.1f}")


if __name__ == "__main__":
    typer.run(main)

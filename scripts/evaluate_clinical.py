"""The clinical table: the systems of configs/evaluation_clinical.yml on MACCROBAT (clinical schema) and PHEE,
dev and test, one JSON per system in metrics/clinical/ (medner.evaluation.clinical)."""
from pathlib import Path

import srsly
import typer
from wasabi import msg

from medner.evaluation.clinical import evaluate_clinical, load_test_sets, make_annotator, write_tables


def main(
    config: Path = typer.Argument(Path("configs/evaluation_clinical.yml"), exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(Path("metrics/clinical")),
    systems: str = typer.Option("", "--systems", help="Comma-separated system names (default: all)"),
    doc: Path = typer.Option(Path("docs/clinical.md"), "--doc", help="Rewrite its table block from all records"),
):
    spec = srsly.read_yaml(config)
    wanted = [s for s in systems.split(",") if s] or [s for s, v in spec["systems"].items() if not v.get("frozen")]
    unknown = [s for s in wanted if s not in spec["systems"]]
    if unknown:
        msg.fail(f"Unknown systems {unknown}; {config} has {list(spec['systems'])}", exits=1)
    output_dir.mkdir(parents=True, exist_ok=True)
    gold = {split: load_test_sets(spec["gold"], split, None) for split in ("dev", "test")}  # read once for all systems
    for name in wanted:
        system = spec["systems"][name]
        try:
            annotate, nlp = make_annotator(system["kind"], system.get("path"), Path(spec["medic_path"]),
                                           disable=system.get("disable", ()), config=system.get("config"))
        except (OSError, ValueError) as err:
            msg.fail(f"{name}: {err}", exits=1)
        record = {"system": name, **system}
        for split in ("dev", "test"):
            record[split] = evaluate_clinical(annotate, gold[split])
            row = record[split]
            msg.info(f"{name} {split}: MACCROBAT F1 {row['maccrobat']['f1']}, "
                     f"MEDICATION {row['maccrobat']['per_label'].get('MEDICATION', {}).get('f')}, "
                     f"PHEE drugs strict {row['phee_medication']['strict']['f']}")
        srsly.write_json(output_dir / f"{name}.json", record)
    records = [srsly.read_json(output_dir / f"{name}.json") for name in spec["systems"]
               if (output_dir / f"{name}.json").is_file()]
    write_tables(doc, records, "spacy project run evaluate-clinical")
    msg.good(f"Wrote {len(wanted)} systems to {output_dir}, tables to {doc}")


if __name__ == "__main__":
    typer.run(main)

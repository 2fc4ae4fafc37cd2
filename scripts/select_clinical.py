"""Choose the shipped clinical pipeline by measurement, then assemble it.

Each variant of ``configs/clinical_variants.yml`` (the MACCROBAT fast CNN
alone, or ``configs/clinical.cfg`` with BC5CDR's knowledge merged in one way or
another) is assembled, scored on MACCROBAT dev and test (all types, and per
headline label: MEDICATION, DISEASE, TREATMENT) and run over the clinical
example sentences. The best mean headline F1 on dev wins; its pipeline is
written to OUTPUT_DIR and the whole comparison to the metrics JSON.
"""
import shutil
import tempfile
from pathlib import Path
from typing import Dict, List

import spacy
import srsly
import typer
from spacy.tokens import DocBin
from wasabi import msg

from medner.ner.assembly import assemble
from medner.evaluation.entities import evaluate_pipeline

def build_variant(spec: dict, config: Path, models: Dict[str, Path], output_dir: Path) -> None:
    """Write the variant's pipeline to ``output_dir``: a copy of one model, or the assembled config."""
    if "alone" in spec:
        shutil.copytree(models[spec["alone"]], output_dir)
        return
    overrides = {f"paths.{name}": str(path) for name, path in models.items()}
    overrides.update(spec.get("overrides", {}))
    assemble(config, output_dir, overrides)


def headline(record: dict, labels: List[str]) -> dict:
    per_label = {label: record["per_label"].get(label, {"p": 0.0, "r": 0.0, "f": 0.0}) for label in labels}
    return {"f1": record["f1"], "precision": record["precision"], "recall": record["recall"],
            "headline_mean_f1": round(sum(s["f"] for s in per_label.values()) / len(labels), 2),
            "per_label": per_label, "words_per_second": record["words_per_second"]}


def main(
    config: Path = typer.Argument(..., exists=True, help="configs/clinical.cfg"),
    variants_path: Path = typer.Argument(..., exists=True, help="configs/clinical_variants.yml"),
    dev: Path = typer.Argument(..., exists=True, help="corpus/maccrobat/dev.spacy"),
    test: Path = typer.Argument(..., exists=True, help="corpus/maccrobat/test.spacy"),
    sentences: Path = typer.Argument(..., exists=True, help="assets/examples/clinical_sentences.txt"),
    output_dir: Path = typer.Argument(..., help="Where the chosen pipeline goes, e.g. training/clinical_cnn"),
    metrics: Path = typer.Argument(..., help="metrics/clinical_selection.json"),
    maccrobat_model: Path = typer.Option(..., "--maccrobat-model", exists=True),
    bc5cdr_model: Path = typer.Option(..., "--bc5cdr-model", exists=True),
):
    spec = srsly.read_yaml(variants_path)
    labels: List[str] = spec["headline_labels"]
    models = {"maccrobat_model": maccrobat_model, "bc5cdr_model": bc5cdr_model}
    unknown = [name for name, v in spec["variants"].items() if "alone" in v and v["alone"] not in models]
    if unknown:
        msg.fail(f"{variants_path}: variants {unknown} name a model other than {list(models)}", exits=1)
    paragraphs = [p.strip() for p in sentences.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    rows: Dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, variant in spec["variants"].items():
            msg.info(f"Variant {name}")
            path = Path(tmp) / name
            build_variant(variant, config, models, path)
            nlp = spacy.load(path)
            row: dict = {"spec": variant, "pipeline": nlp.pipe_names}
            for split, gold_path in (("dev", dev), ("test", test)):
                gold = list(DocBin().from_disk(gold_path).get_docs(nlp.vocab))
                row[split] = headline(evaluate_pipeline(nlp, gold), labels)
            row["example_sentences"] = [[(e.text, e.label_) for e in doc.ents] for doc in nlp.pipe(paragraphs)]
            rows[name] = row
        best = max(rows, key=lambda name: rows[name]["dev"]["headline_mean_f1"])
        if output_dir.exists():
            shutil.rmtree(output_dir)
        shutil.copytree(Path(tmp) / best, output_dir)
    srsly.write_json(metrics, {"config": str(config), "variants_file": str(variants_path), "dev": str(dev),
                               "test": str(test), "headline_labels": labels, "selected_on_dev": best, "variants": rows})
    table = [(name, r["dev"]["headline_mean_f1"], r["test"]["headline_mean_f1"],
              *(r["test"]["per_label"][label]["f"] for label in labels), r["test"]["f1"]) for name, r in rows.items()]
    msg.table(table, header=("variant", "dev mean", "test mean", *(f"test {label}" for label in labels), "test all"),
              divider=True)
    msg.good(f"Selected on dev: {best}; pipeline in {output_dir}, comparison in {metrics}")


if __name__ == "__main__":
    typer.run(main)

"""Choose the shipped clinical pipeline by measurement (the work of scripts/select_clinical.py)."""
import shutil
import tempfile
from pathlib import Path
from typing import Dict, List

import spacy
import srsly
from spacy.tokens import DocBin
from wasabi import msg

from medner.ner.assembly import assemble
from medner.evaluation.entities import evaluate_pipeline
from medner.evaluation.selection import pick_best_on_dev


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


def select_clinical(config: Path, variants_path: Path, dev: Path, test: Path, sentences: Path, output_dir: Path, metrics: Path, maccrobat_model: Path, bc5cdr_model: Path):
    """Assemble and score every variant of variants on dev and test; write the one with the best mean headline F1 on dev to output_dir and the comparison to metrics."""
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
        best = pick_best_on_dev(rows, score=lambda row: row["dev"]["headline_mean_f1"])
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

"""Copy what a training run produced (dev scores, wall time, device) into metrics/train__<name>.json.

training/ is git-ignored; the README quotes training times and dev scores, so
they are kept as small committed JSON files. Reads spaCy's model-best/meta.json
and scripts/train_spacy.py's train_time.json, or scripts/train_hf.py's
train_metrics.json.
"""
from pathlib import Path

import srsly
import typer
from wasabi import msg


def main(training_dir: Path = typer.Argument(..., exists=True, file_okay=False), output: Path = typer.Argument(...)):
    record: dict = {"training_dir": str(training_dir)}
    hf_metrics = training_dir / "train_metrics.json"
    if hf_metrics.exists():
        data = srsly.read_json(hf_metrics)
        keep = ("dataset", "base_model", "best_epoch", "best_step", "dev", "dev_per_epoch", "global_steps",
                "stopped_by_time_limit_at_epoch", "wall_seconds", "train_seconds", "threads", "device", "config", "command")
        record.update({"kind": "hf_trainer", **{k: data.get(k) for k in keep}})
    else:
        meta = srsly.read_json(training_dir / "model-best" / "meta.json")
        perf = meta.get("performance", {})
        record.update({"kind": "spacy_train", "dev": {k: perf.get(k) for k in ("ents_f", "ents_p", "ents_r", "ents_per_type")},
                       "pipeline": meta.get("pipeline")})
        time_file = training_dir / "train_time.json"
        record["time"] = srsly.read_json(time_file) if time_file.exists() else None
    output.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(output, record)
    msg.good(f"Wrote {output}")


if __name__ == "__main__":
    typer.run(main)

"""`spacy train`, on the GPU when one is present, on the CPU otherwise.

Same arguments as `spacy train CONFIG --output DIR [--paths.train ...]`; the
device is picked here so that project.yml needs no edit to use a GPU.
Set MEDNER_GPU_ID=-1 to force the CPU, or to a device number.
"""
import os
import time
from pathlib import Path

import srsly
import typer
from spacy.cli._util import parse_config_overrides
from spacy.cli.train import train
from spacy.util import load_config
from wasabi import msg

from medner.ner.hf.models import resolve_model_path


def pick_gpu() -> int:
    if "MEDNER_GPU_ID" in os.environ:
        return int(os.environ["MEDNER_GPU_ID"])
    try:
        import torch

        return 0 if torch.cuda.is_available() else -1
    except ImportError:
        return -1


def main(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    output_path: Path = typer.Option(..., "--output", "-o"),
):
    overrides = parse_config_overrides(ctx.args)
    paths = load_config(config_path, overrides=overrides, interpolate=False).get("paths", {})
    if "transformer_model" in paths:
        # Fail early and clearly if the base transformer is not a local directory.
        resolve_model_path(paths["transformer_model"])
    gpu_id = pick_gpu()
    msg.info(f"Training on {'GPU ' + str(gpu_id) if gpu_id >= 0 else 'CPU'} ({os.cpu_count()} CPUs)")
    start = time.perf_counter()
    train(config_path, output_path, use_gpu=gpu_id, overrides=overrides)
    seconds = time.perf_counter() - start
    srsly.write_json(output_path / "train_time.json", {
        "seconds": round(seconds, 1), "device": f"gpu:{gpu_id}" if gpu_id >= 0 else "cpu",
        "cpu_count": os.cpu_count(), "config": str(config_path), "overrides": overrides,
    })
    msg.good(f"Trained in {seconds / 60:.1f} min")


if __name__ == "__main__":
    app = typer.Typer(add_completion=False)
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(main)
    app()

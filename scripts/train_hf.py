"""Fine-tune a Hugging Face token classifier on a project corpus (``.spacy`` files).

    python scripts/train_hf.py configs/hf_bc5cdr.json corpus/bc5cdr training/bc5cdr_hf

Hyper-parameters live in the JSON config; flags only override the machine
(threads, base model location) or shorten a run for smoke tests. The model and
its fast tokenizer are saved with ``save_pretrained`` into ``<output>/model``
(``id2label`` like ``B-CHEMICAL``), scores and timings into
``<output>/train_metrics.json``. Uses a GPU automatically when one is present.
Nothing is downloaded: the base model is a local directory.
"""
import os
from pathlib import Path
from typing import Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import typer  # noqa: E402

from medner.ner.hf.trainer import train  # noqa: E402


def main(
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON hyper-parameters"),
    corpus_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Folder with train.spacy and dev.spacy"),
    output_dir: Path = typer.Argument(..., help="Output folder; the model goes to <output>/model"),
    base_model: Optional[str] = typer.Option(None, "--base-model", help="Local HF model dir (overrides the config)"),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch CPU threads (default: all cores)"),
    max_steps: int = typer.Option(-1, "--max-steps", help="Stop after N optimizer steps (smoke tests)"),
    train_limit: Optional[int] = typer.Option(None, "--train-limit", help="Use only the first N train docs"),
    dev_limit: Optional[int] = typer.Option(None, "--dev-limit", help="Use only the first N dev docs"),
):
    return train(config_path, corpus_dir, output_dir, base_model, threads, max_steps, train_limit, dev_limit)


if __name__ == "__main__":
    typer.run(main)

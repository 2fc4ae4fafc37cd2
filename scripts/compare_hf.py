"""Run one Hugging Face token classifier over the same texts three (or four) ways (medner.ner.hf.compare).

    python scripts/compare_hf.py MODEL_DIR assets/examples/clinical_sentences.txt reports/compare_hf.md \\
        [--combined training/combined_clinical]
"""
import os
import sys
from pathlib import Path
from typing import Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import typer  # noqa: E402

from medner.ner.hf.compare import write_comparison  # noqa: E402
from medner.ner.hf.systems import read_paragraphs  # noqa: E402

app = typer.Typer(add_completion=False)


@app.command()
def main(
    model_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="HF token classifier (save_pretrained dir)"),
    texts_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Text file; paragraphs = texts"),
    output_md: Path = typer.Argument(..., help="Markdown report to write"),
    combined: Optional[Path] = typer.Option(None, "--combined", exists=True, file_okay=False, help="Saved combined pipeline"),
    output_json: Optional[Path] = typer.Option(None, "--json", help="JSON output (default: OUTPUT_MD with .json)"),
    threads: int = typer.Option(0, "--threads", help="torch threads (0: leave torch's default)"),
):
    """Compare raw transformers / hf_token_pipe / medner (/ combined) on the paragraphs of TEXTS_PATH."""
    if threads > 0:
        import torch

        torch.set_num_threads(threads)
    texts = read_paragraphs(texts_path)
    if not texts:
        raise typer.BadParameter(f"no text in {texts_path}")
    output_json = output_json or output_md.with_suffix(".json")
    command = " ".join(["python", *sys.argv])
    result = write_comparison(model_dir, texts, output_md, output_json, combined, command, texts_path)
    s = result["summary"]
    msg = ", ".join(f"{name}: {v['entities']} ents / {v['fragments']} fragments" for name, v in s.items())
    typer.echo(f"{msg}; hf_token_pipe dropped {s['hf_token_pipe']['dropped_vs_raw']}")
    typer.echo(f"Wrote {output_md} and {output_json}")


if __name__ == "__main__":
    app()

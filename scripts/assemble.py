"""Assemble one spaCy pipeline from a config: sourced spaCy NER components + HF token classifier + merge.

    python scripts/assemble.py configs/combined_clinical.cfg training/combined_clinical \\
        --paths.ner_model training/maccrobat_cnn/model-best \\
        --paths.hf_model training/maccrobat_hf/model

Any ``--section.key value`` override is applied to the config (as in
``spacy assemble``). The work is :func:`medner.ner.assembly.assemble`.
"""
from pathlib import Path

import typer
from spacy import util
from wasabi import msg

from medner.ner.assembly import assemble, parse_overrides

app = typer.Typer(add_completion=False)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def main(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Pipeline config"),
    output_dir: Path = typer.Argument(..., help="Where to write the assembled pipeline"),
):
    """Assemble the pipeline of CONFIG_PATH into OUTPUT_DIR (overrides: --paths.ner_model X ...)."""
    try:
        overrides = parse_overrides(ctx.args)
        nlp = assemble(config_path, output_dir, overrides)
    except (FileNotFoundError, ValueError) as err:
        msg.fail(str(err), exits=1)
    sourced = util.get_sourced_components(util.load_config(config_path, overrides=overrides, interpolate=True))
    for name, pipe in nlp.pipeline:
        labels = getattr(pipe, "labels", ())
        origin = f"sourced from {sourced[name]['source']}" if name in sourced else "initialised"
        msg.info(f"{name} ({origin}): {len(labels)} labels")
    msg.good(f"Saved pipeline {nlp.pipe_names} to {output_dir}")


if __name__ == "__main__":
    app()

"""Assemble one spaCy pipeline from a config: sourced spaCy NER components + HF token classifier + merge.

    python scripts/assemble.py configs/combined_clinical.cfg training/combined_clinical \\
        --paths.ner_model training/maccrobat_cnn/model-best \\
        --paths.hf_model training/maccrobat_hf/model

Any ``--section.key value`` override is applied to the config (as in
``spacy assemble``). Sourced components (``source = ...``) keep their trained
weights and are not re-initialised; the other components are initialised
(``hf_token_classifier`` loads its model from ``model_dir``). The model
weights are copied into the output directory, so the result loads with
``spacy.load`` without the source directories and without network.
"""
from pathlib import Path
from typing import Optional

import typer
from spacy import util
from spacy.cli._util import parse_config_overrides
from wasabi import msg

app = typer.Typer(add_completion=False)


def assemble(config_path: Path, output_dir: Path, overrides: Optional[dict] = None):
    """Build the pipeline described by ``config_path`` and save it to ``output_dir``; return it."""
    import medner.components  # noqa: F401  (registers the scorer; factories come via entry points)
    import medner.components.hf_token_classifier  # noqa: F401
    import medner.components.merge  # noqa: F401
    import medner.components.stash  # noqa: F401
    import medner.tokenizer  # noqa: F401

    config = util.load_config(config_path, overrides=overrides or {}, interpolate=False)
    interpolated = config.interpolate()
    for key, path in interpolated.get("paths", {}).items():
        if isinstance(path, str) and key.endswith("_model") and not Path(path).exists():
            raise FileNotFoundError(f"paths.{key} does not exist: {path}")
    nlp = util.load_model_from_config(config, auto_fill=True, validate=True)
    sourced = util.get_sourced_components(interpolated)
    with nlp.select_pipes(disable=[*sourced]):
        nlp.initialize()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output_dir)
    return nlp


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def main(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Pipeline config"),
    output_dir: Path = typer.Argument(..., help="Where to write the assembled pipeline"),
):
    """Assemble the pipeline of CONFIG_PATH into OUTPUT_DIR (overrides: --paths.ner_model X ...)."""
    overrides = parse_config_overrides(ctx.args)
    try:
        nlp = assemble(config_path, output_dir, overrides)
    except FileNotFoundError as err:
        msg.fail(str(err), exits=1)
    sourced = util.get_sourced_components(util.load_config(config_path, overrides=overrides, interpolate=True))
    for name, pipe in nlp.pipeline:
        labels = getattr(pipe, "labels", ())
        origin = f"sourced from {sourced[name]['source']}" if name in sourced else "initialised"
        msg.info(f"{name} ({origin}): {len(labels)} labels")
    msg.good(f"Saved pipeline {nlp.pipe_names} to {output_dir}")


if __name__ == "__main__":
    app()

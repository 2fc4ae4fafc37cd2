"""Save a pipeline (a directory or an installed package) with config overrides in spaCy's dot notation:

    python scripts/configure_pipeline.py en_medner_bc5cdr_cnn_fast out/bc5cdr \
        --components.medner_linker.label_thresholds '{"CHEMICAL": 0.9}'
"""
from pathlib import Path

import spacy
import typer
from spacy.cli._util import parse_config_overrides
from wasabi import msg


def main(ctx: typer.Context, source: str = typer.Argument(..., help="Pipeline directory or installed package name"),
         output: Path = typer.Argument(..., help="Where the configured pipeline is saved")):
    overrides = parse_config_overrides(ctx.args)
    try:
        # saved once first: its config.cfg then lists every setting (a packaged config lacks those added
        # to a component since it was built, and spaCy overrides only settings the config lists)
        output.parent.mkdir(parents=True, exist_ok=True)
        spacy.load(source).to_disk(output)
        nlp = spacy.load(output, config=overrides)
    except (OSError, ValueError) as err:
        msg.fail(f"cannot load {source} with {overrides}: {' '.join(str(err).split())}", exits=1)
    nlp.to_disk(output)
    msg.good(f"Wrote {output} ({', '.join(f'{k} = {v!r}' for k, v in overrides.items()) or 'no overrides'})")


if __name__ == "__main__":
    app = typer.Typer(add_completion=False)
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(main)
    app()

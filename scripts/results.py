"""Render the README tables (results, ablation, benchmark, shipped pipelines) from metrics/ and a release: medner.release.tables."""
from pathlib import Path
from typing import Optional

import typer

from medner.release.tables import render_results, render_release


def main(
    metrics_dir: Path = typer.Argument(Path("metrics")),
    readme: Path = typer.Argument(Path("README.md")),
    published_path: Path = typer.Option(Path("configs/published_scores.json"), "--published"),
    release: Optional[Path] = typer.Option(None, "--release", help="releases/<version>: render its manifests into --shipped"),
    shipped: Optional[Path] = typer.Option(None, "--shipped", help="File with <!-- shipped:start/end --> markers (the README)"),
):
    render_results(metrics_dir, readme, published_path)
    if release is not None and shipped is not None:
        render_release(release, shipped)


if __name__ == "__main__":
    typer.run(main)

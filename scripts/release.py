"""Cut a release: the shipped pipelines' wheels, checked in a clean venv, under releases/<version>/ (medner.release.cut).

    python scripts/release.py configs/release.yml
"""
from pathlib import Path

import typer

from medner.release.cut import cut_release


def main(
    config_path: Path = typer.Argument(Path("configs/release.yml"), exists=True),
    releases_dir: Path = typer.Option(Path("releases"), "--releases"),
    packages_dir: Path = typer.Option(Path("packages"), "--packages"),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus"),
    constraints: Path = typer.Option(Path("constraints.txt"), "--constraints", exists=True),
):
    cut_release(config_path, releases_dir, packages_dir, corpus_dir, constraints, Path(__file__).with_name("package.py"))


if __name__ == "__main__":
    typer.run(main)

"""Cut a release: the shipped pipelines' wheels, committed under releases/<version>/.

For each pipeline in configs/release.yml: build its wheel (scripts/package.py),
then install ALL wheels by name into a clean venv that has only the project's
spaCy (``pip install --no-index --find-links releases/<version>``), check that
spaCy was not replaced and that no torch came along, and evaluate each
installed pipeline on its official test set there. The manifest of each
pipeline holds the scores of exactly these artefacts; SHA256SUMS and a README
sit beside the wheels. The release is refused if it would exceed the size
budget, or if the version already exists (a release is re-cut only when it
gets better: bump the version).
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

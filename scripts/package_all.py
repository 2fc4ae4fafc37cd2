"""Build the pipeline wheels listed in configs/packages.yml: one scripts/package.py run per entry
(medner.release.packages)."""
import subprocess
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from medner.release.packages import PackagesError, load_packages, package_command, select_packages


def main(
    config_path: Path = typer.Argument(Path("configs/packages.yml")),
    version: str = typer.Option(..., "--version", help="Version of the wheels (project.yml's vars.version)"),
    only: Optional[str] = typer.Option(None, "--packages", help="Comma-separated package names (default: all)"),
):
    try:
        config = load_packages(config_path)
        names = select_packages(config, only, config_path)
    except PackagesError as err:
        msg.fail(str(err), exits=1)
    for name in names:
        msg.divider(name)
        subprocess.run(package_command(name, config, version), check=True)
    msg.good(f"Built {len(names)} pipeline wheels from {config_path}")


if __name__ == "__main__":
    typer.run(main)

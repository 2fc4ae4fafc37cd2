"""Build the pipeline wheels listed in configs/packages.yml: one scripts/package.py run per entry.

The list lives in a config so that one project.yml command builds every wheel
and is the only writer of the sizes record (metrics/packages.json).
"""
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import srsly
import typer
from pydantic import BaseModel, ConfigDict, ValidationError
from wasabi import msg

PACKAGE_SCRIPT = Path(__file__).resolve().parent / "package.py"


class PackageEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    dataset: str
    metrics: str
    description: str


class PackagesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    output_dir: str = "packages"
    record: str = "metrics/packages.json"
    packages: Dict[str, PackageEntry]


def load_packages(path: Path) -> PackagesConfig:
    if not path.is_file():
        msg.fail(f"No packages config at {path}", exits=1)
    try:
        return PackagesConfig(**srsly.read_yaml(path))
    except ValidationError as err:
        first = err.errors()[0]
        msg.fail(f"{path}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}", exits=1)


def package_command(name: str, entry: PackageEntry, config: PackagesConfig, version: str) -> List[str]:
    """The scripts/package.py call that builds one wheel."""
    return [sys.executable, str(PACKAGE_SCRIPT), entry.model, name, config.output_dir, "--dataset", entry.dataset,
            "--metrics", entry.metrics, "--version", version, "--description", entry.description,
            "--record", config.record]


def main(
    config_path: Path = typer.Argument(Path("configs/packages.yml")),
    version: str = typer.Option(..., "--version", help="Version of the wheels (project.yml's vars.version)"),
    only: Optional[str] = typer.Option(None, "--packages", help="Comma-separated package names (default: all)"),
):
    config = load_packages(config_path)
    names = list(config.packages)
    if only:
        wanted = [name.strip() for name in only.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in config.packages]
        if unknown:
            msg.fail(f"Unknown package(s) {', '.join(unknown)}; {config_path} has: {', '.join(names)}", exits=1)
        names = [name for name in names if name in wanted]
    for name in names:  # every pipeline must exist before the first wheel is built
        if not Path(config.packages[name].model).is_dir():
            msg.fail(f"Package {name}: no pipeline directory {config.packages[name].model} (train or assemble it first)",
                     exits=1)
    for name in names:
        msg.divider(name)
        subprocess.run(package_command(name, config.packages[name], config, version), check=True)
    msg.good(f"Built {len(names)} pipeline wheels from {config_path}")


if __name__ == "__main__":
    typer.run(main)

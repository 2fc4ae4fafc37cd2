"""configs/packages.yml: the pipeline wheels one ``package`` command builds, one ``scripts/package.py`` call each.

The list lives in a config so that one project.yml command builds every wheel
and is the only writer of the sizes record (metrics/packages.json).
"""
import sys
from pathlib import Path
from typing import Dict, List, Optional

import srsly
from pydantic import BaseModel, ConfigDict, ValidationError

PACKAGE_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "package.py"


class PackagesError(ValueError):
    """A mistake in the packages config or the command line: reported as one line."""


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
        raise PackagesError(f"No packages config at {path}")
    try:
        return PackagesConfig(**srsly.read_yaml(path))
    except ValidationError as err:
        first = err.errors()[0]
        raise PackagesError(f"{path}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


def select_packages(config: PackagesConfig, only: Optional[str], config_path: Path) -> List[str]:
    """The package names to build (``--packages a,b`` or all); every pipeline must exist before the first wheel."""
    names = list(config.packages)
    if only:
        wanted = [name.strip() for name in only.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in config.packages]
        if unknown:
            raise PackagesError(f"Unknown package(s) {', '.join(unknown)}; {config_path} has: {', '.join(names)}")
        names = [name for name in names if name in wanted]
    for name in names:
        if not Path(config.packages[name].model).is_dir():
            raise PackagesError(f"Package {name}: no pipeline directory {config.packages[name].model} "
                                "(train or assemble it first)")
    return names


def package_command(name: str, config: PackagesConfig, version: str) -> List[str]:
    """The scripts/package.py call that builds one wheel."""
    entry = config.packages[name]
    return [sys.executable, str(PACKAGE_SCRIPT), entry.model, name, config.output_dir, "--dataset", entry.dataset,
            "--metrics", entry.metrics, "--version", version, "--description", entry.description,
            "--record", config.record]

"""The package record of metrics/packages.json: wheel size and the metrics a pipeline was scored with (used by scripts/package.py)."""
from pathlib import Path

import srsly

from medner.bench.timing import directory_size_mb


def record_package(record: Path, package: str, model_dir: Path, wheel: Path, version: str) -> None:
    """Add this package's sizes to the JSON the README quotes (one entry per package, replaced on rebuild)."""
    packages = srsly.read_json(record) if record.exists() else {}
    packages[package] = {"model": str(model_dir), "version": version, "wheel": wheel.name,
                         "wheel_mb": round(wheel.stat().st_size / 2**20, 1), "on_disk_mb": round(directory_size_mb(model_dir), 1)}
    record.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(record, dict(sorted(packages.items())))


def metric_summary(path: Path) -> dict:
    record = srsly.read_json(path)
    return {k: record.get(k) for k in ("dataset", "precision", "recall", "f1", "per_label", "words_per_second")}

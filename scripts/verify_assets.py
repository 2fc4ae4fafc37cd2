"""Check every file under assets/ against assets/checksums.md5 (offline, no download)."""
import hashlib
from pathlib import Path

import typer
from wasabi import msg


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as file_:
        for block in iter(lambda: file_.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main(checksums: Path = typer.Argument(Path("assets/checksums.md5"), exists=True, dir_okay=False)):
    root = checksums.parent
    bad, missing, n = [], [], 0
    for line_no, line in enumerate(checksums.read_text(encoding="utf8").splitlines(), start=1):
        if not line.strip():
            continue
        expected, _, name = line.partition("  ")
        path = root / name
        n += 1
        if not path.exists():
            missing.append(name)
        elif md5(path) != expected:
            bad.append(name)
    for name in missing:
        msg.fail(f"missing: {root / name}")
    for name in bad:
        msg.fail(f"checksum mismatch: {root / name}")
    if bad or missing:
        msg.fail(f"{len(bad) + len(missing)} of {n} asset files failed verification", exits=1)
    msg.good(f"All {n} asset files match {checksums}")


if __name__ == "__main__":
    typer.run(main)

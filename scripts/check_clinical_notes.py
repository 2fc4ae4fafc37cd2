"""Check the clinical-notes regression set (every record valid, errors named by line) and print its counts;
with --readme, write the counts into the README's <!-- counts:start --> ... <!-- counts:end --> block."""
import re
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from medner.corpus.notes import NotesError, count_notes, counts_table, read_records

BLOCK = re.compile(r"(<!-- counts:start -->\n).*?(<!-- counts:end -->)", re.S)


def main(
    notes_path: Path = typer.Argument(Path("assets/clinical_notes/notes.jsonl"), dir_okay=False),
    readme: Optional[Path] = typer.Option(None, "--readme", dir_okay=False, help="Rewrite this README's counts block"),
):
    try:
        records = read_records(notes_path)
    except NotesError as err:
        msg.fail(str(err), exits=1)
    table = counts_table(count_notes(records))
    print(table)
    if readme is not None:
        text = readme.read_text(encoding="utf8")
        if not BLOCK.search(text):
            msg.fail(f"{readme} has no <!-- counts:start --> ... <!-- counts:end --> block", exits=1)
        readme.write_text(BLOCK.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text), encoding="utf8")
        msg.good(f"Wrote the counts into {readme}")
    msg.good(f"{notes_path}: {len(records)} valid records")


if __name__ == "__main__":
    typer.run(main)

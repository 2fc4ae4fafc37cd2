"""Render the accuracy round-two table (docs/accuracy.md) from metrics/accuracy/*.json and metrics/train__*.json.

One row per pipeline of configs/evaluation_accuracy.yml: dev and test F1 on each
corpus it was scored on, per-label F1, training time, words/s on test. The
table goes between the ``<!-- accuracy-table -->`` markers of the document.
"""
import re
from pathlib import Path
from typing import List, Optional

import srsly
import typer
from wasabi import msg

from medner.evaluation.matrix import MatrixError, load_matrix, matrix_cells

START, END = "<!-- accuracy-table -->", "<!-- /accuracy-table -->"


def _f1(record: Optional[dict], label: Optional[str] = None) -> str:
    if record is None:
        return "–"
    if label is None:
        return f"{record['f1']:.2f}"
    score = record["per_label"].get(label)
    return f"{score['f']:.2f}" if score else "–"


def render(config: Path, metrics_root: Path) -> str:
    matrix = load_matrix(config)
    cells = matrix_cells(matrix)
    lines = ["| pipeline | scored on | labels | dev F1 | test F1 | CHEMICAL dev / test | DISEASE dev / test | train min | test words/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for pipeline in matrix.pipelines:
        own = [c for c in cells if c.pipeline == pipeline]
        train_file = metrics_root / f"train__{pipeline}.json"
        train = srsly.read_json(train_file) if train_file.exists() else None
        seconds = ((train or {}).get("time") or {}).get("seconds")
        corpora: List[str] = []
        for cell in own:
            corpus = cell.test_set[:-4] if cell.test_set.endswith("_dev") else cell.test_set
            if corpus not in corpora:
                corpora.append(corpus)
        for corpus in corpora:
            records = {}
            for split, test_set in (("dev", f"{corpus}_dev"), ("test", corpus)):
                path = Path(matrix.metrics_dir) / f"{pipeline}__{test_set}.json"
                records[split] = srsly.read_json(path) if path.exists() else None
            any_record = records["test"] or records["dev"]
            labels = ", ".join(any_record["labels_scored"] or any_record["per_label"]) if any_record else "–"
            per_label = [f"{_f1(records['dev'], label)} / {_f1(records['test'], label)}" for label in ("CHEMICAL", "DISEASE")]
            speed = f"{records['test']['words_per_second']:,}" if records["test"] else "–"
            lines.append(f"| {pipeline} | {corpus} | {labels} | {_f1(records['dev'])} | {_f1(records['test'])} | "
                         f"{' | '.join(per_label)} | {seconds / 60:.1f} | {speed} |" if seconds is not None else
                         f"| {pipeline} | {corpus} | {labels} | {_f1(records['dev'])} | {_f1(records['test'])} | "
                         f"{' | '.join(per_label)} | – | {speed} |")
    return "\n".join(lines)


def main(
    document: Path = typer.Argument(..., help="Markdown file with the table markers"),
    config: Path = typer.Option(Path("configs/evaluation_accuracy.yml"), "--config"),
    metrics_root: Path = typer.Option(Path("metrics"), "--metrics-root", help="Where train__<pipeline>.json live"),
):
    try:
        table = render(config, metrics_root)
    except MatrixError as err:
        msg.fail(str(err), exits=1)
    text = document.read_text(encoding="utf8") if document.exists() else ""
    if START not in text or END not in text:
        msg.fail(f"{document} has no {START} ... {END} block to fill", exits=1)
    text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: f"{START}\n{table}\n{END}", text, flags=re.S)
    document.write_text(text, encoding="utf8")
    print(table)
    msg.good(f"Table written into {document}")


if __name__ == "__main__":
    typer.run(main)

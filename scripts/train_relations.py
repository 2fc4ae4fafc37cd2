"""Train medner_relations on BC5CDR (chemical-induced disease) or PHEE (drug -> adverse effect).

Fits on train, chooses the threshold on dev (on PIPELINE's entities when given,
as the component will see them in use), refits on train + dev and writes a
small pipeline (medner's tokenizer + medner_relations) to OUTPUT_DIR, to be
sourced after a NER pipeline (configs/relations_bc5cdr.cfg).
"""
from pathlib import Path
from typing import Optional

import srsly
import typer
from wasabi import msg

from medner.corpus.records import CorpusFormatError
from medner.relations.training import CORPORA, train_relations


def main(
    corpus: str = typer.Argument(..., help=f"one of {sorted(CORPORA)}"),
    asset_dir: Path = typer.Argument(..., exists=True, file_okay=False),
    output_dir: Path = typer.Argument(..., help="Pipeline directory to write"),
    record: Path = typer.Option(..., "--record", help="JSON: dev grid, chosen settings, reader counts"),
    pipeline: Optional[str] = typer.Option(None, "--pipeline", help="NER + linker pipeline whose dev entities choose the threshold"),
):
    if corpus not in CORPORA:
        msg.fail(f"corpus must be one of {sorted(CORPORA)}, not {corpus!r}", exits=1)
    try:
        nlp, report = train_relations(corpus, asset_dir, pipeline)
    except (CorpusFormatError, FileNotFoundError, OSError, ValueError) as err:
        msg.fail(str(err), exits=1)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output_dir)
    record.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(record, report)
    best = max(report["dev_grid"], key=lambda row: row["f"])
    msg.good(f"{corpus}: dev F1 {best['f']} with {report['chosen']} ({report['features']} features); "
             f"wrote {output_dir} and {record}")


if __name__ == "__main__":
    typer.run(main)

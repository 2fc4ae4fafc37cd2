"""Build the linker's knowledge base (MEDIC + MeSH descriptors + gold-ID training mentions) into a directory."""
import json
import time
from pathlib import Path
from typing import List

import typer
from wasabi import msg

from medner.bench.timing import directory_size_mb
from medner.linking.kb import KnowledgeBase, load_vocabulary
from medner.ner.vocab.sources import VocabularyFormatError, read_training_mentions


def main(
    output_dir: Path = typer.Argument(..., help="Directory to write the KB to"),
    medic: Path = typer.Option(Path("assets/vocab/medic_06Jul2012.txt"), exists=True, dir_okay=False),
    mesh: Path = typer.Option(Path("assets/vocab/mesh_descriptors.tsv"), exists=True, dir_okay=False),
    mentions: List[str] = typer.Option(["bc5cdr:assets/bc5cdr:train", "ncbi_disease:assets/ncbi_disease:train"], "--mentions",
                                       help="DATASET:ASSET_DIR:SPLIT[+SPLIT] whose gold-ID mentions become names"),
    drugs: Path = typer.Option(None, "--drugs", exists=True, dir_okay=False,
                               help="drug-named-entity-recognition's dictionary: drug names (and DrugBank IDs) join the KB"),
    record: Path = typer.Option(None, "--record", help="Also write build time and size to this JSON file"),
):
    started = time.perf_counter()

    def training():
        for spec in mentions:
            dataset, asset_dir, splits = spec.split(":")
            yield from read_training_mentions(dataset, asset_dir, tuple(splits.split("+")))

    try:
        vocab, added, left_out = load_vocabulary(medic, mesh, drugs)
        if drugs:
            msg.info(f"{added:,} drugs added, {left_out:,} without a MeSH or DrugBank ID left out")
        kb = KnowledgeBase.build(vocab, training(), meta={"medic": str(medic), "mesh": str(mesh), "drugs": str(drugs or ""),
                                                          "drugs_left_out_without_id": left_out, "mentions": list(mentions)})
    except VocabularyFormatError as err:
        msg.fail(str(err), exits=1)
    kb.to_disk(output_dir)
    seconds = round(time.perf_counter() - started, 2)
    size = directory_size_mb(output_dir)
    result = {"kb": str(output_dir), "concepts": len(kb), "names": len(kb.names), "types": kb.types,
              "ngrams": len(kb.tfidf.ngrams), "build_seconds": seconds, "size_mb": round(size, 2),
              "mentions": list(mentions)}
    if record:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(result, indent=2) + "\n", encoding="utf8")
    msg.good(f"KB {output_dir}: {len(kb):,} concepts, {len(kb.names):,} names, {size:.2f} MB, built in {seconds} s")


if __name__ == "__main__":
    typer.run(main)

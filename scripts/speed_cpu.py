"""Words per CPU second and load time of pipelines, side by side: a speed comparison that holds on a shared machine.

Wall-clock words/s moves with whatever else runs on the cores; the CPU time this
process spends in ``nlp.pipe`` does not (much). Each pipeline is run
``--repeats`` times over the same texts; the best run counts. Also records the
load time and the size on disk (the dictionary of ``medner_vocab_features`` included).
"""
import time
from pathlib import Path
from typing import List

import spacy
import srsly
import typer
from wasabi import msg

from medner.bench.timing import count_words, directory_size_mb, gold_texts, loadavg, machine_info


def main(
    output: Path = typer.Argument(..., help="JSON record"),
    gold: Path = typer.Option(..., "--gold", exists=True, dir_okay=False, help="Texts from this .spacy file"),
    pipelines: List[str] = typer.Option(..., "--pipeline", help="NAME=DIRECTORY (repeatable)"),
    n_docs: int = typer.Option(200, "--n-docs"),
    batch_size: int = typer.Option(64, "--batch-size"),
    repeats: int = typer.Option(3, "--repeats"),
):
    texts = gold_texts(gold, n_docs)
    words = count_words(texts)
    results = {}
    for item in pipelines:
        name, sep, path = item.partition("=")
        if not sep or not Path(path).is_dir():
            msg.fail(f"--pipeline wants NAME=DIRECTORY with an existing directory, got {item!r}", exits=1)
        wall, cpu = time.perf_counter(), time.process_time()
        nlp = spacy.load(path)
        load = {"load_seconds": round(time.perf_counter() - wall, 2), "load_cpu_seconds": round(time.process_time() - cpu, 2)}
        runs = []
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            for _doc in nlp.pipe(texts, batch_size=batch_size):
                pass
            runs.append((time.process_time() - cpu, time.perf_counter() - wall))
        best_cpu = min(cpu for cpu, _ in runs)
        best_wall = min(w for _, w in runs)
        results[name] = {
            "path": path, "pipe_names": nlp.pipe_names, **load,
            "size_mb": round(directory_size_mb(Path(path)), 2),
            "words_per_cpu_second": round(words / best_cpu), "words_per_second_wall": round(words / best_wall),
            "cpu_seconds_runs": [round(cpu, 2) for cpu, _ in runs],
        }
        msg.info(f"{name}: {results[name]['words_per_cpu_second']:,} words/CPU s, "
                 f"{results[name]['words_per_second_wall']:,} words/s wall, load {load['load_seconds']} s, "
                 f"{results[name]['size_mb']} MB")
        del nlp
    record = {"gold": str(gold), "docs": len(texts), "words": words, "batch_size": batch_size, "repeats": repeats,
              "loadavg_after": loadavg(), "machine": machine_info(), "pipelines": results}
    output.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(output, record)
    msg.good(f"Wrote {output}")


if __name__ == "__main__":
    typer.run(main)

"""Words per second of a pipeline with and without its medner_assertion component, side by side.

Both are timed in one process on the same texts, alternating runs, and the
best run of each counts (as ``timeit`` does): on a shared machine the other
runs measure the neighbours. The component alone (on docs the NER already
processed) is timed too.
"""
import gc
import time
from pathlib import Path
from typing import List

import spacy
import srsly
import typer
from spacy.tokens import DocBin
from wasabi import msg


def words_in(docs) -> int:
    return sum(1 for doc in docs for token in doc if not token.is_space)


def main(
    pipeline_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Pipeline with the assertion component"),
    texts_path: Path = typer.Argument(..., exists=True, dir_okay=False, help=".spacy file whose texts are annotated"),
    output: Path = typer.Argument(..., help="metrics/benchmark_assertion.json"),
    name: str = typer.Option("assertion", "--name", help="The assertion component's name"),
    repeats: int = typer.Option(7, "--repeats"),
    batch_size: int = typer.Option(32, "--batch-size"),
):
    nlp = spacy.load(pipeline_dir)
    if name not in nlp.pipe_names:
        msg.fail(f"{pipeline_dir} has no component {name!r} (it has {', '.join(nlp.pipe_names)})", exits=1)
    texts: List[str] = [doc.text for doc in DocBin().from_disk(texts_path).get_docs(nlp.vocab)]
    n_words = words_in(nlp.make_doc(t) for t in texts)
    list(nlp.pipe(texts[:2]))  # warm-up: lazy loading, first-call costs
    timings = {"with": [], "without": [], "component_only": []}
    component = nlp.get_pipe(name)
    processed = []
    for repeat in range(repeats):
        # Alternate which variant runs first, and start each from a collected heap.
        for variant in (("with", "without") if repeat % 2 == 0 else ("without", "with")):
            gc.collect()
            disabled = [name] if variant == "without" else []
            with nlp.select_pipes(disable=disabled):
                start = time.perf_counter()
                docs = list(nlp.pipe(texts, batch_size=batch_size))
                timings[variant].append(time.perf_counter() - start)
            if variant == "without":
                processed = docs
        gc.collect()
        start = time.perf_counter()
        for doc in processed:
            component(doc)
        timings["component_only"].append(time.perf_counter() - start)
    wps = {k: n_words / min(v) for k, v in timings.items()}
    n_ents = sum(len(doc.ents) for doc in processed)
    result = {
        "pipeline": str(pipeline_dir), "components": nlp.pipe_names, "texts": str(texts_path), "docs": len(texts),
        "words": n_words, "entities": n_ents, "repeats": repeats, "batch_size": batch_size,
        "wps_with_assertion": round(wps["with"]), "wps_without_assertion": round(wps["without"]),
        "wps_assertion_component_only": round(wps["component_only"]),
        "slowdown_percent": round(100 * (wps["without"] / wps["with"] - 1), 1),
        "seconds": {k: [round(x, 3) for x in v] for k, v in timings.items()},
    }
    srsly.write_json(output, result)
    msg.good(f"{n_words} words, {n_ents} entities: {result['wps_without_assertion']} wps without, "
             f"{result['wps_with_assertion']} wps with assertion ({result['slowdown_percent']}% slower); "
             f"component alone {result['wps_assertion_component_only']} wps")


if __name__ == "__main__":
    typer.run(main)

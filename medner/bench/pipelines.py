"""Speed, memory and size of packaged pipelines, side by side in one run (``scripts/benchmark.py``).

Each pipeline runs in its own subprocess (peak memory per pipeline), warms up
on a few texts, then annotates the same fixed gold test texts with
``nlp.pipe`` at each batch size. Words are counted once per text
(``medner.tokenizer.count_text_words``: non-space tokens of the biomedical
tokenizer), the same count for every pipeline. Size is the pipeline directory
on disk and, if built, its wheel (found in metrics/packages.json by the model
directory).
"""
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

from medner.tokenizer import count_text_words
from medner.bench.timing import directory_size_mb, gold_texts, loadavg, machine_info, peak_rss_mb

WARMUP_TEXTS = 5


class BenchmarkError(RuntimeError):
    """A pipeline's subprocess failed: the message names it and ends with its stderr."""


def pipeline_worker(model: str, gold: str, n_docs: int, batch_sizes: List[int], threads: int) -> Dict[str, Any]:
    """Load one pipeline and time ``nlp.pipe`` over the gold texts at each batch size (runs in the subprocess)."""
    import spacy
    import torch

    torch.set_num_threads(threads)
    texts = gold_texts(Path(gold), n_docs)
    start = time.perf_counter()
    nlp = spacy.load(model)
    result = {"load_seconds": round(time.perf_counter() - start, 2), "pipe_names": nlp.pipe_names,
              "words": count_text_words(texts), "docs": len(texts), "runs": {}}
    list(nlp.pipe(texts[:WARMUP_TEXTS]))
    for batch_size in batch_sizes:
        start = time.perf_counter()
        n_ents = sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=batch_size))
        seconds = time.perf_counter() - start
        result["runs"][str(batch_size)] = {"seconds": round(seconds, 2), "entities": n_ents,
                                           "words_per_second": round(result["words"] / seconds)}
    result["peak_rss_mb"] = round(peak_rss_mb())
    return result


def _run_worker(model: str, gold: Path, n_docs: int, batch_sizes: List[int], threads: int) -> Dict[str, Any]:
    args = json.dumps([model, str(gold), n_docs, batch_sizes, threads])
    code = ("import json, sys; from medner.bench.pipelines import pipeline_worker; "
            "print(json.dumps(pipeline_worker(*json.loads(sys.argv[1]))))")
    proc = subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchmarkError(f"{model} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def benchmark_pipelines(pipelines: Dict[str, str], gold: Path, n_docs: int, batch_sizes: List[int], threads: int,
                        packages_record: Path, log=print) -> Dict[str, Any]:
    """``{name: model}`` -> the ``metrics/benchmark.json`` report (without ``command``)."""
    report = {"machine": machine_info(), "gold": str(gold), "n_docs": n_docs, "threads": threads,
              "loadavg_start": loadavg(), "pipelines": {}}
    packages = json.loads(packages_record.read_text(encoding="utf8")) if packages_record.exists() else {}
    for name, model in pipelines.items():
        log(f"{name}: {model} (load {loadavg()})")
        result = _run_worker(model, gold, n_docs, batch_sizes, threads)
        result["model"] = model
        if Path(model).exists():
            result["size_on_disk_mb"] = round(directory_size_mb(Path(model)), 1)
        package = next((entry for entry in packages.values() if entry["model"] == model), None)
        if package:
            result["wheel"], result["wheel_mb"] = package["wheel"], package["wheel_mb"]
        report["pipelines"][name] = result
    report["loadavg_end"] = loadavg()
    return report

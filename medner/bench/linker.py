"""Cost of concept linking: KB build time and size, pipeline load time, peak RSS, mentions per second
(``scripts/benchmark_linker.py``, project command ``benchmark-linker``).

Load time and memory (VmHWM) are measured in fresh subprocesses, so one
measurement does not warm the next: a linker-only pipeline (blank tokenizer +
KB) and the full NER + abbreviations + linker pipeline. Throughput: the linker
alone on every gold BC5CDR test mention, cold cache.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from medner.bench.pipelines import BenchmarkError
from medner.bench.timing import directory_size_mb


def link_worker(pipeline: Path, corpus: Path) -> dict:
    started = time.perf_counter()
    import spacy
    import medner.linking.component  # noqa: F401  (factory, for pipelines loaded without the entry point)
    from spacy.tokens import DocBin

    imported = time.perf_counter()
    # spaCy imports every installed package's registry entry points on the first Language:
    # in this venv that includes spacy-huggingface-pipelines -> transformers (seconds), whatever pipeline is loaded
    spacy.blank("en")
    registries = time.perf_counter()
    rss_before_load = _status_mb("VmRSS")
    nlp = spacy.load(pipeline)
    loaded = time.perf_counter()
    linker = nlp.get_pipe("medner_linker")
    docs = list(DocBin().from_disk(corpus).get_docs(nlp.vocab))
    mentions = sum(len(d.ents) for d in docs)
    link_started = time.perf_counter()
    linker.link_docs(docs)
    link_seconds = time.perf_counter() - link_started
    return {"import_seconds": round(imported - started, 2), "registry_entry_points_seconds": round(registries - imported, 2),
            "load_seconds": round(loaded - registries, 2),
            "mentions": mentions, "link_seconds": round(link_seconds, 2),
            "mentions_per_second": round(mentions / link_seconds) if link_seconds else None,
            "linked": linker.stats["linked"], "nil": linker.stats["nil"],
            "peak_rss_mb": _status_mb("VmHWM"), "rss_before_load_mb": rss_before_load,
            "rss_after_link_mb": _status_mb("VmRSS")}


def _status_mb(field: str) -> float:
    # VmHWM starts fresh at exec; ru_maxrss would carry the parent's peak over (Linux keeps it across execve)
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def best_of(runs: int, pipeline: Path, corpus: Path, threads: int) -> dict:
    """The fastest of ``runs`` fresh workers (the machine is shared: the rest is other jobs' noise), with all runs."""
    results = [_run_worker(pipeline, corpus, threads) for _ in range(runs)]
    best = dict(min(results, key=lambda r: r["load_seconds"] + r["link_seconds"]))
    best["runs"] = [{k: r[k] for k in ("load_seconds", "mentions_per_second", "peak_rss_mb")} for r in results]
    return best


def _run_worker(pipeline: Path, corpus: Path, threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    code = ("import json, sys; from pathlib import Path; from medner.bench.linker import link_worker; "
            "print(json.dumps(link_worker(Path(sys.argv[1]), Path(sys.argv[2]))))")
    out = subprocess.run([sys.executable, "-c", code, str(pipeline), str(corpus)], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise BenchmarkError(f"benchmark worker failed on {pipeline}:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def benchmark_linker(kb_dir: Path, pipeline: Path, corpus: Path, threads: int = 2, runs: int = 3) -> dict:
    """The ``metrics/linking_benchmark.json`` record: KB rebuilt from the assets and loaded from ``kb_dir``,
    best of ``runs`` fresh workers for the linker alone and for ``pipeline``."""
    import spacy
    from medner.linking.component import add_linker
    from medner.linking.kb import KnowledgeBase
    from medner.ner.vocab.sources import read_medic, read_mesh_descriptors, read_training_mentions

    started = time.perf_counter()
    mentions = list(read_training_mentions("bc5cdr", "assets/bc5cdr", ("train", "dev")))
    mentions += list(read_training_mentions("ncbi_disease", "assets/ncbi_disease", ("train", "dev")))
    vocab = list(read_medic("assets/vocab/medic_06Jul2012.txt")) + list(read_mesh_descriptors("assets/vocab/mesh_descriptors.tsv"))
    rebuilt = KnowledgeBase.build(vocab, mentions)
    build_seconds = time.perf_counter() - started
    load_started = time.perf_counter()
    kb = KnowledgeBase.from_disk(kb_dir)
    kb_load_seconds = time.perf_counter() - load_started
    with tempfile.TemporaryDirectory() as tmp:
        blank = spacy.blank("en")
        add_linker(blank, kb, abbreviations=False)
        blank.to_disk(tmp)
        linker_only = best_of(runs, Path(tmp), corpus, threads)
    full = best_of(runs, pipeline, corpus, threads)
    result = {
        "kb": str(kb_dir), "kb_size_mb": round(directory_size_mb(kb_dir), 2),
        "kb_files_mb": {p.name: round(p.stat().st_size / 2**20, 2) for p in sorted(kb_dir.iterdir())},
        "kb_build_seconds": round(build_seconds, 2), "kb_load_seconds": round(kb_load_seconds, 2),
        "kb_concepts": len(rebuilt), "kb_names": len(rebuilt.names),
        "linker_only": linker_only, "pipeline": str(pipeline), "ner_and_linker": full,
        "pipeline_size_mb": round(directory_size_mb(pipeline), 2), "threads": threads, "cpus": os.cpu_count(),
        "goals": {"load_seconds": 3.0, "peak_rss_mb": 1024, "mentions_per_second": 2000},
        "load_average_1min": round(os.getloadavg()[0], 1),
        "note": "measured on a shared 2-core machine while other jobs ran (load average above); best of `runs` fresh "
                "workers per pipeline (all runs listed); times are upper bounds. "
                "load_seconds is spacy.load after spaCy's one-off import of all installed registry entry points "
                "(registry_entry_points_seconds, paid by any pipeline in this venv); rss_before_load_mb is the process "
                "after those imports (spacy-huggingface-pipelines pulls in torch/transformers here), so the "
                "pipeline's own memory is rss_after_link_mb - rss_before_load_mb",
    }
    return result

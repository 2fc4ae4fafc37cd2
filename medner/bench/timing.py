"""Shared pieces of the benchmark scripts: fixed texts, memory, machine description.

Speed claims in the README come from scripts that time the alternatives side
by side in one run (``scripts/benchmark.py``, ``scripts/benchmark_hf.py``);
each system runs in its own subprocess so peak memory is per system.
"""
import os
import platform
import resource
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (``ru_maxrss`` is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def current_rss_mb() -> Optional[float]:
    try:
        import psutil

        return psutil.Process().memory_info().rss / (1024 * 1024)
    except Exception:  # pragma: no cover - psutil missing
        return None


def loadavg() -> Optional[List[float]]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        return None


def count_words(texts: List[str]) -> int:
    """Whitespace-separated words: the same count for every system, whatever its tokenizer."""
    return sum(len(t.split()) for t in texts)


def gold_texts(gold: Path, n_docs: int) -> List[str]:
    """The first ``n_docs`` texts of a gold ``.spacy`` file (all if ``n_docs`` <= 0)."""
    from spacy.tokens import DocBin

    from medner.tokenizer import blank_biomedical

    texts = [doc.text for doc in DocBin().from_disk(gold).get_docs(blank_biomedical().vocab)]
    if not texts:
        raise ValueError(f"no documents in {gold}")
    return texts[:n_docs] if n_docs > 0 else texts


def machine_info(distributions=("torch", "transformers", "tokenizers", "spacy", "spacy-transformers",
                                "spacy-huggingface-pipelines", "medner")) -> Dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    info: Dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    for dist in distributions:
        try:
            info[dist] = version(dist)
        except PackageNotFoundError:
            info[dist] = None
    return info


def directory_size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / (1024 * 1024)

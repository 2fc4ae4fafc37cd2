"""Speed and memory of one Hugging Face token classifier run four ways, on the same texts.

    python scripts/benchmark_hf.py MODEL_DIR metrics/benchmark_hf.json \\
        --gold corpus/bc5cdr/test.spacy --n-docs 300 --long-docs 3 [--combined PIPELINE_DIR]

Texts: the first ``--n-docs`` documents of ``--gold`` (a DocBin; only
``doc.text`` is used) plus ``--long-docs`` very long documents, each made by
joining consecutive abstracts of the same DocBin (``"\\n\\n"`` between them)
until it has at least ``--long-chars`` characters (default 50,000; far more
than the 512 word pieces a BERT window holds).

Systems (same model directory, same texts, same ``--batch-size`` and overlap):

* ``raw``: ``transformers.pipeline("token-classification",
  aggregation_strategy="simple", stride=STRIDE, batch_size=B)`` over the list
  of texts. Without ``stride`` the 4.x pipeline *silently truncates* every
  text to ``model_max_length`` pieces (``truncation=True``, no error, no
  warning); the worker records this on the first long document
  (``no_stride_probe``) and the timed run passes ``stride`` so that it reads
  the whole text, like the other systems (``--stride``, default 128 = the
  overlap ``hf_token_classifier`` uses by default).
* ``hf_token_pipe``: spacy-huggingface-pipelines with
  ``aggregation_strategy="simple"``, ``stride=STRIDE`` (its default is 16) and
  ``kwargs={"batch_size": B}``, on ``medner.tokenizer.blank_biomedical()``.
* ``medner``: ``blank_biomedical()`` + ``hf_token_classifier``
  (``window=512``, ``stride=STRIDE``, ``batch_size=B``, ``device="cpu"``).
* ``combined`` (with ``--combined``): ``spacy.load(PIPELINE_DIR)`` (CNN
  ``ner`` + ``hf_token_classifier`` + merge); its HF batch size / stride are
  the saved pipeline's.

Each system runs in a fresh subprocess (``torch.set_num_threads(THREADS)``,
``OMP_NUM_THREADS``/``MKL_NUM_THREADS``/``RAYON_NUM_THREADS`` = THREADS) so
the peak resident memory (``ru_maxrss`` of the child) is its own. The child
loads the system, warms up on the first ``--warmup`` texts (not timed), then
times the short texts and the long ones separately. Words = whitespace
tokens of the texts (identical for every system). Per subset the JSON also
has ``entities``, ``mid_word_entities`` (entities starting or ending inside a
word) and ``min_last_entity_end_fraction`` (over the texts, the smallest
``last entity end / text length``: near 0 for a long text means the end of
the text was never read). Load average is recorded
before and after every system: on a shared machine the numbers are only
comparable within one run, and only as far as the load stayed flat.

If medner's component misses the target (within 1.10x of ``raw``'s time and
faster than ``hf_token_pipe``), or with ``--profile always``, ``raw`` and
``medner`` are run once more under cProfile (separate subprocesses, not
timed) and the time per phase (HF tokenizer, model forward, windows,
alignment, spaCy tokenizer, ...) is written to the JSON.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from medner.bench.timing import count_words, current_rss_mb, gold_texts, loadavg, machine_info, peak_rss_mb
from medner.ner.hf.systems import SYSTEM_NAMES as SYSTEMS, make_system, mid_word_count


TARGET_RATIO = 1.10


# --------------------------------------------------------------------------- texts
def load_texts(gold: Path, n_docs: int, long_docs: int, long_chars: int) -> Dict[str, List[str]]:
    """The first ``n_docs`` texts of ``gold`` and ``long_docs`` concatenations of >= ``long_chars`` chars."""
    texts = gold_texts(gold, 0)
    short = texts[: n_docs] if n_docs > 0 else []
    long: List[str] = []
    cursor = 0
    for _ in range(long_docs):
        parts: List[str] = []
        size = 0
        while size < long_chars:
            parts.append(texts[cursor % len(texts)])
            size += len(parts[-1]) + 2
            cursor += 1
        long.append("\n\n".join(parts))
    return {"short": short, "long": long}


# --------------------------------------------------------------------------- worker
def load_system(name: str, spec: Dict[str, Any]):
    """One of :mod:`medner.ner.hf.systems`, with this run's stride and batch size (``combined``: the saved ones)."""
    return make_system(name, spec["model_dir"], combined=spec["combined"], stride=spec["stride"],
                       batch_size=spec["batch_size"])


def worker(spec_path: Path) -> None:
    """Child process: load, warm up, time short and long texts, write the result JSON."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf8"))
    import torch

    torch.set_num_threads(spec["threads"])
    texts = json.loads(Path(spec["texts_path"]).read_text(encoding="utf8"))
    name = spec["system"]
    result: Dict[str, Any] = {"system": name, "threads": torch.get_num_threads(), "loadavg_start": loadavg()}
    profiler = None
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
    t0 = time.perf_counter()
    system = load_system(name, spec)
    result["load_seconds"] = time.perf_counter() - t0
    result["rss_after_load_mb"] = current_rss_mb()
    t0 = time.perf_counter()
    system.predict(texts["short"][: spec["warmup"]] or texts["long"][:1])
    result["warmup_seconds"] = time.perf_counter() - t0
    for subset in ("short", "long"):
        subset_texts = texts[subset]
        if not subset_texts:
            result[subset] = {"docs": 0, "seconds": 0.0, "entities": 0}
            continue
        if profiler is not None:
            profiler.enable()
        t0 = time.perf_counter()
        predictions = system.predict(subset_texts)
        seconds = time.perf_counter() - t0
        if profiler is not None:
            profiler.disable()
        skipped = sum(system.skipped) if name == "hf_token_pipe" else None
        result[subset] = {
            "docs": len(subset_texts),
            "seconds": seconds,
            "entities": sum(len(p) for p in predictions),
            "mid_word_entities": sum(mid_word_count(t, p) for t, p in zip(subset_texts, predictions)),
            "min_last_entity_end_fraction": min(
                (max((e["end"] for e in p), default=0) / max(len(t), 1) for t, p in zip(subset_texts, predictions)),
                default=None,
            ),
        }
        if skipped is not None:
            result[subset]["skipped_annotations"] = skipped
    result["peak_rss_mb"] = peak_rss_mb()
    if name == "raw" and texts["long"] and not profiler:
        result["no_stride_probe"] = _no_stride_probe(system, texts["long"][0])
    result["info"] = system.info
    result["loadavg_end"] = loadavg()
    if profiler is not None:
        result["profile"] = summarize_profile(profiler, system)
    Path(spec["result_path"]).write_text(json.dumps(result, indent=2) + "\n", encoding="utf8")


def _no_stride_probe(system, text: str) -> Dict[str, Any]:
    """What the raw pipeline does with a long text when no ``stride`` is given."""
    import warnings

    from transformers import pipeline

    probe = pipeline("token-classification", model=system.hf_model, tokenizer=system.tokenizer,
                     aggregation_strategy="simple", device=-1)
    tok = system.tokenizer
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    n_pieces = len(enc["input_ids"])
    fits = max(tok.model_max_length - tok.num_special_tokens_to_add(), 1)
    cut_char = int(enc["offset_mapping"][min(fits, n_pieces) - 1][1]) if n_pieces else 0
    out: Dict[str, Any] = {"text_chars": len(text), "text_pieces": n_pieces,
                           "model_max_length": tok.model_max_length,
                           "char_where_truncation_would_cut": cut_char}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ents = probe(text)
        last = max((e["end"] for e in ents), default=0)
        truncated = n_pieces > fits and last <= cut_char
        out.update({"error": None, "warnings": [str(w.message)[:200] for w in caught],
                    "entities": len(ents), "last_entity_end_char": int(last),
                    "fraction_of_text_reached": round(last / max(len(text), 1), 4),
                    "behaviour": "no error: text silently truncated to model_max_length pieces "
                    f"(nothing predicted after char {cut_char} of {len(text)})"
                    if truncated else "whole text processed"})
    except Exception as err:  # pragma: no cover - depends on transformers version
        out.update({"error": f"{type(err).__name__}: {err}"})
    return out


PHASES = {
    # phase name -> list of (file substring, function name); cumulative time of the first match
    "hf_tokenizer": [("tokenization_utils_base.py", "__call__")],
    "model_forward": [("modeling_", "forward")],  # the top-level model's forward has the largest cum time
    "medner.predict (all)": [("ner/hf/component.py", "predict")],
    "medner._predict_doc (alignment, reconcile, BIO)": [("ner/hf/component.py", "_predict_doc")],
    "medner.set_annotations": [("ner/hf/component.py", "set_annotations")],
    "windows.reconcile": [("windows.py", "reconcile")],
    "windows.aggregate_tokens": [("windows.py", "aggregate_tokens")],
    "windows.plan_windows": [("windows.py", "plan_windows")],
    "windows.covering_piece": [("windows.py", "covering_piece")],
    "windows.decode_tag_ids": [("windows.py", "decode_tag_ids")],
    "alignment.piece_to_token": [("alignment.py", "piece_to_token")],
    "alignment.token_char_bounds": [("alignment.py", "token_char_bounds")],
    "spacy make_doc (tokenizer)": [("spacy/language.py", "_ensure_doc")],
    "raw preprocess (tokenize+chunk)": [("pipelines/token_classification.py", "preprocess")],
    "raw _forward": [("pipelines/token_classification.py", "_forward")],
    "raw postprocess (aggregate)": [("pipelines/token_classification.py", "postprocess")],
    "torch DataLoader/collate": [("pipelines/base.py", "inner")],
}


def summarize_profile(profiler, system) -> Dict[str, Any]:
    """Cumulative seconds per phase plus the top functions by cumulative and by own time."""
    import pstats

    stats = pstats.Stats(profiler)
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in raw.values())
    phases: Dict[str, float] = {}
    for phase, patterns in PHASES.items():
        best = 0.0
        for (filename, _, func), (_, _, _, ct, callers) in raw.items():
            for needle, fname in patterns:
                if func == fname and needle in filename.replace("\\", "/"):
                    best = max(best, ct)
        if best:
            phases[phase] = round(best, 3)

    def top(key_index: int, n: int = 25):
        rows = sorted(raw.items(), key=lambda kv: -kv[1][key_index])[:n]
        return [
            {"function": f"{Path(f).name}:{line}:{func}", "calls": nc, "own_s": round(tt, 3), "cum_s": round(ct, 3)}
            for (f, line, func), (_, nc, tt, ct, _) in rows
        ]

    return {"total_own_seconds": round(total, 3), "phases_cumulative_s": phases,
            "top_cumulative": top(3), "top_own": top(2)}


# --------------------------------------------------------------------------- parent
def run_child(system: str, spec: Dict[str, Any], workdir: Path, threads: int, timeout: float) -> Dict[str, Any]:
    spec = dict(spec, system=system, result_path=str(workdir / f"{system}{'_profile' if spec.get('profile') else ''}.json"))
    spec_path = workdir / f"spec_{system}{'_profile' if spec.get('profile') else ''}.json"
    spec_path.write_text(json.dumps(spec), encoding="utf8")
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
        env[var] = str(threads)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; from medner.bench.hf import worker; worker(Path(sys.argv[1]))", str(spec_path)],
        env=env, capture_output=True, text=True, timeout=timeout,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"system": system, "error": f"exit {proc.returncode}", "stderr_tail": proc.stderr[-3000:],
                "process_wall_seconds": wall}
    result = json.loads(Path(spec["result_path"]).read_text(encoding="utf8"))
    result["process_wall_seconds"] = wall
    return result


def benchmark(
    model_dir: Path,
    output: Path,
    gold: Path,
    n_docs: int = 300,
    long_docs: int = 3,
    long_chars: int = 50_000,
    combined: Optional[Path] = None,
    threads: int = 0,
    batch_size: int = 16,
    stride: int = 128,
    warmup: int = 5,
    systems: str = "raw,hf_token_pipe,medner,combined",
    profile: str = "auto",
    timeout: float = 3600.0,
    command: Optional[str] = None,
) -> Dict[str, Any]:
    threads = threads if threads > 0 else (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    wanted = [s.strip() for s in systems.split(",") if s.strip()]
    unknown = set(wanted) - set(SYSTEMS)
    if unknown:
        raise ValueError(f"unknown systems {sorted(unknown)}; choose from {SYSTEMS}")
    if combined is None:
        wanted = [s for s in wanted if s != "combined"]
    texts = load_texts(gold, n_docs, long_docs, long_chars)
    words = {k: count_words(v) for k, v in texts.items()}
    chars = {k: sum(len(t) for t in v) for k, v in texts.items()}
    report: Dict[str, Any] = {
        "command": command,
        "model_dir": str(model_dir),
        "combined": str(combined) if combined else None,
        "gold": str(gold),
        "settings": {"n_docs": len(texts["short"]), "long_docs": len(texts["long"]), "long_chars": long_chars,
                     "threads": threads, "batch_size": batch_size, "stride": stride, "warmup_texts": warmup,
                     "systems": wanted, "profile": profile},
        "texts": {
            "short": {"docs": len(texts["short"]), "words": words["short"], "chars": chars["short"]},
            "long": {"docs": len(texts["long"]), "words": words["long"], "chars": chars["long"],
                     "chars_each": [len(t) for t in texts["long"]]},
            "total": {"docs": len(texts["short"]) + len(texts["long"]), "words": words["short"] + words["long"],
                      "chars": chars["short"] + chars["long"]},
            "words_definition": "whitespace tokens (str.split) of the same texts, identical for every system",
        },
        "machine": machine_info(),
        "loadavg_start": loadavg(),
        "systems": {},
    }
    spec = {"model_dir": str(Path(model_dir).resolve()),
            "combined": str(Path(combined).resolve()) if combined else None, "threads": threads,
            "batch_size": batch_size, "stride": stride, "warmup": warmup}
    with tempfile.TemporaryDirectory(prefix="benchmark_hf_") as tmp:
        workdir = Path(tmp)
        texts_path = workdir / "texts.json"
        texts_path.write_text(json.dumps(texts), encoding="utf8")
        spec["texts_path"] = str(texts_path)
        for system in wanted:
            print(f"[benchmark_hf] {system} ... (load {loadavg()})", file=sys.stderr, flush=True)
            result = run_child(system, spec, workdir, threads, timeout)
            if "error" not in result:
                secs = result["short"]["seconds"] + result["long"]["seconds"]
                total_words = words["short"] + words["long"]
                result["total"] = {
                    "seconds": secs,
                    "words": total_words,
                    "words_per_second": total_words / secs if secs else None,
                    "entities": result["short"]["entities"] + result["long"]["entities"],
                }
                for subset in ("short", "long"):
                    s = result[subset]
                    s["words"] = words[subset]
                    s["words_per_second"] = words[subset] / s["seconds"] if s["seconds"] else None
                print(f"[benchmark_hf] {system}: {secs:.1f}s, {result['total']['words_per_second']:.0f} words/s, "
                      f"peak {result['peak_rss_mb']:.0f} MB", file=sys.stderr, flush=True)
            else:
                print(f"[benchmark_hf] {system} failed: {result['stderr_tail'][-500:]}", file=sys.stderr, flush=True)
            report["systems"][system] = result
        report["loadavg_end"] = loadavg()
        report["comparison"] = compare_systems(report["systems"])
        hf_info = report["systems"].get("combined", {}).get("info", {}).get("hf")
        if hf_info is not None:
            same = bool(hf_info.get("model_dir")) and Path(hf_info["model_dir"]).resolve() == Path(model_dir).resolve()
            report["comparison"]["combined_uses_same_hf_model"] = same
            if not same:
                report["comparison"]["combined_note"] = (
                    f"the combined pipeline's HF component was assembled from {hf_info.get('model_dir')!r}, not "
                    f"{str(model_dir)!r}: its time is not comparable model-for-model (it also runs the CNN ner)")
        missed = report["comparison"].get("target_met") is False
        if profile == "always" or (profile == "auto" and missed):
            report["profiles"] = {}
            for system in ("raw", "medner"):
                if system in wanted:
                    print(f"[benchmark_hf] profiling {system} ...", file=sys.stderr, flush=True)
                    prof = run_child(system, dict(spec, profile=True), workdir, threads, timeout)
                    report["profiles"][system] = prof.get("profile", prof)
            report["loadavg_after_profiles"] = loadavg()
    report["contention_note"] = _contention_note(report, threads)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf8")
    return report


def compare_systems(systems: Dict[str, Any]) -> Dict[str, Any]:
    ok = {k: v for k, v in systems.items() if "total" in v}
    out: Dict[str, Any] = {"target": f"medner <= {TARGET_RATIO:.2f} x raw time and medner < hf_token_pipe time"}
    secs = {k: v["total"]["seconds"] for k, v in ok.items()}
    if "raw" in secs:
        for k, s in secs.items():
            out[f"{k}_over_raw_time"] = round(s / secs["raw"], 3)
    if "medner" in secs and "raw" in secs:
        out["medner_over_raw_time"] = round(secs["medner"] / secs["raw"], 3)
        for subset in ("short", "long"):
            r, m = ok["raw"][subset]["seconds"], ok["medner"][subset]["seconds"]
            if r:
                out[f"medner_over_raw_time_{subset}"] = round(m / r, 3)
        within = secs["medner"] <= TARGET_RATIO * secs["raw"]
        faster_than_htp = secs["medner"] < secs["hf_token_pipe"] if "hf_token_pipe" in secs else None
        out["within_1.10x_of_raw"] = within
        out["faster_than_hf_token_pipe"] = faster_than_htp
        out["target_met"] = bool(within and (faster_than_htp is not False))
    return out


def _contention_note(report: Dict[str, Any], threads: int) -> str:
    loads = [report.get("loadavg_start"), report.get("loadavg_end")]
    loads += [s.get("loadavg_start") for s in report["systems"].values()]
    loads += [s.get("loadavg_end") for s in report["systems"].values()]
    ones = [l[0] for l in loads if l]
    cpus = report["machine"].get("affinity_cpus") or report["machine"].get("cpu_count") or 1
    if not ones:
        return "load average unavailable"
    hi = max(ones)
    note = f"1-min load average ranged {min(ones):.2f}-{hi:.2f} on {cpus} CPUs with {threads} torch threads per system."
    if hi > 0.75 * cpus:
        note += (" The machine was shared with other work during the run: absolute words/s are pessimistic and the"
                 " ratios between systems are only indicative (each system saw a possibly different load);"
                 " rerun on an idle machine for release numbers.")
    else:
        note += " The machine was essentially idle."
    return note


def summary_lines(report: Dict[str, Any]) -> List[str]:
    """One line per system: seconds, words/s, peak memory, entities (or why it failed)."""
    rows = []
    for name, res in report["systems"].items():
        if "total" in res:
            t = res["total"]
            rows.append(f"{name:14s} {t['seconds']:8.2f}s {t['words_per_second']:9.0f} words/s "
                        f"{res['peak_rss_mb']:7.0f} MB  {t['entities']:6d} ents")
        else:
            rows.append(f"{name:14s} FAILED ({res.get('error')})")
    return rows

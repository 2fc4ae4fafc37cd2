"""Run the bad-input battery over trained pipelines and write a JSON report.

    python scripts/battery.py training/bc5cdr_cnn/model-best en_medner_clinical \\
        --output reports/battery.json

For every pipeline (a path or an installed package name) and every case of
``medner.battery.battery_cases()`` (empty, whitespace, one character, control
characters and NUL, emoji and combining accents, right-to-left text, CRLF and
lone CR, 100k characters without a space, HTML, one repeated token, a
1,000,000-character document) it records ok/failed with the problems found,
seconds, peak RSS and RSS growth, the entities (counts per ``doc.ents`` /
span group and the first few), the ``hf_token_classifier`` statistics, then
whether ``nlp.pipe(n_process=2)`` over all cases up to 200k characters gives
the same entities as one process, and (``--chunked-max-chars``, default
50,000) every case through ``medner.long_text.pipe_chunked``: rejoined docs
must pass the same checks; entities that differ from the one-piece run are
reported per case, and the peak RSS. The cases and checks are the ones
``tests/test_bad_input.py`` runs on tiny pipelines. Exit status 1 if anything
failed.
"""
import json
import platform
import time
from pathlib import Path
from typing import Any, Dict, List

import typer
from wasabi import msg

app = typer.Typer(add_completion=False)
SAMPLE = 10


def summarise_case(result: Dict[str, Any]) -> Dict[str, Any]:
    """A case result for the report: entity counts and a sample instead of every entity."""
    out = {k: v for k, v in result.items() if k not in ("entities", "doc")}
    entities = result.get("entities") or {}
    out["entity_counts"] = {group: len(items) for group, items in entities.items()}
    out["entities_sample"] = {group: [list(e) for e in items[:SAMPLE]] for group, items in entities.items()}
    return out


def run_pipeline(model: str, long_chars: int, no_space_chars: int, multiprocess: bool, chunked_max_chars: int = 0) -> Dict[str, Any]:
    import spacy

    from medner.battery import PeakRSS, battery_cases, failures, run_battery

    entry: Dict[str, Any] = {"model": model}
    start = time.perf_counter()
    try:
        with PeakRSS() as rss:
            nlp = spacy.load(model)
    except Exception as err:  # noqa: BLE001 - reported, the other pipelines still run
        entry.update(ok=False, load_error=f"{type(err).__name__}: {err}")
        return entry
    entry["load_seconds"] = round(time.perf_counter() - start, 3)
    entry["load_rss_mb"] = round(rss.peak_mb, 1)
    entry["pipe_names"] = nlp.pipe_names
    entry["meta"] = {k: nlp.meta.get(k) for k in ("lang", "name", "version")}
    cases = battery_cases(long_chars=long_chars, no_space_chars=no_space_chars)
    if long_chars > nlp.max_length:
        nlp.max_length = long_chars
    report = run_battery(nlp, cases, multiprocess=multiprocess, chunked_max_chars=chunked_max_chars)
    entry["cases"] = {name: summarise_case(result) for name, result in report["cases"].items()}
    if "multiprocess" in report:
        entry["multiprocess"] = report["multiprocess"]
    if "chunked" in report:
        entry["chunked"] = report["chunked"]
    entry["failures"] = failures(report)
    entry["ok"] = report["ok"]
    return entry


@app.command()
def main(
    models: List[str] = typer.Argument(..., help="Pipelines: directories or installed package names"),
    output: Path = typer.Option(Path("reports/battery.json"), "--output", "-o", help="JSON report"),
    long_chars: int = typer.Option(1_000_000, help="Length of the long document (0: leave it out)"),
    no_space_chars: int = typer.Option(100_000, help="Length of the lines without spaces"),
    multiprocess: bool = typer.Option(True, help="Also compare nlp.pipe(n_process=2) with one process"),
    chunked_max_chars: int = typer.Option(
        50_000, help="Also run every case through medner.long_text.pipe_chunked with this --max-chars (0: skip)"
    ),
):
    """Run the bad-input battery over MODELS and write OUTPUT."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    results = []
    for model in models:
        msg.divider(model)
        entry = run_pipeline(model, long_chars, no_space_chars, multiprocess, chunked_max_chars)
        results.append(entry)
        if "load_error" in entry:
            msg.fail(f"could not load {model}: {entry['load_error']}")
            continue
        rows = [
            (
                name,
                "ok" if case["ok"] else "FAILED",
                case["chars"],
                case.get("seconds"),
                case.get("peak_rss_mb"),
                sum(case["entity_counts"].values()),
            )
            for name, case in entry["cases"].items()
        ]
        msg.table(rows, header=("case", "result", "chars", "seconds", "peak RSS MB", "entities"), divider=True)
        if "multiprocess" in entry:
            mp = entry["multiprocess"]
            (msg.good if mp["ok"] else msg.fail)(f"n_process=2 over {len(mp['cases'])} cases: {'same' if mp['ok'] else mp['problems']}")
        if "chunked" in entry:
            ch = entry["chunked"]
            (msg.good if ch["ok"] else msg.fail)(
                f"pipe_chunked(max_chars={ch['max_chars']}): peak RSS {ch.get('peak_rss_mb')} MB, "
                f"entities differing from one piece: {ch['differences'] or 'none'}"
            )
        for problem in entry["failures"]:
            msg.fail(problem)
    report = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "ok": all(e.get("ok") for e in results),
        "pipelines": results,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, ensure_ascii=True) + "\n", encoding="utf8")
    (msg.good if report["ok"] else msg.fail)(f"battery {'passed' if report['ok'] else 'FAILED'}: {output}")
    raise typer.Exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    app()

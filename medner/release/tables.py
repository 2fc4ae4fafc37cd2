"""README tables from the committed JSON (the work of scripts/results.py). Render every metrics/<pipeline>__<dataset>.json into one Markdown table in the README.

The table goes between the README's ``<!-- results:start -->`` and
``<!-- results:end -->`` markers, one section per test set, with the published
reference numbers (configs/published_scores.json) under each, marked as such,
and each pipeline's wheel size from metrics/packages.json (written by
scripts/package.py). The ablation tables come from metrics/ablation__*.json
(scripts/ablate.py).
"""
from pathlib import Path
from typing import Dict, List

import srsly
from wasabi import msg


START, END = "<!-- results:start -->", "<!-- results:end -->"


ABLATION_START, ABLATION_END = "<!-- ablation:start -->", "<!-- ablation:end -->"


BENCHMARK_START, BENCHMARK_END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"


SHIPPED_START, SHIPPED_END = "<!-- shipped:start -->", "<!-- shipped:end -->"


HEADLINE_LABELS = ["CHEMICAL", "MEDICATION", "DISEASE", "SIGN_SYMPTOM", "TREATMENT", "TEST", "PATHOGEN"]


MAX_LABEL_COLUMNS = 6


DATASET_TITLES = {
    "bc5cdr": "BC5CDR test (500 abstracts; CHEMICAL, DISEASE)",
    "ncbi_disease": "NCBI-disease test (100 abstracts; DISEASE)",
    "maccrobat": "MACCROBAT2020 test (20 case reports, seeded split)",
    "maccrobat_clinical": "MACCROBAT2020 test in the clinical schema (20 case reports, seeded split; 11 types)",
    "corona2": "Corona2 test (3 passages, seeded split)",
}


def render(metrics: List[dict], published: Dict[str, list], packages: Dict[str, dict]) -> str:
    wheel_mb = {entry["model"]: entry["wheel_mb"] for entry in packages.values()}
    lines = []
    datasets = sorted({m["dataset"] for m in metrics} | set(published) - {"_about"}, key=lambda d: list(DATASET_TITLES).index(d) if d in DATASET_TITLES else 99)
    for dataset in datasets:
        # pipelines trained on this corpus first, then other corpora's pipelines on their shared labels
        rows = sorted((m for m in metrics if m["dataset"] == dataset), key=lambda m: (bool(m.get("labels_scored")), -m["f1"]))
        labels = sorted({label for m in rows for label in m["per_label"]})
        if len(labels) > MAX_LABEL_COLUMNS:  # MACCROBAT's 41 types: the shared ones here, all in the JSON
            labels = [label for label in HEADLINE_LABELS if label in labels]
        lines.append(f"**{DATASET_TITLES.get(dataset, dataset)}**\n")
        header = ["pipeline", "scored", "P", "R", "F1"] + [f"{label} F1" for label in labels] + ["words/s", "wheel", "source"]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for m in rows:
            per = [f"{m['per_label'][label]['f']:.2f}" if label in m["per_label"] else "" for label in labels]
            lines.append("| " + " | ".join([f"`{m['pipeline']}`", m.get("scored", "ents"), f"{m['precision']:.2f}",
                                            f"{m['recall']:.2f}", f"**{m['f1']:.2f}**", *per,
                                            f"{m['words_per_second']:,}", _size(wheel_mb.get(m.get("model"))),
                                            f"`metrics/{m['_file']}`"]) + " |")
        for ref in published.get(dataset, []):
            per = [f"{ref.get('per_label', {}).get(label, ''):}" for label in labels]
            f1 = f"{ref['f1']:.2f}" if ref.get("f1") is not None else ""
            lines.append("| " + " | ".join([f"{ref['system']} (published)", "", "", "", f1, *per, "", "", ref["source"]]) + " |")
        lines.append("")
    return "\n".join(lines)


def _size(megabytes) -> str:
    return f"{megabytes:.0f} MB" if megabytes is not None else "not packaged"


def _duration(seconds) -> str:
    if seconds is None:
        return "not recorded"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def render_ablations(ablations: List[dict]) -> str:
    """One table per dataset: every system alone and every merge, dev and test F1, training time."""
    lines = []
    for record in ablations:
        systems = ", ".join(f"`{name}` = `{path}`" for name, path in record["systems"].items())
        lines.append(f"**{record['_file']}** ({systems}; best on dev: `{record['selected_on_dev']}`)\n")
        lines.append("| variant | dev F1 | test P | test R | test F1 | training (2 CPU cores) |")
        lines.append("|---|---|---|---|---|---|")
        for name, row in record["rows"].items():
            mark = " **(best on dev)**" if name == record["selected_on_dev"] else ""
            lines.append(f"| `{name}`{mark} | {row['dev']['f1']:.2f} | {row['test']['precision']:.2f} | "
                         f"{row['test']['recall']:.2f} | {row['test']['f1']:.2f} | {_duration(row.get('train_seconds'))} |")
        lines.append("")
    return "\n".join(lines)


def render_benchmark(benchmark: dict) -> str:
    """The packaged-pipeline speed table from scripts/benchmark.py's JSON (one run, all pipelines)."""
    sizes = sorted({b for p in benchmark["pipelines"].values() for b in p["runs"]}, key=int)
    first = next(iter(benchmark["pipelines"].values()))
    lines = [f"{first['docs']} BC5CDR test abstracts ({first['words']:,} words), `nlp.pipe`, "
             f"{benchmark.get('threads')} threads, {benchmark['machine']['cpu_count']} CPUs "
             f"({benchmark['machine'].get('cpu_model', '')}), each pipeline in its own process, "
             f"load average {benchmark['loadavg_start'][0]:.2f} at the start.\n"]
    header = ["pipeline", "components"] + [f"words/s, batch {b}" for b in sizes] + ["peak memory", "on disk", "wheel"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for name, p in benchmark["pipelines"].items():
        wps = [f"{p['runs'][b]['words_per_second']:,}" if b in p["runs"] else "" for b in sizes]
        lines.append("| " + " | ".join([f"`{name}`", ", ".join(p["pipe_names"]), *wps, f"{p['peak_rss_mb']:,} MB",
                                        f"{p['size_on_disk_mb']:.0f} MB", _size(p.get("wheel_mb"))]) + " |")
    return "\n".join(lines) + "\n"


def render_shipped(manifests: List[dict]) -> str:
    """Which shipped pipeline for which text: the release manifests' scores (installed wheels, official test sets)."""
    lines = ["| `--model` | package | for | test set | P | R | F1 | headline labels (F1) | words/s | wheel |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for m in manifests:
        test = m["test"]
        headline = ", ".join(f"{label} {test['per_label'][label]['f']:.1f}" for label in HEADLINE_LABELS
                             if label in test["per_label"])
        lines.append(f"| `{m['short_name']}` | `{m['package']}` | {m['description'].split(':')[0]} | "
                     f"{DATASET_TITLES.get(test['dataset'], test['dataset'])} | {test['precision']:.2f} | "
                     f"{test['recall']:.2f} | **{test['f1']:.2f}** | {headline} | {test['words_per_second']:,} | "
                     f"{m['wheel']['mb']:.1f} MB |")
    return "\n".join(lines) + "\n"


def replace_between(text: str, start: str, end: str, content: str, where: Path) -> str:
    if start not in text or end not in text:
        msg.fail(f"{where} has no {start} ... {end} markers", exits=1)
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{content}\n{end}{tail}"


def render_results(metrics_dir: Path, readme: Path, published_path: Path) -> None:
    """The results, ablation and benchmark tables of ``metrics_dir`` into ``readme``'s markers."""
    metrics = []
    for path in sorted(metrics_dir.glob("*__*.json")):
        record = srsly.read_json(path)
        if "f1" in record and "per_label" in record:  # evaluation output, not a convert report or ablation
            record["_file"] = path.name
            metrics.append(record)
    published = srsly.read_json(published_path) if published_path.exists() else {}
    packages_path = metrics_dir / "packages.json"
    packages = srsly.read_json(packages_path) if packages_path.exists() else {}
    ablations = []
    for path in sorted(metrics_dir.glob("ablation__*.json")):
        record = srsly.read_json(path)
        record["_file"] = path.name
        ablations.append(record)
    text = readme.read_text(encoding="utf8")
    text = replace_between(text, START, END, render(metrics, published, packages), readme)
    text = replace_between(text, ABLATION_START, ABLATION_END, render_ablations(ablations), readme)
    benchmark_path = metrics_dir / "benchmark.json"
    if benchmark_path.exists():
        text = replace_between(text, BENCHMARK_START, BENCHMARK_END, render_benchmark(srsly.read_json(benchmark_path)), readme)
    readme.write_text(text, encoding="utf8")
    msg.good(f"Wrote {len(metrics)} results and {len(ablations)} ablations into {readme}")


def render_release(release: Path, shipped: Path) -> None:
    """The shipped pipelines' table (release manifests) into ``shipped``'s markers."""
    manifests = [srsly.read_json(path) for path in sorted(release.glob("en_medner_*.json"))]
    if not manifests:
        msg.fail(f"{release} has no pipeline manifests: run `spacy project run release`", exits=1)
    order = {"clinical": 0, "bc5cdr": 1, "ncbi": 2}
    manifests.sort(key=lambda m: order.get(m["short_name"], 9))
    page = shipped.read_text(encoding="utf8")
    shipped.write_text(replace_between(page, SHIPPED_START, SHIPPED_END, render_shipped(manifests), shipped),
                       encoding="utf8")
    msg.good(f"Wrote the {len(manifests)} shipped pipelines of {release} into {shipped}")

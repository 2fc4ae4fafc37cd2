"""Convert a dataset into ``.spacy`` files plus an alignment report."""
from pathlib import Path
from typing import Dict, Optional

import srsly
from spacy.language import Language
from spacy.tokens import DocBin
from wasabi import msg

from .align import OUTCOMES, FileReport
from .datasets import DATASETS, SPLITS


def convert_dataset(
    nlp: Language,
    dataset: str,
    asset_dir: Path,
    output_dir: Path,
    strict: bool = False,
    limit: Optional[int] = None,
) -> dict:
    """Write ``output_dir/{train,dev,test}.spacy`` and ``output_dir/report.json``.

    ``limit`` keeps only the first N documents of each split (for quick runs);
    the report says so.
    """
    spec = DATASETS[dataset]
    output_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {"dataset": dataset, "strict": strict, "limit": limit, "splits": {}}
    for split in SPLITS:
        sources = spec.read_split(Path(asset_dir), split)
        if limit is not None:
            sources = sources[:limit]
        docs, file_reports = spec.convert(nlp, sources, strict=strict)
        DocBin(docs=docs, store_user_data=True).to_disk(output_dir / f"{split}.spacy")
        report["splits"][split] = _summarise(file_reports, n_docs=len(docs))
    srsly.write_json(output_dir / "report.json", report)
    return report


def _summarise(file_reports: Dict[str, FileReport], n_docs: int) -> dict:
    files = [r.to_dict() for r in file_reports.values()]
    totals = {o: sum(f[o] for f in files) for o in OUTCOMES}
    source_spans = sum(f["source_spans"] for f in files)
    return {
        "docs": n_docs,
        "source_spans": source_spans,
        **totals,
        "adds_up": sum(totals.values()) == source_spans and all(f["adds_up"] for f in files),
        "kb_ids": {k: sum(f["kb_ids"][k] for f in files) for k in ("source", "kept")},
        **_sum_assertions(files),
        "files": files,
    }


def _sum_assertions(files: list) -> dict:
    # Totals of the per-file attribute accounting (MACCROBAT only).
    with_assertions = [f["assertions"] for f in files if "assertions" in f]
    if not with_assertions:
        return {}
    totals: dict = {"adds_up": all(a["adds_up"] for a in with_assertions)}
    for part in with_assertions:
        for key, value in part.items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[key] = totals.get(key, 0) + value
            elif key in ("attached_to", "values"):
                for name, n in value.items():
                    totals.setdefault(key, {})[name] = totals.get(key, {}).get(name, 0) + n
    return {"assertions": totals}


def print_report(report: dict) -> None:
    """Print one table row per split and file: the outcome counts."""
    header = ["split", "file", "docs", "spans"] + list(OUTCOMES) + ["sum ok"]
    rows = []
    for split, summary in report["splits"].items():
        for f in summary["files"] if len(summary["files"]) <= 10 else []:
            rows.append([split, Path(f["path"]).name, f["docs"], f["source_spans"]]
                        + [f[o] for o in OUTCOMES] + ["yes" if f["adds_up"] else "NO"])
        if len(summary["files"]) > 1:
            rows.append([split, f"(all {len(summary['files'])} files)", summary["docs"], summary["source_spans"]]
                        + [summary[o] for o in OUTCOMES] + ["yes" if summary["adds_up"] else "NO"])
    msg.table(rows, header=header, divider=True)

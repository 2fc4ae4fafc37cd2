"""Compare one Hugging Face token classifier's output run three (or four) ways (the work of scripts/compare_hf.py).

Run one Hugging Face token classifier over the same texts three (or four) ways.

    python scripts/compare_hf.py MODEL_DIR assets/examples/clinical_sentences.txt reports/compare_hf.md \\
        [--combined training/combined_clinical]

Every paragraph of the input file (blocks separated by blank lines) is one
text, as in the original notebook. The same local model directory is run as

(a) ``raw``: ``transformers.pipeline("ner", aggregation_strategy="simple")``,
    the notebook's way; entities are character offsets of word-piece groups,
    so they can start or end inside a word and ``word`` shows ``##`` pieces;
(b) ``hf_token_pipe``: spacy-huggingface-pipelines' component (same
    aggregation; ``alignment_mode="strict"``, its default), which silently
    drops (with a warning) every prediction that does not fall on spaCy token
    boundaries or overlaps a previous one;
(c) ``medner``: ``hf_token_classifier`` (predictions per spaCy token, whole
    tokens only, ``doc.spans["hf"]`` with scores);
(d) ``combined`` (with ``--combined``): a saved pipeline (CNN ``ner`` +
    ``hf_token_classifier`` + ``medner_merge_entities``), ``doc.ents`` with
    provenance from ``doc.spans["medner"].attrs["sources"]``.

(b) and (c) use the same tokenizer (``medner.tokenizer.blank_biomedical``).
Each entity is listed with ``start``/``end`` and ``text[start:end]``; an entity
whose start or end lies inside a word (alphanumeric character on both sides of
the cut) is flagged ``MID-WORD``. The report ends with a summary table; the
same data go to a JSON file next to the Markdown (``--json`` to change).
No network access: the model is loaded with ``local_files_only``.
"""
import json
import platform
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from medner.ner.hf.systems import SYSTEM_NAMES as SYSTEMS, make_system, mid_word


TITLES = {
    "raw": '(a) raw `transformers.pipeline("ner", aggregation_strategy="simple")`',
    "hf_token_pipe": '(b) spacy-huggingface-pipelines `hf_token_pipe` (aggregation_strategy="simple")',
    "medner": '(c) medner `hf_token_classifier` (`doc.spans["hf"]`)',
    "combined": '(d) combined pipeline `doc.ents` (provenance from `doc.spans["medner"].attrs["sources"]`)',
}


# --------------------------------------------------------------------------- helpers
def word_bounds(text: str, start: int, end: int) -> tuple:
    """The alphanumeric word(s) around ``[start, end)``: extend both ends while inside a word."""
    while start > 0 and text[start - 1].isalnum() and start < len(text) and text[start].isalnum():
        start -= 1
    while end < len(text) and end > 0 and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end


def annotate_entities(text: str, entities: List[Dict[str, Any]]) -> Dict[str, int]:
    """Add ``text_at_offsets``/``start_mid_word``/``end_mid_word`` to each entity; count problems.

    ``fragments``: entities with a start or end inside a word. ``split_words``:
    words (widened to whole words) covered by more than one entity, i.e. cut
    into several entities.
    """
    words: Dict[tuple, int] = {}
    fragments = 0
    for ent in entities:
        ent["text_at_offsets"] = text[ent["start"] : ent["end"]]
        ent.update(mid_word(text, ent["start"], ent["end"]))
        ent["fragment"] = ent["start_mid_word"] or ent["end_mid_word"]
        fragments += ent["fragment"]
        if ent["fragment"]:
            key = word_bounds(text, ent["start"], ent["end"])
            words[key] = words.get(key, 0) + 1
    return {
        "entities": len(entities),
        "fragments": fragments,
        "split_words": sum(1 for n in words.values() if n > 1),
        "hash_pieces": sum(1 for e in entities if "##" in str(e.get("word", ""))),
    }


def _key(ent: Dict[str, Any]) -> tuple:
    return (ent["start"], ent["end"], ent["label"])


# --------------------------------------------------------------------------- report
def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", "\\n")


def _fmt_score(value: Optional[float]) -> str:
    return "" if value is None else f"{value:.3f}"


def compare(model_dir: str, texts: List[str], combined: Optional[str] = None) -> Dict[str, Any]:
    """Run all systems on ``texts``; return the JSON-ready result (see module doc)."""
    result: Dict[str, Any] = {"model_dir": str(model_dir), "combined": combined, "texts": texts, "systems": {}}
    predictions, loaded = {}, {}
    for name in SYSTEMS if combined else SYSTEMS[:-1]:
        t0 = time.perf_counter()
        loaded[name] = make_system(name, model_dir, combined=combined, per_text=True)
        predictions[name] = loaded[name].predict(texts)
        result["systems"][name] = {"seconds": time.perf_counter() - t0, "docs": []}
    raw, htp, med = predictions["raw"], predictions["hf_token_pipe"], predictions["medner"]
    comb = predictions.get("combined")
    if combined:
        info = loaded["combined"].info
        result["systems"]["combined"].update(pipe_names=info["pipe_names"], hf_model_dir=info.get("hf", {}).get("model_dir"))

    totals = {name: {"entities": 0, "fragments": 0, "split_words": 0, "hash_pieces": 0} for name in result["systems"]}
    totals["hf_token_pipe"].update({"dropped_vs_raw": 0, "skipped_warnings": 0})
    totals["medner"].update({"offset_mismatches": 0})
    if combined:
        totals["combined"].update({"offset_mismatches": 0})
    for i, text in enumerate(texts):
        raw_ents = raw[i]
        counts = annotate_entities(text, raw_ents)
        result["systems"]["raw"]["docs"].append({"entities": raw_ents, "counts": counts})

        htp_ents = htp[i]
        counts_b = annotate_entities(text, htp_ents)
        kept = {_key(e) for e in htp_ents}
        dropped = [e for e in raw_ents if _key(e) not in kept]
        counts_b["dropped_vs_raw"] = len(dropped)
        counts_b["skipped_warnings"] = loaded["hf_token_pipe"].skipped[i]
        result["systems"]["hf_token_pipe"]["docs"].append(
            {"entities": htp_ents, "dropped_vs_raw": dropped, "counts": counts_b}
        )

        med_ents = med[i]
        counts_c = annotate_entities(text, med_ents)
        counts_c["offset_mismatches"] = sum(1 for e in med_ents if e["text_at_offsets"] != e["span_text"])
        result["systems"]["medner"]["docs"].append({"entities": med_ents, "counts": counts_c, "stats": loaded["medner"].stats[i]})

        per_doc = {"raw": counts, "hf_token_pipe": counts_b, "medner": counts_c}
        if comb is not None:
            comb_ents = comb[i]
            counts_d = annotate_entities(text, comb_ents)
            counts_d["offset_mismatches"] = sum(1 for e in comb_ents if e["text_at_offsets"] != e["span_text"])
            result["systems"]["combined"]["docs"].append({"entities": comb_ents, "counts": counts_d})
            per_doc["combined"] = counts_d
        for name, c in per_doc.items():
            for k in totals[name]:
                totals[name][k] += c.get(k, 0)
    result["summary"] = totals
    return result


def render_markdown(result: Dict[str, Any], command: str) -> str:
    texts = result["texts"]
    systems = result["systems"]
    lines = [
        "# Same Hugging Face model, three ways (raw pipeline vs hf_token_pipe vs medner)",
        "",
        f"- Model: `{result['model_dir']}`",
        f"- Combined pipeline: `{result['combined']}`" if result.get("combined") else "- Combined pipeline: not given",
        f"- Texts: {len(texts)} (each paragraph of the input file is one text, as in the notebook)",
        f"- Command: `{command}`",
        f"- transformers {result['versions'].get('transformers')}, spaCy {result['versions'].get('spacy')}, "
        f"spacy-huggingface-pipelines {result['versions'].get('spacy_huggingface_pipelines')}",
        "",
        "Offsets are character offsets into the text; `text[start:end]` is printed from the text itself. "
        "`MID-WORD` marks an entity whose start or end cuts through a word "
        "(alphanumeric characters on both sides of the cut). (b) and (c) use the same spaCy tokenizer "
        "(`medner.tokenizer.blank_biomedical`).",
        "",
        "## Summary",
        "",
        "| system | entities | fragments (MID-WORD) | split words | `##` in word | dropped vs (a) | offset mismatches | seconds (incl. model load; see benchmark_hf for speed) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    summary = result["summary"]
    for name in SYSTEMS:
        if name not in summary:
            continue
        s = summary[name]
        dropped = s.get("dropped_vs_raw", "")
        if name == "hf_token_pipe":
            dropped = f"{dropped} ({s.get('skipped_warnings', 0)} with a 'Skipping annotation' warning)"
        lines.append(
            f"| {TITLES[name].split(' ', 1)[0]} {name} | {s['entities']} | {s['fragments']} | {s['split_words']} | "
            f"{s['hash_pieces'] if name == 'raw' else ''} | {dropped} | {s.get('offset_mismatches', '')} | "
            f"{systems[name]['seconds']:.2f} |"
        )
    lines += [
        "",
        "- *fragments*: entities starting or ending inside a word; *split words*: words cut into several "
        "entities; *dropped vs (a)*: entities of (a) (same model, same aggregation) with no identical "
        "(start, end, label) entity in (b); *offset mismatches*: spans whose `span.text` differs from "
        "`text[start:end]` (must be 0). Seconds include model loading.",
        "",
    ]
    for name in SYSTEMS:
        if name not in systems:
            continue
        lines += [f"## {TITLES[name]}", ""]
        if name == "combined":
            lines += [
                f"Pipeline: `{systems[name].get('pipe_names')}`; its HF component's model_dir: "
                f"`{systems[name].get('hf_model_dir')}`",
                "",
            ]
        for i, doc in enumerate(systems[name]["docs"]):
            lines += [f"### Text {i + 1}", ""]
            if name == "raw":
                lines += [
                    "| # | entity_group | score | word | start | end | text[start:end] | flag |",
                    "|---:|---|---:|---|---:|---:|---|---|",
                ]
                for j, e in enumerate(doc["entities"]):
                    flag = "MID-WORD" if e["fragment"] else ""
                    lines.append(
                        f"| {j + 1} | {_cell(e['label'])} | {e['score']:.3f} | `{_cell(e['word'])}` | {e['start']} | "
                        f"{e['end']} | `{_cell(e['text_at_offsets'])}` | {flag} |"
                    )
            elif name == "hf_token_pipe":
                lines += ["| # | label | start | end | text[start:end] | flag |", "|---:|---|---:|---:|---|---|"]
                for j, e in enumerate(doc["entities"]):
                    flag = "MID-WORD" if e["fragment"] else ""
                    lines.append(
                        f"| {j + 1} | {_cell(e['label'])} | {e['start']} | {e['end']} | "
                        f"`{_cell(e['text_at_offsets'])}` | {flag} |"
                    )
                if doc["dropped_vs_raw"]:
                    lines += ["", f"Dropped (present in (a), missing here): {len(doc['dropped_vs_raw'])}", ""]
                    lines += ["| label | start | end | (a) word | text[start:end] |", "|---|---:|---:|---|---|"]
                    for e in doc["dropped_vs_raw"]:
                        lines.append(
                            f"| {_cell(e['label'])} | {e['start']} | {e['end']} | `{_cell(e['word'])}` | "
                            f"`{_cell(e['text_at_offsets'])}` |"
                        )
            else:
                extra = " source | agreement |" if name == "combined" else ""
                extra_sep = "---|---|" if name == "combined" else ""
                lines += [
                    f"| # | label | score | start | end | text[start:end] | span.text | flag |{extra}",
                    f"|---:|---|---:|---:|---:|---|---|---|{extra_sep}",
                ]
                for j, e in enumerate(doc["entities"]):
                    flag = "MID-WORD" if e["fragment"] else ""
                    if e["text_at_offsets"] != e["span_text"]:
                        flag = (flag + " OFFSET-MISMATCH").strip()
                    row = (
                        f"| {j + 1} | {_cell(e['label'])} | {_fmt_score(e.get('score'))} | {e['start']} | {e['end']} | "
                        f"`{_cell(e['text_at_offsets'])}` | `{_cell(e['span_text'])}` | {flag} |"
                    )
                    if name == "combined":
                        row += f" {_cell(e.get('source'))} | {_cell(e.get('agreement'))} |"
                    lines.append(row)
                if name == "medner" and doc.get("stats"):
                    stats = ", ".join(f"{k}={v}" for k, v in sorted(doc["stats"].items()))
                    lines += ["", f"Component stats: {stats}"]
            lines.append("")
    return "\n".join(lines) + "\n"


def _versions() -> Dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name, dist in (
        ("transformers", "transformers"),
        ("spacy", "spacy"),
        ("torch", "torch"),
        ("spacy_huggingface_pipelines", "spacy-huggingface-pipelines"),
    ):
        try:
            out[name] = version(dist)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def write_comparison(model_dir: Path, texts: List[str], output_md: Path, output_json: Path,
                     combined: Optional[Path], command: str, texts_path: Path) -> Dict[str, Any]:
    """Run :func:`compare`, write the Markdown report and the JSON; return the result."""
    result = compare(str(model_dir), texts, str(combined) if combined else None)
    result["versions"] = _versions()
    result["command"] = command
    result["texts_path"] = str(texts_path)
    output_md.parent.mkdir(parents=True, exist_ok=True)
    output_md.write_text(render_markdown(result, command), encoding="utf8")
    output_json.parent.mkdir(parents=True, exist_ok=True)
    output_json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf8")
    return result

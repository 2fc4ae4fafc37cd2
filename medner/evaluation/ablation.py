"""Ablation (the work of scripts/ablate.py). Which model, and which combination of models, is best? One table per dataset.

Runs every trained system (a spaCy pipeline whose entities end up in
``doc.ents``: CNN ``ner``, spacy-transformers ``ner``, the HF pipeline) ONCE
over dev and test, copies each system's entities into its own span group on
one set of docs, and scores:

* each system alone;
* each ``--merge`` group (``cnn+hf``: names joined by ``+``, in priority order)
  under every policy of ``medner_merge_entities``: ``prefer_first`` in the
  given order, ``longest``, and ``vote`` (majority: at least half the members
  agree, rounded up, ties kept at 2; and, for 3+ members, ``vote`` with
  ``min_votes=1``: agreed spans first, then the rest).

Variants are chosen on dev; test scores are reported for all of them so the
README ablation table (``spacy project run results``) can show both, with
each row's training time read from the systems' training directories.
"""
import math
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import spacy
import srsly
from spacy.tokens import Doc, DocBin, SpanGroup
from wasabi import msg

from medner.ner.merge import MergeEntities
from medner.evaluation.entities import score_entities
from medner.evaluation.selection import pick_best_on_dev


def training_seconds(model_dir: Path) -> Optional[float]:
    """Wall time recorded next to a trained model (scripts/train_spacy.py or scripts/train_hf.py), if any."""
    for directory in (model_dir, *model_dir.parents[:2]):
        if (directory / "train_time.json").exists():
            return srsly.read_json(directory / "train_time.json").get("seconds")
        if (directory / "train_metrics.json").exists():
            data = srsly.read_json(directory / "train_metrics.json")
            return data.get("wall_seconds") or data.get("train_seconds")
    return None


def transfer(predicted: Doc, base: Doc, key: str) -> int:
    """Copy ``predicted.ents`` into ``base.spans[key]`` by character offsets; return how many had to be expanded."""
    spans, expanded = [], 0
    for ent in predicted.ents:
        span = base.char_span(ent.start_char, ent.end_char, label=ent.label_)
        if span is None:  # a different tokenization: keep the entity, snapped outwards to base tokens
            span = base.char_span(ent.start_char, ent.end_char, label=ent.label_, alignment_mode="expand")
            expanded += 1
        if span is not None:
            spans.append(span)
    base.spans[key] = SpanGroup(base, name=key, spans=spans)
    return expanded


def annotate(
    systems: Dict[str, Path], golds: Dict[str, List[Doc]], nlp_base
) -> Tuple[Dict[str, List[Doc]], Dict[str, Dict[str, dict]]]:
    """Per split, docs with one span group per system, plus per-system timing and alignment
    counts. Each system is loaded once and run over every split before the next is loaded."""
    bases = {split: [nlp_base.make_doc(doc.text) for doc in gold] for split, gold in golds.items()}
    info: Dict[str, Dict[str, dict]] = {split: {} for split in golds}
    for name, path in systems.items():
        nlp = spacy.load(path)
        for split, gold in golds.items():
            start = time.perf_counter()
            docs = nlp.pipe((d.text for d in gold), batch_size=64)
            expanded = sum(transfer(p, b, name) for p, b in zip(docs, bases[split]))
            info[split][name] = {"seconds": round(time.perf_counter() - start, 1), "expanded_spans": expanded}
            msg.info(f"  {name} on {split}: {info[split][name]['seconds']} s"
                     + (f", {expanded} spans snapped to tokens" if expanded else ""))
        del nlp
    return bases, info


def merge_variants(group: List[str]) -> List[Tuple[str, dict]]:
    """The merge configurations tried for one group of systems."""
    joined = "+".join(group)
    majority = max(2, math.ceil(len(group) / 2))
    variants = [
        (f"prefer_first({'>'.join(group)})", {"policy": "prefer_first"}),
        (f"longest({joined})", {"policy": "longest"}),
        (f"vote>={majority}({joined})", {"policy": "vote", "min_votes": majority}),
    ]
    if len(group) >= 3:
        variants.append((f"vote>=1({joined})", {"policy": "vote", "min_votes": 1}))
    return variants


def apply_merge(docs: List[Doc], vocab, sources: List[str], config: dict) -> List[Doc]:
    merge = MergeEntities(vocab, "ablation", sources=sources, policy=config["policy"],
                          min_votes=config.get("min_votes", 1), set_ents=True, scorer=None)
    return [merge(Doc(vocab).from_bytes(doc.to_bytes())) for doc in docs]


def check_groups(systems: Dict[str, Path], groups: List[List[str]]) -> None:
    """Every merge group names 2+ known systems (``ValueError`` naming the unknown ones)."""
    for group in groups:
        unknown = [name for name in group if name not in systems]
        if unknown or len(group) < 2:
            raise ValueError(f"--merge {'+'.join(group)}: needs 2+ of {list(systems)}, unknown {unknown}")


def ablate(systems: Dict[str, Path], groups: List[List[str]], dev: Path, test: Path) -> dict:
    """Score every system alone and every merge variant on dev and test; the record written to JSON."""
    check_groups(systems, groups)
    from medner.tokenizer import blank_biomedical

    nlp_base = blank_biomedical()
    golds = {split: list(DocBin().from_disk(path).get_docs(nlp_base.vocab)) for split, path in (("dev", dev), ("test", test))}
    msg.info(", ".join(f"{split}: {len(gold)} docs" for split, gold in golds.items()))
    annotated, runs = annotate(systems, golds, nlp_base)
    rows: Dict[str, dict] = {}
    for split, gold in golds.items():
        docs = annotated[split]
        for name in systems:
            row = rows.setdefault(name, {"members": [name], "policy": None})
            row[split] = score_entities(docs, gold, name)
        for group in groups:
            for variant, config in merge_variants(group):
                row = rows.setdefault(variant, {"members": group, "policy": config})
                row[split] = score_entities(apply_merge(docs, nlp_base.vocab, group, config), gold, None)
    seconds = {name: training_seconds(path) for name, path in systems.items()}
    for row in rows.values():
        times = [seconds[name] for name in row["members"]]
        row["train_seconds"] = None if None in times else round(sum(times), 1)
    return {
        "dev": str(dev), "test": str(test), "systems": {k: str(v) for k, v in systems.items()},
        "annotation": runs, "selected_on_dev": pick_best_on_dev(rows), "rows": rows,
    }

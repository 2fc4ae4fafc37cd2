"""Evaluating abbreviations (the work of scripts/evaluate_abbreviations.py and evaluate_abbreviation_propagation.py).

* :func:`evaluate_definitions`: both rule sets of :mod:`medner.abbreviations.detect` on MED1250, exact
  (short form, long form) pairs per abstract, beside Ab3P's published numbers;
* :func:`evaluate_propagation`: NER F1 with and without ``medner_abbreviation_propagation`` (every
  variant) for trained pipelines, dev and test; the step is kept where it helps on dev.
"""
import time
from itertools import product
from pathlib import Path
from typing import Dict, List, Optional

import spacy
import srsly
from spacy.tokens import DocBin
from wasabi import msg

from medner.abbreviations.component import abbreviation_pairs, detect_abbreviations, propagate_entity_labels
from medner.evaluation.entities import score_entities
from medner.evaluation.matrix import predicted_labels
from medner.abbreviations.detect import RULES, find_definitions
from medner.corpus.med1250 import read_med1250
from medner.evaluation.entities import score_pairs


LONG_FORM_MATCH = ("exact", "overlap")


UNTAGGED_LONG_FORM = ("keep", "remove", "propagate")


BASELINE = "none"


def pipeline_name(path: str) -> str:
    """``training/bc5cdr_cnn_fast/model-best`` -> ``bc5cdr_cnn_fast``."""
    parts = Path(path).parts
    return parts[-2] if parts[-1] in ("model-best", "model-last") and len(parts) > 1 else parts[-1]


def entity_changes(before, after) -> Dict[str, int]:
    """Entities added, removed and relabelled by the step, summed over the docs."""
    added = removed = relabelled = 0
    for doc_before, doc_after in zip(before, after):
        old = {(e.start, e.end): e.label_ for e in doc_before.ents}
        new = {(e.start, e.end): e.label_ for e in doc_after.ents}
        added += sum(1 for key in new if key not in old)
        removed += sum(1 for key in old if key not in new)
        relabelled += sum(1 for key in new if key in old and old[key] != new[key])
    return {"added": added, "removed": removed, "relabelled": relabelled}


def evaluate_propagation(dataset: str, models: List[str], output: Optional[Path], corpus_dir: Path, batch_size: int):
    """NER scores with and without medner_abbreviation_propagation (every variant) for each pipeline on dataset, dev and test; the JSON written to output."""
    output = output or Path("metrics") / f"abbreviation_propagation__{dataset}.json"
    split_paths = {split: corpus_dir / dataset / f"{split}.spacy" for split in ("dev", "test")}
    for path in split_paths.values():
        if not path.exists():
            msg.fail(f"Missing corpus file {path} (spacy project run convert)", exits=1)
    variants = [f"{match}/{untagged}" for match, untagged in product(LONG_FORM_MATCH, UNTAGGED_LONG_FORM)]
    record = {"dataset": dataset, "variants": [BASELINE] + variants, "pipelines": {}}
    for model in models:
        if not Path(model).exists() and not spacy.util.is_package(model):
            msg.fail(f"Pipeline not found: {model}", exits=1)
        nlp = spacy.load(model)
        name = pipeline_name(model)
        pipeline_labels = set(predicted_labels(nlp))
        entry = {"model": model, "splits": {}}
        for split, path in split_paths.items():
            gold = list(DocBin().from_disk(path).get_docs(nlp.vocab))
            gold_labels = {ent.label_ for doc in gold for ent in doc.ents}
            # Cross-corpus (labels differ): score only the labels both have, as evaluate-cross does.
            labels = None if gold_labels == pipeline_labels else sorted(gold_labels & pipeline_labels)
            if labels == []:
                msg.fail(f"{model} predicts {sorted(pipeline_labels)}, none of them in {path} "
                         f"({sorted(gold_labels)}): nothing to score", exits=1)
            entry["labels_scored"] = "all" if labels is None else labels
            predicted = list(nlp.pipe((doc.text for doc in gold), batch_size=batch_size))
            start = time.perf_counter()
            for doc in predicted:
                detect_abbreviations(doc)
            detect_seconds = time.perf_counter() - start
            scores = {BASELINE: score_entities(predicted, gold, labels=labels)}
            for variant in variants:
                match, untagged = variant.split("/")
                changed = [propagate_entity_labels(doc.copy(), long_form_match=match, untagged_long_form=untagged)
                           for doc in predicted]
                scores[variant] = {**score_entities(changed, gold, labels=labels), "changes": entity_changes(predicted, changed)}
            entry["splits"][split] = {
                "docs": len(gold),
                "short_form_occurrences": sum(len(abbreviation_pairs(doc)) for doc in predicted),
                "detect_ms_per_doc": round(1000 * detect_seconds / max(len(predicted), 1), 3),
                "scores": scores,
            }
        dev, test = entry["splits"]["dev"]["scores"], entry["splits"]["test"]["scores"]
        best = max(variants, key=lambda variant: dev[variant]["f1"])
        selected = best if dev[best]["f1"] > dev[BASELINE]["f1"] else BASELINE
        entry["selected_on_dev"] = selected
        entry["dev_f1"] = {"none": dev[BASELINE]["f1"], "selected": dev[selected]["f1"], "delta": round(dev[selected]["f1"] - dev[BASELINE]["f1"], 2)}
        entry["test_f1"] = {"none": test[BASELINE]["f1"], "selected": test[selected]["f1"], "delta": round(test[selected]["f1"] - test[BASELINE]["f1"], 2)}
        if selected != BASELINE:
            match, untagged = selected.split("/")
            entry["add_pipe"] = {"factory": "medner_abbreviation_propagation", "after": "ner",
                                 "config": {"long_form_match": match, "untagged_long_form": untagged}}
        record["pipelines"][name] = entry
        rows = [(variant, dev[variant]["f1"], test[variant]["f1"]) for variant in [BASELINE] + variants]
        msg.table(rows, header=("variant", "dev F1", "test F1"), divider=True)
        msg.info(f"{name} on {dataset}: selected on dev {selected!r} (dev {entry['dev_f1']['delta']:+.2f}, test {entry['test_f1']['delta']:+.2f})")
    output.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(output, record)
    msg.good(f"-> {output}")


PUBLISHED = {
    "Ab3P (Sohn et al. 2008), MED1250": {"precision": 96.5, "recall": 83.2},
    "Schwartz & Hearst (2003), Medstract (a different set)": {"precision": 96.0, "recall": 82.0},
}


def evaluate_definitions(gold_path: Path, output: Path, n_errors: int):
    """Both rule sets of medner.abbreviations.detect on MED1250: exact (short form, long form) pairs per abstract; the JSON written to output."""
    abstracts = read_med1250(gold_path)
    gold = [abstract.pairs for abstract in abstracts]
    record = {
        "gold_path": str(gold_path),
        "abstracts": len(abstracts),
        "gold_pairs": sum(len(pairs) for pairs in gold),
        "matching": "exact (short form, long form) strings per abstract, duplicates counted (multiset)",
        "published": PUBLISHED,
        "rules": {},
    }
    n_chars = sum(len(abstract.text) for abstract in abstracts)
    for rules in RULES:
        start = time.perf_counter()
        predicted = []
        for abstract in abstracts:
            text = abstract.text
            predicted.append([
                (text[d.short_start:d.short_end], text[d.long_start:d.long_end]) for d in find_definitions(text, rules=rules)
            ])
        seconds = time.perf_counter() - start
        scores = score_pairs(predicted, gold)
        unique = score_pairs([set(p) for p in predicted], [set(g) for g in gold])
        false_positives, false_negatives = [], []
        for abstract, predicted_pairs, gold_pairs in zip(abstracts, predicted, gold):
            false_positives += [[abstract.pmid, *pair] for pair in predicted_pairs if pair not in gold_pairs]
            false_negatives += [[abstract.pmid, *pair] for pair in gold_pairs if pair not in predicted_pairs]
        record["rules"][rules] = {
            **scores,
            "unique_pairs_per_abstract": unique,
            "seconds": round(seconds, 3),
            "chars_per_second": round(n_chars / seconds) if seconds else None,
            "false_positives_first": false_positives[:n_errors],
            "false_negatives_first": false_negatives[:n_errors],
        }
        msg.info(f"{rules}: P {scores['precision']} R {scores['recall']} F1 {scores['f1']} "
                 f"({scores['tp']} of {record['gold_pairs']} gold pairs, {scores['fp']} false) in {seconds:.2f} s")
    output.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(output, record)
    msg.good(f"-> {output} (Ab3P published P 96.5 / R 83.2 on the same file)")

"""Abbreviation definitions on MED1250 (Ab3P's test set): exact (short form, long form) pairs per abstract.

Scores both rule sets of medner.abbreviations.detect (Schwartz-Hearst as published,
and with Ab3P's rules), beside the numbers Ab3P published on the same file,
and lists the errors so that the next rule can be chosen from them.
"""
import time
from pathlib import Path

import srsly
import typer
from wasabi import msg

from medner.abbreviations.detect import RULES, find_definitions
from medner.corpus.med1250 import read_med1250
from medner.evaluation.entities import score_pairs

PUBLISHED = {
    "Ab3P (Sohn et al. 2008), MED1250": {"precision": 96.5, "recall": 83.2},
    "Schwartz & Hearst (2003), Medstract (a different set)": {"precision": 96.0, "recall": 82.0},
}


def main(
    gold_path: Path = typer.Argument(Path("assets/abbreviations/MED1250_labeled"), exists=True, dir_okay=False),
    output: Path = typer.Argument(Path("metrics/abbreviations__med1250.json")),
    n_errors: int = typer.Option(25, "--errors", help="Errors listed per rule set and kind"),
):
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


if __name__ == "__main__":
    typer.run(main)

"""How much of the gold the dictionary covers: gold mentions whose tokens are exactly one longest match, per label and source.

Runs the ``medner_vocab_features`` component of a trained pipeline (its saved
dictionary) over gold ``.spacy`` files; also counts the longest matches that are
no gold mention (what the network learns to discount).
"""
from collections import Counter
from pathlib import Path
from typing import List

import spacy
import srsly
import typer
from spacy.tokens import DocBin
from wasabi import msg

from medner.ner.vocab.tags import SOURCES, longest_matches


def main(
    model: Path = typer.Argument(..., exists=True, file_okay=False, help="Pipeline with a medner_vocab_features component"),
    output: Path = typer.Argument(..., help="JSON record"),
    gold_paths: List[Path] = typer.Option(..., "--gold", exists=True, dir_okay=False, help="Gold .spacy (repeatable)"),
):
    nlp = spacy.load(model)
    names = [name for name, pipe in nlp.pipeline if getattr(pipe, "indexes", None) is not None]
    if not names:
        msg.fail(f"{model} has no medner_vocab_features component", exits=1)
    vocab_pipe = nlp.get_pipe(names[0])
    record = {"model": str(model), "patterns": vocab_pipe.n_patterns, "gold": {}}
    for gold_path in gold_paths:
        exact: Counter = Counter()
        totals: Counter = Counter()
        outside = Counter()
        for gold in DocBin().from_disk(gold_path).get_docs(nlp.vocab):
            doc = nlp.make_doc(gold.text)
            matches = {source: [] for source in SOURCES}
            for mode, index in vocab_pipe.indexes.items():
                keys = [t.lower for t in doc] if mode == "lower" else [t.orth for t in doc]
                for source, start, end in index.matches(keys):
                    matches[source].append((start, end))
            chosen = {source: set(longest_matches(spans)) for source, spans in matches.items()}
            gold_spans = {}
            for ent in gold.ents:
                span = doc.char_span(ent.start_char, ent.end_char)
                if span is not None:
                    gold_spans[(span.start, span.end)] = ent.label_
            for (start, end), label in gold_spans.items():
                totals[label] += 1
                for source in SOURCES:
                    exact[f"{label}/{source}"] += (start, end) in chosen[source]
            for source in SOURCES:
                outside[source] += sum(1 for span in chosen[source] if span not in gold_spans)
        record["gold"][str(gold_path)] = {
            "mentions": dict(totals),
            "exact_longest_match_share": {key: round(count / totals[key.split("/")[0]], 4) for key, count in sorted(exact.items())},
            "longest_matches_not_gold": dict(outside),
        }
        msg.info(f"{gold_path}: {record['gold'][str(gold_path)]['exact_longest_match_share']}")
    output.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(output, record)
    msg.good(f"Wrote {output}")


if __name__ == "__main__":
    typer.run(main)

"""Assertion evaluation on gold spans: every method (and negspacy) judged on the same spans.

The spans are the gold ones of ``doc.spans["assertion"]`` (with their entity
labels), copied into a fresh doc with no other annotation, so the score measures
the assertion alone, not the NER in front of it.
"""
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span

from .scorer import assertion_prf
from ..corpus.assertions import ASSERTION_KEY, ASSERTION_VALUES, NEGATED, PRESENT
from .rules import ENDED_STATUSES

TARGET_KEY = "medner_assertion_targets"


def load_gold(path: Path, nlp: Language) -> List[Doc]:
    """Docs of a converted ``.spacy`` file that carry gold assertions."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path} does not exist: run `spacy project run convert` first")
    docs = [d for d in DocBin().from_disk(path).get_docs(nlp.vocab) if ASSERTION_KEY in d.spans]
    if not docs:
        raise ValueError(f"{path} has no doc.spans['{ASSERTION_KEY}']: re-convert it with this medner version")
    return docs


def target_doc(gold: Doc) -> Doc:
    """A bare copy of ``gold`` (same tokens, no ents) whose ``TARGET_KEY`` group holds the gold spans with their entity labels."""
    doc = Doc(gold.vocab, words=[t.text for t in gold], spaces=[bool(t.whitespace_) for t in gold])
    group = gold.spans[ASSERTION_KEY]
    labels = group.attrs.get("entity_labels", [""] * len(group))
    doc.spans[TARGET_KEY] = [Span(doc, s.start, s.end, label=lab) for s, lab in zip(group, labels)]
    return doc


def gold_values(gold: Doc) -> List[str]:
    return [s.label_ for s in gold.spans[ASSERTION_KEY]]


def evaluate_predictor(golds: Sequence[Doc], predict: Callable[[Doc], List[str]]) -> Dict[str, dict]:
    """Per-value P/R/F1 of ``predict`` (target doc -> one value per target span), with timing."""
    pairs: List[Tuple[str, str]] = []
    start = time.perf_counter()
    for gold in golds:
        doc = target_doc(gold)
        pairs.extend(zip(gold_values(gold), predict(doc)))
    result = assertion_prf(pairs)
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def score_found_values(
    golds: Iterable[Doc], predicted: Iterable[Doc], key: str = ASSERTION_KEY, attribute: str = "assertion",
    values: Sequence[str] = ASSERTION_VALUES, default: str = PRESENT,
) -> Dict[str, dict]:
    """Assertion after a real NER: the value (``span._.<attribute>``) a pipeline gave each entity of
    ``doc.ents`` whose offsets match a gold span of ``doc.spans[key]``, scored per value; how many
    gold spans of each value the NER found is reported beside it (``gold_spans_found_by_ner``)."""
    pairs: List[Tuple[str, str]] = []
    found, total = Counter(), Counter()
    for gold, doc in zip(golds, predicted):
        gold_spans = {(s.start_char, s.end_char): s.label_ for s in gold.spans[key]}
        total.update(gold_spans.values())
        for ent in doc.ents:
            value = gold_spans.get((ent.start_char, ent.end_char))
            if value is not None:
                pairs.append((value, getattr(ent._, attribute, None) or default))
                found[value] += 1
    result = assertion_prf(pairs, values)
    result["gold_spans_found_by_ner"] = {v: {"found": found[v], "gold": total[v]} for v in values if total[v]}
    return result


def component_predictor(nlp: Language, name: str) -> Callable[[Doc], List[str]]:
    """Run the assertion component ``name`` of ``nlp`` on the target spans."""
    component = nlp.get_pipe(name)

    def predict(doc: Doc) -> List[str]:
        return component.predict(doc, list(doc.spans[TARGET_KEY]))
    return predict


def negspacy_predictor(nlp: Language) -> Callable[[Doc], List[str]]:
    """negspacy 1.1.0 out of the box (en_clinical termset, sentencizer for its sentences): negated or present."""
    try:
        from negspacy.negation import Negex, default_ts
    except ImportError:
        raise ImportError("the negspacy baseline needs negspacy 1.1.0: pip install -e '.[assertion]'") from None
    from spacy.pipeline import Sentencizer

    sentencizer = Sentencizer()
    negex = Negex(nlp, "negex", neg_termset=default_ts, span_keys=[TARGET_KEY])
    baseline = [sentencizer, negex]

    def predict(doc: Doc) -> List[str]:
        for pipe in baseline:
            doc = pipe(doc)
        return [NEGATED if span._.negex else PRESENT for span in doc.spans[TARGET_KEY]]
    return predict


def summary_line(name: str, split: str, result: Dict[str, dict], values: Optional[Sequence[str]] = None) -> str:
    values = values or [v for v in result if isinstance(result[v], dict)]
    cells = [f"{v} {100 * result[v]['f']:.1f}" for v in values]
    return f"{name:<11} {split:<5} acc {100 * result['accuracy']:.1f}  " + "  ".join(cells)


def ended_drug_accounting(golds: Sequence[Doc], nlp: Language, name: str) -> Dict[str, object]:
    """Where MACCROBAT's gold and medner's drug policy disagree, counted and scored both ways.

    MACCROBAT marks a drug that was held, stopped or discontinued NEG; medner
    (issue 18) keeps it present (or historical) and gives it a
    ``medication_status`` instead. This counts the gold-negated spans the
    component calls ended drugs and scores the rest without them, so the cost
    of the policy on the official score is visible, not hidden.
    """
    component = nlp.get_pipe(name)
    kept: List[Tuple[str, str]] = []
    ended: List[Dict[str, str]] = []
    for gold in golds:
        doc = target_doc(gold)
        spans = list(doc.spans[TARGET_KEY])
        values, statuses = component.analyse(doc, spans)
        for span, gold_value, value, status in zip(spans, gold_values(gold), values, statuses):
            if gold_value == NEGATED and status in ENDED_STATUSES:
                ended.append({"text": span.text, "status": status, "predicted": value})
            else:
                kept.append((gold_value, value))
    return {"gold_negated_ended_drugs": len(ended), "spans": ended, "without_them": assertion_prf(kept)}


def evaluate_statuses(golds: Sequence[Doc], nlp: Language, name: str, key: str = "medication_status",
                      none: str = "none") -> Dict[str, object]:
    """Medication status on gold spans: the status the component gives each gold span of ``doc.spans[key]``
    (a drug without a status is ``none``, as in the clinical-notes set), per status P/R/F and accuracy."""
    component = nlp.get_pipe(name)
    pairs: List[Tuple[str, str]] = []
    for gold in golds:
        if key not in gold.spans:
            continue
        doc = target_doc(gold)
        spans = list(doc.spans[TARGET_KEY])
        _, statuses = component.analyse(doc, spans)
        predicted = {(s.start_char, s.end_char): status or none for s, status in zip(spans, statuses)}
        pairs.extend((s.label_, predicted.get((s.start_char, s.end_char), none)) for s in gold.spans[key])
    values = sorted({g for g, _ in pairs} | {p for _, p in pairs})
    return assertion_prf(pairs, values)


METHODS = ("rules", "classifier", "combined")
CHOICE_VALUES = [v for v in ASSERTION_VALUES if v != PRESENT]


class AssertionEvaluationError(ValueError):
    """A missing input (trained weights, gold file, negspacy): one line for the user."""


def load_method(method: str, trained_dir: Path) -> Language:
    """A blank biomedical pipeline with the component: rules need nothing, the others their weights."""
    from ..tokenizer import blank_biomedical

    nlp = blank_biomedical()
    component = nlp.add_pipe("medner_assertion", config={"method": method})
    if method != "rules":
        path = trained_dir / method / "medner_assertion"
        if not path.exists():
            raise AssertionEvaluationError(f"{path} is missing: run `spacy project run train-assertion` first")
        component.from_disk(path)
    return nlp


def compare_methods(dev_path: Path, test_path: Path, trained_dir: Path,
                    log: Callable[[str], None] = print) -> Tuple[Dict[str, dict], dict]:
    """Every method and negspacy on the same gold spans of dev and test: ``({system: record}, summary)``.

    The method is chosen on dev (mean F1 over ``CHOICE_VALUES``); the summary has its test scores and the goals.
    """
    from ..tokenizer import blank_biomedical

    systems = {}
    for method in METHODS:
        nlp = load_method(method, trained_dir)
        systems[method] = (nlp, component_predictor(nlp, "medner_assertion"))
    baseline_nlp = blank_biomedical()
    try:
        systems["negspacy"] = (baseline_nlp, negspacy_predictor(baseline_nlp))
    except ImportError as err:
        raise AssertionEvaluationError(str(err)) from None
    results, records = {}, {}
    for name, (nlp, predict) in systems.items():
        try:
            splits = {"dev": load_gold(dev_path, nlp), "test": load_gold(test_path, nlp)}
        except (FileNotFoundError, ValueError) as err:
            raise AssertionEvaluationError(str(err)) from None
        results[name] = {split: evaluate_predictor(docs, predict) for split, docs in splits.items()}
        for split in ("dev", "test"):
            log(summary_line(name, split, results[name][split]))
        record = {"system": name, "corpus": "maccrobat", "spans": "gold doc.spans['assertion']", **results[name]}
        if name != "negspacy":  # gold NEG on held/stopped drugs, which medner calls present with a status
            record["ended_drugs"] = {s: ended_drug_accounting(d, nlp, "medner_assertion") for s, d in splits.items()}
        if name == "negspacy":
            record["note"] = "negspacy 1.1.0, en_clinical termset, sentencizer; it predicts negated or present only"
        records[name] = record

    def dev_choice(name: str) -> float:
        return sum(results[name]["dev"][v]["f"] for v in CHOICE_VALUES) / len(CHOICE_VALUES)

    chosen = max(METHODS, key=dev_choice)
    negated_test = {name: results[name]["test"]["negated"]["f"] for name in results}
    summary = {
        "chosen_method": chosen,
        "chosen_by": "dev mean F1 over " + ", ".join(CHOICE_VALUES),
        "dev_mean_f": {name: dev_choice(name) for name in METHODS},
        "test_f": {name: {v: results[name]["test"][v]["f"] for v in ASSERTION_VALUES} for name in results},
        "test_negated_f_gain_over_negspacy": negated_test[chosen] - negated_test["negspacy"],
        "goal": {"negated_test_f_at_least": 0.90, "uncertain_test_f_at_least": 0.70,
                 "negated_met": negated_test[chosen] >= 0.90,
                 "uncertain_met": results[chosen]["test"]["uncertain"]["f"] >= 0.70},
    }
    return records, summary

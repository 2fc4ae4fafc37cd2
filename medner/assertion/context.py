"""ConText for medner_assertion: scope segments, trigger phrases and the spans each trigger reaches.

Triggers (``rules.DEFAULT_RULES``) open a scope forward or backward, bounded by
the segment (sentence, or line / sentence punctuation when the doc has no
sentences), by terminators ("but") and by ``max_scope`` tokens; pseudo-triggers
("no change") are not triggers.
"""
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from ..corpus.assertions import strongest
from .rules import BACKWARD, BOTH, FORWARD, PSEUDO, TERMINATE


def segment_starts(doc: Doc) -> List[int]:
    """Token indices where a scope segment starts: sentences, or a fallback split.

    A doc without sentence boundaries (no parser, no sentencizer) is cut after
    ``.``, ``!``, ``?`` and at line breaks, so a negation never runs on into the
    next sentence.
    """
    starts = {0}
    if doc.has_annotation("SENT_START"):
        starts.update(sent.start for sent in doc.sents)
    for token in doc:
        if token.text in (".", "!", "?") or (token.is_space and "\n" in token.text):
            starts.add(token.i + 1)
    return sorted(s for s in starts if s < len(doc)) or [0]


def segment_of(starts: Sequence[int], token_i: int, n_tokens: int) -> Tuple[int, int]:
    """The (start, end) of the segment holding token ``token_i``."""
    k = bisect_right(starts, token_i) - 1
    return starts[max(k, 0)], starts[k + 1] if k + 1 < len(starts) else n_tokens


# ------------------------------------------------------------------ rules
@dataclass(frozen=True)
class Trigger:
    start: int
    end: int
    category: str
    direction: str
    phrase: str


def build_matcher(vocab: Vocab, rules: List[Dict[str, str]], tokenizer) -> Tuple[PhraseMatcher, Dict[int, Dict[str, str]]]:
    """One PhraseMatcher over all rule phrases (lower-cased); match id (hash) -> rule.

    Keyed by hash, not string, so that docs from another vocab (a sourced
    component) are matched too.
    """
    matcher = PhraseMatcher(vocab, attr="LOWER")
    by_id: Dict[int, Dict[str, str]] = {}
    for i, rule in enumerate(rules):
        key = f"medner_assertion_{i}"
        by_id[vocab.strings.add(key)] = rule
        matcher.add(key, [tokenizer(rule["phrase"])])
    return matcher, by_id


def find_triggers(doc: Doc, matcher: PhraseMatcher, rules_by_id: Dict[int, Dict[str, str]]) -> List[Trigger]:
    """Triggers and terminators in ``doc``; those touching a pseudo-trigger and shorter overlapping ones are dropped."""
    found = []
    for match_id, start, end in matcher(doc):
        rule = rules_by_id[match_id]
        found.append(Trigger(start, end, rule["category"], rule["direction"], rule["phrase"]))
    pseudo_at: Dict[int, List[Trigger]] = {}
    for t in found:
        if t.category == PSEUDO:
            for i in range(t.start, t.end):
                pseudo_at.setdefault(i, []).append(t)
    kept: List[Trigger] = []
    taken: Dict[str, set] = {}
    # Longest first: "ruled out for" beats "ruled out"; "no evidence of" beats "no". Token sets keep it linear.
    for trig in sorted(found, key=lambda t: (t.start - t.end, t.start)):
        if trig.category == PSEUDO or _cut_by_pseudo(trig, pseudo_at):
            continue
        # Forward and backward readings of the same words may both hold ("was ruled out for MI").
        occupied = taken.setdefault(TERMINATE if trig.category == TERMINATE else trig.direction, set())
        if trig.start in occupied or trig.end - 1 in occupied:
            continue
        occupied.update(range(trig.start, trig.end))
        kept.append(trig)
    return sorted(kept, key=lambda t: (t.start, t.end))


def _cut_by_pseudo(trig: Trigger, pseudo_at: Dict[int, List[Trigger]]) -> bool:
    """A trigger touching a pseudo-trigger is dropped ("not" in "not ruled out"), unless it holds the whole
    pseudo-trigger: "cannot be excluded" is a pseudo-negation and, as a whole, an uncertainty trigger."""
    return any(not (trig.start <= p.start and p.end <= trig.end)
               for i in range(trig.start, trig.end) for p in pseudo_at.get(i, ()))


def rule_verdicts(
    doc: Doc, spans: Sequence[Span], triggers: List[Trigger], starts: Sequence[int], max_scope: int,
) -> List[List[Trigger]]:
    """For each span, the triggers whose scope reaches it (ConText).

    A forward trigger reaches spans that start after it, before the segment end,
    the next terminator and ``max_scope`` tokens; a backward trigger the same way
    to the left. A trigger inside the span does not count. Time is linear in
    triggers x spans within ``max_scope``, so long documents stay cheap.
    """
    n = len(doc)
    reached: List[List[Trigger]] = [[] for _ in spans]
    terminators = [t for t in triggers if t.category == TERMINATE]
    term_starts = [t.start for t in terminators]
    term_ends = sorted(t.end for t in terminators)
    by_start = sorted(range(len(spans)), key=lambda i: spans[i].start)
    span_starts = [spans[i].start for i in by_start]
    by_end = sorted(range(len(spans)), key=lambda i: spans[i].end)
    span_ends = [spans[i].end for i in by_end]
    for trig in triggers:
        if trig.category == TERMINATE:
            continue
        seg_start, seg_end = segment_of(starts, trig.start, n)
        if trig.direction in (FORWARD, BOTH):
            k = bisect_left(term_starts, trig.end)
            stop = min(seg_end, trig.end + max_scope, term_starts[k] if k < len(term_starts) else n)
            for j in range(bisect_left(span_starts, trig.end), bisect_left(span_starts, stop)):
                reached[by_start[j]].append(trig)
        if trig.direction in (BACKWARD, BOTH):
            k = bisect_right(term_ends, trig.start)
            begin = max(seg_start, trig.start - max_scope, term_ends[k - 1] if k > 0 else 0)
            for j in range(bisect_right(span_ends, begin), bisect_right(span_ends, trig.start)):
                reached[by_end[j]].append(trig)
    return reached


def rules_value(span: Span, triggers: List[Trigger], label_values: Dict[str, str]) -> str:
    values = {t.category for t in triggers}
    if span.label_ in label_values:
        values.add(label_values[span.label_])
    return strongest(values)

"""Medication status for medner_assertion: what happened to a drug (started, held, stopped ...), not whether it exists.

A clinician reads "Metformin was held" or "Lisinopril was discontinued" as a
fact about the patient's drug, not as "no metformin". ConText's negation reads
"was held" as a negation; here the nearest status phrase
(``rules.DEFAULT_STATUS_RULES``) in the drug's segment gives it a status
(``span._.medication_status``), and a drug whose only negation comes from such a
phrase keeps its other value (present, or historical: "previously on Metformin
but stopped it"). "Metformin was not started" and "no anticoagulation" stay
negated: "not" and "no" are not status phrases.
"""
from bisect import bisect_left, bisect_right
from typing import Dict, List, Sequence, Set

from spacy.tokens import Doc, Span

from ..corpus.assertions import NEGATED, strongest
from .context import Trigger, segment_of
from .rules import ENDED_STATUSES

NO_STATUS = ""


def status_matcher_rules(status_rules: List[Dict[str, str]]) -> List[Dict[str, str]]:
    """Status rules in the shape ``context.build_matcher``/``find_triggers`` read (the status as the category).

    ``find_triggers`` then keeps, of overlapping phrases read in the same direction, the longest.
    """
    return [{"phrase": r["phrase"], "category": r["status"], "direction": r["direction"]} for r in status_rules]


def medication_statuses(doc: Doc, spans: Sequence[Span], status_triggers: List[Trigger], starts: Sequence[int],
                        scope: int) -> List[str]:
    """For each span, the status of the nearest status phrase pointing at it, or ``NO_STATUS``.

    A forward phrase ("hold Lisinopril") ends at most ``scope`` tokens before
    the span, a backward one ("Warfarin 5 mg PO daily - held") starts at most
    ``scope`` tokens after it, both in the span's segment. The nearer one wins;
    at equal distance the forward one ("continue Amlodipine, hold Lisinopril").
    """
    n = len(doc)
    forward = sorted((t for t in status_triggers if t.direction != "backward"), key=lambda t: t.end)
    backward = sorted((t for t in status_triggers if t.direction != "forward"), key=lambda t: t.start)
    forward_ends = [t.end for t in forward]
    backward_starts = [t.start for t in backward]
    statuses = []
    for span in spans:
        seg_start, _ = segment_of(starts, span.start, n)
        _, seg_end = segment_of(starts, max(span.end - 1, span.start), n)
        best = None  # (distance, 0 forward / 1 backward, status)
        k = bisect_right(forward_ends, span.start) - 1
        if k >= 0 and forward[k].start >= seg_start and span.start - forward[k].end <= scope:
            best = (span.start - forward[k].end, 0, forward[k].category)
        k = bisect_left(backward_starts, span.end)
        if k < len(backward) and backward[k].end <= seg_end and backward[k].start - span.end <= scope:
            candidate = (backward[k].start - span.end, 1, backward[k].category)
            best = candidate if best is None or candidate < best else best
        statuses.append(best[2] if best else NO_STATUS)
    return statuses


def covered_tokens(status_triggers: List[Trigger]) -> Set[int]:
    return {i for t in status_triggers for i in range(t.start, t.end)}


def only_status_negation(reached: List[Trigger], status_tokens: Set[int]) -> bool:
    """True when no negation trigger reaching a span is anything but a status phrase ("was held", "discontinued")."""
    return not any(t.category == NEGATED and not any(i in status_tokens for i in range(t.start, t.end))
                   for t in reached)


def ended_drug_value(reached: List[Trigger], status_tokens: Set[int], extra: Sequence[str] = ()) -> str:
    """The value of a held / stopped drug: its triggers' value without the negations that status phrases made."""
    values = [t.category for t in reached
              if not (t.category == NEGATED and any(i in status_tokens for i in range(t.start, t.end)))]
    return strongest(list(values) + list(extra))


def is_ended(status: str) -> bool:
    return status in ENDED_STATUSES

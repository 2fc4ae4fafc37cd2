"""Gold assertion values (present, negated, uncertain, historical, family) from corpus annotations.

A corpus states assertions in its own terms: MACCROBAT puts ``POLARITY`` attributes
on events and marks ``History`` / ``Family_history`` phrases. This module maps
them onto medner's five values, once, so the converter, the trainer and the
evaluation agree. One span gets one value; where several apply, the first in
``PRECEDENCE`` wins ("mother had no seizures" -> negated).

The values are kept in ``doc.spans[ASSERTION_KEY]``: one span per assertable
annotation, ``span.label_`` = the value, the group's ``attrs["entity_labels"]``
= the span's entity label (same order). ``doc.ents`` cannot hold custom values
and a ``DocBin`` keeps span groups, so the gold survives ``.spacy`` files.
"""
from dataclasses import dataclass, field
from typing import Dict, Iterable, Optional, Tuple

ASSERTION_KEY = "assertion"
PRESENT, NEGATED, UNCERTAIN, FAMILY, HISTORICAL = "present", "negated", "uncertain", "family", "historical"
ASSERTION_VALUES = (PRESENT, NEGATED, UNCERTAIN, HISTORICAL, FAMILY)
PRECEDENCE = (NEGATED, UNCERTAIN, FAMILY, HISTORICAL, PRESENT)


def strongest(values: Iterable[str]) -> str:
    """The value that wins among several that apply to one span (``present`` if none)."""
    found = set(values)
    return next((v for v in PRECEDENCE if v in found), PRESENT)


@dataclass(frozen=True)
class AssertionSchema:
    """How one corpus states assertions.

    ``attribute_values``: (attribute name, value) -> assertion value; attributes
    not listed (MACCROBAT's ``TREND``) are counted as ``not_assertion``.
    ``context_labels``: span label -> value given to that span and to every
    assertable span inside it (``History`` -> historical).
    """

    attribute_values: Dict[Tuple[str, Optional[str]], str] = field(default_factory=dict)
    context_labels: Dict[str, str] = field(default_factory=dict)


MACCROBAT_ASSERTIONS = AssertionSchema(
    attribute_values={
        ("POLARITY", "NEG"): NEGATED,
        ("POLARITY", "UNCERTAIN"): UNCERTAIN,
        ("POLARITY", "MAYBE_POS"): UNCERTAIN,
        ("POLARITY", "MAYBE_NEG"): UNCERTAIN,
        ("POLARITY", "POS"): PRESENT,
    },
    context_labels={"History": HISTORICAL, "Family_history": FAMILY},
)

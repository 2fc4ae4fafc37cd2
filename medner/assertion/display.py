"""displaCy views that show an entity's assertion: negated and uncertain entities look different.

displaCy colours by label, so the assertion goes into the label ("DISEASE
(negated)") and gets its own colour: grey for negated, amber for uncertain,
so "no pneumonia" never looks like a finding. Present entities keep their
label and colour; historical and family get a suffix only.
"""
from typing import Dict, Iterable, List, Optional

from spacy import displacy
from spacy.tokens import Doc, Span

NEGATED_COLOUR = "#d0d0d0"
UNCERTAIN_COLOUR = "#ffd27f"
SUFFIXES = {"negated": " (negated)", "uncertain": " (uncertain)", "historical": " (historical)", "family": " (family)"}


def display_label(span: Span) -> str:
    value = span._.assertion if Span.has_extension("assertion") else None
    return span.label_ + SUFFIXES.get(value or "", "")


def has_assertions(docs: Iterable[Doc]) -> bool:
    """Whether any entity of ``docs`` carries an assertion value."""
    return Span.has_extension("assertion") and any(e._.assertion is not None for d in docs for e in d.ents)


def assertion_ents(doc: Doc, spans: Optional[Iterable[Span]] = None, title: Optional[str] = None) -> Dict:
    """displaCy manual-mode data for ``spans`` (default ``doc.ents``) with assertion labels.

    ``title`` defaults to ``doc.user_data["title"]``, as displaCy's own ``ent`` style does.
    """
    spans = list(doc.ents if spans is None else spans)
    ents = [{"start": s.start_char, "end": s.end_char, "label": display_label(s)} for s in spans]
    title = title if title is not None else doc.user_data.get("title")
    return {"text": doc.text, "ents": sorted(ents, key=lambda e: (e["start"], e["end"])), "title": title}


def assertion_colours(labels: Iterable[str]) -> Dict[str, str]:
    """Colour for every negated / uncertain display label among ``labels``."""
    colours = {}
    for label in labels:
        if label.endswith(SUFFIXES["negated"]):
            colours[label] = NEGATED_COLOUR
        elif label.endswith(SUFFIXES["uncertain"]):
            colours[label] = UNCERTAIN_COLOUR
    return colours


def render_assertions(docs: Iterable[Doc], page: bool = False, colours: Optional[Dict[str, str]] = None) -> str:
    """HTML of ``docs`` with negated and uncertain entities marked; ``colours`` adds to the defaults."""
    data: List[Dict] = [assertion_ents(doc) for doc in docs]
    labels = {e["label"] for d in data for e in d["ents"]}
    options = {"colors": {**assertion_colours(labels), **(colours or {})}}
    return displacy.render(data, style="ent", manual=True, page=page, options=options)

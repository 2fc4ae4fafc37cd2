"""``medner_abbreviations`` and ``medner_abbreviation_propagation``: abbreviation definitions
as spans, and NER labels carried from a long form to its short forms.

``medner_abbreviations`` runs :func:`medner.abbreviations.detect.find_definitions` on
the text and records every occurrence of each defined short form (the
definition site included), scispaCy-style:

* ``doc._.abbreviations``: list of short-form ``Span``\\ s, in text order;
* ``span._.long_form``: the long-form ``Span`` of the definition that short
  form refers to (the nearest one before it), ``None`` for other spans.

Both are read from two aligned span groups, so they survive ``DocBin``,
``Doc.to_bytes`` and multiprocessing (scispaCy keeps ``Span`` objects in
extension attributes, which do not serialize):
``doc.spans["abbreviations"]`` (label ``SHORT_FORM``; ``attrs["definition"]``
marks the definition sites) and ``doc.spans["abbreviation_long_forms"]``
(label ``LONG_FORM``), the i-th long form belonging to the i-th short form.
``span._.long_form = long_span`` adds or replaces a pair by hand (tests, other
detectors); ``= None`` removes it.

``medner_abbreviation_propagation`` goes after ``ner``: where a long form is an
entity with label L, every occurrence of its short form becomes an entity
with label L (see :class:`AbbreviationPropagation` for the overlap policy).
It detects the abbreviations itself when no ``medner_abbreviations`` ran
before it.
"""
from bisect import bisect_left, bisect_right
from collections import Counter
from typing import Dict, Iterable, List, Literal, Optional, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup
from spacy.util import filter_spans

from .detect import find_definitions, find_short_form_occurrences

__all__ = [
    "SHORT_FORMS_KEY",
    "LONG_FORMS_KEY",
    "AbbreviationDetector",
    "AbbreviationPropagation",
    "abbreviation_pairs",
    "set_abbreviations",
    "detect_abbreviations",
    "propagate_entity_labels",
]

SHORT_FORMS_KEY = "abbreviations"
LONG_FORMS_KEY = "abbreviation_long_forms"
SHORT_FORM_LABEL = "SHORT_FORM"
LONG_FORM_LABEL = "LONG_FORM"


def abbreviation_pairs(doc: Doc) -> List[Tuple[Span, Span]]:
    """``(short form, long form)`` for every recorded short-form occurrence, in text order."""
    if SHORT_FORMS_KEY not in doc.spans or LONG_FORMS_KEY not in doc.spans:
        return []
    return list(zip(doc.spans[SHORT_FORMS_KEY], doc.spans[LONG_FORMS_KEY]))


def set_abbreviations(doc: Doc, pairs: Iterable[Tuple[Span, Span]], definitions: Iterable[bool] = ()) -> None:
    """Write ``(short form, long form)`` pairs into the two span groups (replacing them).

    Pairs are sorted by the short form's position; a short form given twice keeps the last pair.
    ``definitions``: per pair, whether it is the definition site (default: False).
    """
    flags = list(definitions)
    by_short: Dict[Tuple[int, int], Tuple[Span, Span, bool]] = {}
    for index, (short_span, long_span) in enumerate(pairs):
        flag = flags[index] if index < len(flags) else False
        by_short[(short_span.start, short_span.end)] = (short_span, long_span, flag)
    ordered = [by_short[key] for key in sorted(by_short)]
    shorts = [_labelled(s, SHORT_FORM_LABEL) for s, _, _ in ordered]
    longs = [_labelled(lf, LONG_FORM_LABEL) for _, lf, _ in ordered]
    doc.spans[SHORT_FORMS_KEY] = SpanGroup(
        doc, name=SHORT_FORMS_KEY, spans=shorts, attrs={"definition": [flag for _, _, flag in ordered]}
    )
    doc.spans[LONG_FORMS_KEY] = SpanGroup(doc, name=LONG_FORMS_KEY, spans=longs)


def _labelled(span: Span, label: str) -> Span:
    return span if span.label_ == label else Span(span.doc, span.start, span.end, label=label)


def _get_abbreviations(doc: Doc) -> List[Span]:
    return [short_span for short_span, _ in abbreviation_pairs(doc)]


def _get_long_form(span: Span) -> Optional[Span]:
    doc = span.doc
    if SHORT_FORMS_KEY not in doc.spans or LONG_FORMS_KEY not in doc.spans:
        return None
    shorts, longs = doc.spans[SHORT_FORMS_KEY], doc.spans[LONG_FORMS_KEY]
    # The groups are sorted by position (set_abbreviations): binary search, then a scan for
    # groups someone filled in another order.
    index = bisect_left(shorts, (span.start, span.end), key=lambda short_span: (short_span.start, short_span.end))
    if index < len(shorts) and (shorts[index].start, shorts[index].end) == (span.start, span.end):
        return longs[index] if index < len(longs) else None
    for short_span, long_span in zip(shorts, longs):
        if short_span.start == span.start and short_span.end == span.end:
            return long_span
    return None


def _set_long_form(span: Span, long_span: Optional[Span]) -> None:
    doc = span.doc
    pairs = [(s, lf) for s, lf in abbreviation_pairs(doc) if (s.start, s.end) != (span.start, span.end)]
    flags_by_key = {}
    if SHORT_FORMS_KEY in doc.spans:
        flags = doc.spans[SHORT_FORMS_KEY].attrs.get("definition") or []
        flags_by_key = {(s.start, s.end): f for s, f in zip(doc.spans[SHORT_FORMS_KEY], flags)}
    if long_span is not None:
        if long_span.doc is not doc:
            raise ValueError("long_form must be a Span of the same Doc as the short form")
        pairs.append((span, long_span))
    set_abbreviations(doc, pairs, [flags_by_key.get((s.start, s.end), False) for s, _ in pairs])


Doc.set_extension("abbreviations", getter=_get_abbreviations, force=True)
Span.set_extension("long_form", getter=_get_long_form, setter=_set_long_form, force=True)


def detect_abbreviations(doc: Doc, rules: str = "ab3p") -> Doc:
    """Find the definitions in ``doc.text`` and record every short-form occurrence as a pair.

    A definition's long and short forms are widened to whole tokens (they sit
    next to brackets, so with the biomedical tokenizer they already are);
    other occurrences are kept only where they are whole tokens, so "ALT"
    inside a token "ALT-positive" is skipped rather than stretched.
    """
    text = doc.text  # built from every token: once
    definitions = find_definitions(text, rules=rules)
    if not definitions:
        set_abbreviations(doc, [])
        return doc
    tokens = _TokenOffsets(doc)
    long_spans = {}
    for definition in definitions:
        long_tokens = tokens.expand(definition.long_start, definition.long_end)
        short_tokens = tokens.expand(definition.short_start, definition.short_end)
        if long_tokens is None or short_tokens is None or _overlaps(long_tokens, short_tokens):
            continue
        long_spans[definition] = long_tokens
    sites = {(d.short_start, d.short_end): d for d in long_spans}
    pairs, flags = [], []
    for start, end, definition in find_short_form_occurrences(text, list(long_spans)):
        site = sites.get((start, end))
        short_tokens = tokens.expand(start, end) if site is not None else tokens.strict(start, end)
        long_tokens = long_spans[site if site is not None else definition]
        if short_tokens is None or _overlaps(short_tokens, long_tokens):
            continue
        pairs.append((short_tokens, long_tokens))
        flags.append(site is not None)
    set_abbreviations(
        doc,
        [(Span(doc, *short, label=SHORT_FORM_LABEL), Span(doc, *long_, label=LONG_FORM_LABEL)) for short, long_ in pairs],
        flags,
    )
    return doc


class _TokenOffsets:
    """Character offsets -> token indices by binary search (``Doc.char_span`` creates Token
    objects on every call, which dominates on long documents)."""

    def __init__(self, doc: Doc):
        self.starts = doc.to_array("IDX").tolist()
        lengths = doc.to_array("LENGTH").tolist()
        self.ends = [start + length for start, length in zip(self.starts, lengths)]

    def expand(self, start: int, end: int) -> Optional[Tuple[int, int]]:
        """Tokens covering ``[start, end)``, widened to whole tokens; ``None`` if only whitespace."""
        first = bisect_right(self.ends, start)
        last = bisect_left(self.starts, end)
        return (first, last) if first < last else None

    def strict(self, start: int, end: int) -> Optional[Tuple[int, int]]:
        """Tokens exactly ``[start, end)``, else ``None``."""
        first = bisect_left(self.starts, start)
        last = bisect_left(self.starts, end)
        if first < len(self.starts) and self.starts[first] == start and last > first and self.ends[last - 1] == end:
            return first, last
        return None


def _overlaps(a: Tuple[int, int], b: Tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@Language.factory(
    "medner_abbreviations",
    default_config={"rules": "ab3p"},
    assigns=["doc.spans", "doc._.abbreviations", "span._.long_form"],
)
def make_abbreviation_detector(
    nlp: Language, name: str, rules: Literal["schwartz_hearst", "ab3p"]
) -> "AbbreviationDetector":
    """rules: ``"ab3p"`` (Schwartz-Hearst + Ab3P's rules, the default) or ``"schwartz_hearst"`` (the 2003 recipe)."""
    return AbbreviationDetector(name, rules=rules)


class AbbreviationDetector:
    """Stateless: the config is all there is to save."""

    def __init__(self, name: str = "medner_abbreviations", *, rules: str = "ab3p"):
        if rules not in ("schwartz_hearst", "ab3p"):
            raise ValueError(f"rules must be 'schwartz_hearst' or 'ab3p', got {rules!r}")
        self.name = name
        self.rules = rules

    def __call__(self, doc: Doc) -> Doc:
        return detect_abbreviations(doc, rules=self.rules)


def propagate_entity_labels(
    doc: Doc,
    long_form_match: str = "exact",
    untagged_long_form: str = "keep",
) -> Doc:
    """Give every short-form occurrence the label of its long form's entity (see the class doc)."""
    pairs = abbreviation_pairs(doc)
    if not pairs:
        return doc
    ents = list(doc.ents)
    by_tokens = {(ent.start, ent.end): ent for ent in ents}
    ent_index = [-1] * len(doc)
    for index, ent in enumerate(ents):
        ent_index[ent.start:ent.end] = [index] * len(ent)
    # Group the occurrences by their definition (its long form's tokens).
    groups: Dict[Tuple[int, int], List[Span]] = {}
    long_spans: Dict[Tuple[int, int], Span] = {}
    for short_span, long_span in pairs:
        key = (long_span.start, long_span.end)
        groups.setdefault(key, []).append(short_span)
        long_spans[key] = long_span
    new_spans: List[Span] = []
    relabel: Dict[Tuple[int, int], str] = {}
    drop: set = set()
    for key, short_spans in groups.items():
        label = _long_form_label(long_spans[key], ents, by_tokens, ent_index, long_form_match)
        if label is None:
            tagged = [by_tokens[(s.start, s.end)].label_ for s in short_spans if (s.start, s.end) in by_tokens]
            if not tagged or untagged_long_form == "keep":
                continue
            if untagged_long_form == "remove":
                drop.update((s.start, s.end) for s in short_spans)
                continue
            label = Counter(tagged).most_common(1)[0][0]
            if untagged_long_form == "propagate":
                long_span = long_spans[key]
                new_spans.append(Span(doc, long_span.start, long_span.end, label=label))
        for short_span in short_spans:
            token_key = (short_span.start, short_span.end)
            if token_key in by_tokens:
                relabel[token_key] = label
            else:
                new_spans.append(Span(doc, short_span.start, short_span.end, label=label))
    kept = []
    for ent in ents:
        token_key = (ent.start, ent.end)
        if token_key in drop:
            continue
        if token_key in relabel and relabel[token_key] != ent.label_:
            ent = Span(doc, ent.start, ent.end, label=relabel[token_key], kb_id=ent.kb_id)
        kept.append(ent)
    # Existing entities first: on equal length and start, filter_spans keeps the first.
    doc.set_ents(sorted(filter_spans(kept + new_spans), key=lambda span: span.start))
    return doc


def _long_form_label(
    long_span: Span, ents: List[Span], by_tokens, ent_index: List[int], long_form_match: str
) -> Optional[str]:
    exact = by_tokens.get((long_span.start, long_span.end))
    if exact is not None:
        return exact.label_
    if long_form_match == "exact":
        return None
    # "overlap": the entity sharing most tokens with the long form, if it covers at least half of it.
    shared = Counter(ent_index[i] for i in range(long_span.start, long_span.end) if ent_index[i] >= 0)
    if shared:
        best, best_shared = shared.most_common(1)[0]
        if 2 * best_shared >= len(long_span):
            return ents[best].label_
    return None


@Language.factory(
    "medner_abbreviation_propagation",
    default_config={"long_form_match": "exact", "untagged_long_form": "keep", "rules": "ab3p"},
    assigns=["doc.ents"],
    requires=["doc.ents"],
)
def make_abbreviation_propagation(
    nlp: Language,
    name: str,
    long_form_match: Literal["exact", "overlap"],
    untagged_long_form: Literal["keep", "remove", "propagate"],
    rules: Literal["schwartz_hearst", "ab3p"],
) -> "AbbreviationPropagation":
    """long_form_match: ``exact`` (an entity with the long form's tokens) or ``overlap`` (the entity
    sharing most tokens with it, covering at least half); untagged_long_form: what to do when the
    long form is no entity but some short-form occurrences are (``keep`` | ``remove`` |
    ``propagate``: their majority label goes to the long form and every occurrence); rules: the
    detector's rules when no ``medner_abbreviations`` ran before."""
    return AbbreviationPropagation(
        name, long_form_match=long_form_match, untagged_long_form=untagged_long_form, rules=rules
    )


class AbbreviationPropagation:
    """Label short forms like their long forms, after ``ner``.

    Overlap policy: a short-form occurrence that is already an entity with
    exactly its tokens takes the long form's label; otherwise it is added as
    a new entity and ``spacy.util.filter_spans`` settles overlaps with the
    existing entities: the longer span wins ("ALT levels" stays one entity),
    on equal length the one that starts first, on the same tokens the
    existing one. Entities never overlap afterwards.
    """

    def __init__(
        self,
        name: str = "medner_abbreviation_propagation",
        *,
        long_form_match: str = "exact",
        untagged_long_form: str = "keep",
        rules: str = "ab3p",
    ):
        if long_form_match not in ("exact", "overlap"):
            raise ValueError(f"long_form_match must be 'exact' or 'overlap', got {long_form_match!r}")
        if untagged_long_form not in ("keep", "remove", "propagate"):
            raise ValueError(f"untagged_long_form must be 'keep', 'remove' or 'propagate', got {untagged_long_form!r}")
        self.name = name
        self.long_form_match = long_form_match
        self.untagged_long_form = untagged_long_form
        self.rules = rules

    def __call__(self, doc: Doc) -> Doc:
        if SHORT_FORMS_KEY not in doc.spans:
            detect_abbreviations(doc, rules=self.rules)
        return propagate_entity_labels(
            doc, long_form_match=self.long_form_match, untagged_long_form=self.untagged_long_form
        )

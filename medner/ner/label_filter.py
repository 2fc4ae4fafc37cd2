"""``medner_label_filter``: keep only the entity labels a user asked for, and set the rest aside.

A clinician who wants medications and diseases should not have to wade through
41 MACCROBAT types, but nothing the model found should vanish without a trace.
Placed last in a pipeline, the component keeps the entities whose label is in
``labels`` (empty: all) in ``doc.ents`` (and in the merge component's span
group ``spans_key``, with its aligned ``attrs`` lists) and moves the others to
``doc.spans["filtered_labels"]`` (``keep_filtered = false``: drops them). The
spans keep their identity, so ``span._.assertion``, ``span.kb_id_`` and
``span._.kb_candidates`` stay on them. A relation (``medner_relations``) whose
head or tail is set aside goes with it, to ``doc.spans["filtered_relations"]``:
no kept relation points at an entity the output no longer has.

A label that the pipeline before the filter cannot produce is a mistake (a
typo, the wrong pipeline): :class:`UnknownLabel` says so in one line naming the
known labels, at ``initialize`` or at the first document, and at once through
:func:`add_label_filter` or :func:`check_label_filters` (what ``medner
annotate`` and ``medner serve`` call before they read any input)::

    nlp = spacy.load("en_medner_clinical_cnn")
    add_label_filter(nlp, ["MEDICATION", "DISEASE"])
    # or, for a pipeline that has the component:
    spacy.load(path, config={"components": {"label_filter": {"labels": ["MEDICATION", "DISEASE"]}}})

:func:`filter_doc` is the same filter on one doc, for callers (the service)
whose documents in one ``nlp.pipe`` batch ask for different labels.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Collection, Dict, Iterable, List, Optional, Sequence, Union

import srsly
from spacy import util
from spacy.language import Language
from spacy.tokens import Doc, SpanGroup

FACTORY = "medner_label_filter"
DEFAULT_NAME = "label_filter"
FILTERED_KEY = "filtered_labels"  # the span group of the entities set aside
# medner_relations' span group (medner.relations.component.RELATIONS_KEY; not imported: no cycle) and
# the group of the relations set aside because one side's label was filtered out.
RELATIONS_KEY = "medner_relations"
FILTERED_RELATIONS_KEY = "filtered_relations"
# The mission's main entity types (clinical and abstract pipelines): what the page shows first.
MAIN_LABELS = ("MEDICATION", "DISEASE", "SIGN_SYMPTOM", "TREATMENT", "TEST", "CHEMICAL")


class UnknownLabel(ValueError):
    """A label the pipeline cannot produce (one line, naming the ones it can)."""


def parse_labels(value: Optional[Union[str, Iterable[str]]]) -> List[str]:
    """``"MEDICATION, DISEASE"`` or a list -> ``["MEDICATION", "DISEASE"]`` (order kept, duplicates and blanks dropped)."""
    if value is None:
        return []
    parts = value.split(",") if isinstance(value, str) else list(value)
    labels: List[str] = []
    for part in parts:
        label = str(part).strip()
        if label and label not in labels:
            labels.append(label)
    return labels


def known_labels(nlp: Language, before: Optional[str] = None) -> List[str]:
    """The entity labels the pipeline (up to component ``before``) can put in ``doc.ents``."""
    from ..release.packaging import output_labels
    from ..serve.render import pipeline_labels

    # outside medner's plumbing (output_labels knows none): every label a component before the filter has
    return output_labels(nlp, until=before) or pipeline_labels(nlp, until=before)


def check_labels(labels: Sequence[str], known: Collection[str], what: Optional[str] = None,
                 whose: str = "this pipeline's") -> None:
    """Raise :class:`UnknownLabel` for labels not in ``known`` (message prefixed with ``what``)."""
    unknown = [label for label in labels if label not in set(known)]
    if unknown:
        raise UnknownLabel(
            f"{what + ': ' if what else ''}unknown label{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"{whose} labels: {', '.join(sorted(known)) or '(none)'}"
        )


def filter_doc(doc: Doc, labels: Collection[str], *, spans_key: str = "medner", keep_filtered: bool = True) -> Doc:
    """Keep the entities labelled ``labels`` (empty: all) in ``doc.ents`` and ``doc.spans[spans_key]``;
    move the others to ``doc.spans["filtered_labels"]`` (appended to what is there) unless not ``keep_filtered``."""
    if not labels:
        return doc
    keep = set(labels)
    moved = []
    ents = list(doc.ents)
    if any(ent.label_ not in keep for ent in ents):
        moved.extend(ent for ent in ents if ent.label_ not in keep)
        # the removed entities' tokens become outside (O), the rest of the annotation is unchanged
        doc.set_ents([ent for ent in ents if ent.label_ in keep], outside=moved, default="unmodified")
    if spans_key in doc.spans:
        group = doc.spans[spans_key]
        kept_at = [i for i, span in enumerate(group) if span.label_ in keep]
        if len(kept_at) < len(group):
            seen = {(s.start, s.end, s.label) for s in moved}  # the merge group repeats doc.ents
            moved.extend(span for span in group if span.label_ not in keep and (span.start, span.end, span.label) not in seen)
            doc.spans[spans_key] = _subgroup(doc, group, kept_at, spans_key)
    if moved and keep_filtered:
        previous = list(doc.spans[FILTERED_KEY]) if FILTERED_KEY in doc.spans else []
        doc.spans[FILTERED_KEY] = SpanGroup(doc, name=FILTERED_KEY, spans=previous + moved)
    _filter_relations(doc, keep, keep_filtered)
    return doc


def _filter_relations(doc: Doc, keep: Collection[str], keep_filtered: bool) -> None:
    """A relation whose head or tail has a label set aside goes with it (to ``doc.spans["filtered_relations"]``),
    so no kept relation points at an entity the output no longer has."""
    if RELATIONS_KEY not in doc.spans:
        return
    group = doc.spans[RELATIONS_KEY]
    pairs = [(group[2 * i], group[2 * i + 1]) for i in range(len(group) // 2)]
    outside = [i for i, pair in enumerate(pairs) if any(span.label_ and span.label_ not in keep for span in pair)]
    if not outside:
        return
    inside = [i for i in range(len(pairs)) if i not in set(outside)]
    doc.spans[RELATIONS_KEY] = _relation_subgroup(doc, group, inside, RELATIONS_KEY)
    if keep_filtered:
        doc.spans[FILTERED_RELATIONS_KEY] = _relation_subgroup(doc, group, outside, FILTERED_RELATIONS_KEY)


def _relation_subgroup(doc: Doc, group: SpanGroup, relations: List[int], name: str) -> SpanGroup:
    """The (head, tail) pairs of a relations group at ``relations``, with its per-relation ``attrs`` cut alike."""
    n = len(group) // 2
    attrs = {key: ([value[i] for i in relations] if isinstance(value, (list, tuple)) and len(value) == n else value)
             for key, value in (group.attrs or {}).items()}
    spans = [group[k] for i in relations for k in (2 * i, 2 * i + 1)]
    return SpanGroup(doc, name=name, spans=spans, attrs=attrs)


def _subgroup(doc: Doc, group: SpanGroup, indices: List[int], name: str) -> SpanGroup:
    """The spans of ``group`` at ``indices``, with every ``attrs`` list aligned to the group cut the same way."""
    n = len(group)
    attrs = {key: ([value[i] for i in indices] if isinstance(value, (list, tuple)) and len(value) == n else value)
             for key, value in (group.attrs or {}).items()}
    return SpanGroup(doc, name=name, spans=[group[i] for i in indices], attrs=attrs)


@Language.factory(
    FACTORY,
    default_config={"labels": [], "keep_filtered": True, "spans_key": "medner"},
    assigns=["doc.ents", "doc.spans"],
)
def make_label_filter(nlp: Language, name: str, labels: List[str], keep_filtered: bool, spans_key: str) -> "LabelFilter":
    """labels (List[str]): entity labels to keep (empty: all); keep_filtered (bool): put the other entities in
    ``doc.spans["filtered_labels"]`` (else drop them); spans_key (str): the merge component's span group, filtered too."""
    return LabelFilter(nlp, name, labels=labels, keep_filtered=keep_filtered, spans_key=spans_key)


class LabelFilter:
    """Stateless beyond its config; checks its labels against the pipeline once."""

    def __init__(self, nlp: Language, name: str = DEFAULT_NAME, *, labels: Sequence[str] = (),
                 keep_filtered: bool = True, spans_key: str = "medner"):
        self.nlp = nlp
        self.name = name
        self.labels = parse_labels(labels)
        self.keep_filtered = keep_filtered
        self.spans_key = spans_key
        self._checked = False

    @property
    def cfg(self) -> Dict[str, object]:
        return {"labels": list(self.labels), "keep_filtered": self.keep_filtered, "spans_key": self.spans_key}

    def check(self, nlp: Optional[Language] = None, what: Optional[str] = "") -> None:
        """Raise :class:`UnknownLabel` if a label is not one the components before this one can produce
        (the message starts with ``what``, by default the component's name)."""
        if self.labels:
            nlp = nlp or self.nlp
            check_labels(self.labels, known_labels(nlp, before=self.name if self.name in nlp.pipe_names else None),
                         what=f"{self.name} (medner_label_filter)" if what == "" else what)
        self._checked = True

    def initialize(self, get_examples: Optional[Callable[[], Iterable]] = None, *, nlp: Optional[Language] = None) -> None:
        self.check(nlp)

    def __call__(self, doc: Doc) -> Doc:
        if not self._checked:
            self.check()
        return filter_doc(doc, self.labels, spans_key=self.spans_key, keep_filtered=self.keep_filtered)

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterable[Doc]:
        for doc in docs:
            yield self(doc)

    # ------------------------------------------------ serialization: the config only, and the config decides
    # The saved ``cfg`` records what the pipeline was saved with; loading does not put it back over the
    # settings the component was built with, so ``spacy.load(path, config={"components": {"label_filter":
    # {"labels": [...]}}})`` wins (config.cfg holds the saved labels when there is no override).
    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return srsly.msgpack_dumps({"cfg": self.cfg})

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> "LabelFilter":
        if "cfg" not in srsly.msgpack_loads(data):
            raise ValueError(f"{self.name} (medner_label_filter): the bytes hold no cfg; not a label filter's bytes")
        return self

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> None:
        util.to_disk(path, {"cfg": lambda p: srsly.write_json(p, self.cfg)}, exclude)

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> "LabelFilter":
        cfg_path = Path(path) / "cfg"
        if not cfg_path.is_file():
            raise ValueError(f"{self.name} (medner_label_filter): {cfg_path} is missing; the pipeline was not saved whole")
        self._checked = False
        return self


def label_filters(nlp: Language) -> List[LabelFilter]:
    """The pipeline's ``medner_label_filter`` components."""
    return [pipe for name, pipe in nlp.pipeline if nlp.get_pipe_meta(name).factory == FACTORY]


def check_label_filters(nlp: Language) -> None:
    """Check every ``medner_label_filter`` of a loaded pipeline now (raises :class:`UnknownLabel`),
    so a typo in a ``spacy.load`` config override fails before the first document, not in it."""
    for pipe in label_filters(nlp):
        pipe.check(nlp)


def add_label_filter(nlp: Language, labels: Optional[Union[str, Iterable[str]]], *, keep_filtered: bool = True,
                     name: str = DEFAULT_NAME) -> Language:
    """Filter ``nlp``'s entities to ``labels`` (``"A,B"`` or a list; empty or ``None``: all).

    The pipeline's own ``medner_label_filter`` (if it has one) is reconfigured
    in place, else one is added last. Unknown labels raise :class:`UnknownLabel`
    at once (``unknown label X; this pipeline's labels: ...``). Returns ``nlp``.
    """
    config = {"labels": parse_labels(labels), "keep_filtered": keep_filtered}
    existing = [n for n, _ in nlp.pipeline if nlp.get_pipe_meta(n).factory == FACTORY]
    if existing:
        config["spans_key"] = nlp.get_pipe(existing[0]).spans_key
        nlp.replace_pipe(existing[0], FACTORY, config=config)
        pipe = nlp.get_pipe(existing[0])
    else:
        pipe = nlp.add_pipe(FACTORY, name=name, last=True, config=config)
    pipe.check(nlp, what=None)
    return nlp


def default_page_labels(labels: Sequence[str]) -> List[str]:
    """The labels the page shows first: the mission's main types the pipeline has (all labels if it has none)."""
    main = [label for label in labels if label.upper() in MAIN_LABELS]
    return main or list(labels)

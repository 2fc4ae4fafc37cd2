"""``medner_merge_entities``: merge entity spans from several sources into ``doc.ents``.

Sources are span keys, in order; the special key ``"ents"`` means the
``doc.ents`` present when the component runs (e.g. set by spaCy's ``ner``).
Candidates from all sources are ranked by the policy and taken greedily,
skipping any that overlaps a span already taken (like
``spacy.util.filter_spans``), so the result never overlaps:

* ``prefer_first``: earlier source wins; within a source, longer first.
* ``longest``: longer span wins; ties by source order.
* ``union``: keep everything that does not overlap; on overlap the label
  earlier in ``label_priority`` wins (unlisted labels after listed ones),
  then the longer span, then source order.
* ``vote``: spans proposed identically (same tokens and label) by more
  sources win; then longer, then source order. Spans with fewer than
  ``min_votes`` votes are dropped.

The result goes to ``doc.spans[spans_key]`` (default ``"medner"``) with
``attrs["sources"]`` (the source each span was taken from),
``attrs["agreement"]`` (``"+"``-joined sources that proposed exactly that
span) and ``attrs["scores"]`` (the source's score where it had one, else
``None``), all aligned with the spans; and to ``doc.ents`` if ``set_ents``.
"""
from typing import Any, Callable, Dict, Iterable, List, Literal, Optional, Sequence, Tuple, get_args

import numpy as np
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example
from spacy.vocab import Vocab

from ..evaluation.spans import score_spans_or_ents

Policy = Literal["prefer_first", "longest", "union", "vote"]
POLICIES = get_args(Policy)
ENTS = "ents"


@Language.factory(
    "medner_merge_entities",
    default_config={
        "sources": [ENTS],
        "policy": "prefer_first",
        "label_priority": [],
        "min_votes": 1,
        "spans_key": "medner",
        "set_ents": True,
        "scorer": {"@scorers": "medner.spans_or_ents_scorer.v1"},
    },
    assigns=["doc.ents", "doc.spans"],
    default_score_weights={"spans_medner_f": 1.0, "spans_medner_p": 0.0, "spans_medner_r": 0.0},
)
def make_merge_entities(
    nlp: Language,
    name: str,
    sources: List[str],
    policy: Policy,
    label_priority: List[str],
    min_votes: int,
    spans_key: str,
    set_ents: bool,
    scorer: Optional[Callable],
) -> "MergeEntities":
    """Create a ``medner_merge_entities`` component.

    sources (List[str]): span keys in priority order; ``"ents"`` = current ``doc.ents``.
    policy (str): ``prefer_first`` | ``longest`` | ``union`` | ``vote`` (see module doc).
    label_priority (List[str]): label order for ``union`` overlaps.
    min_votes (int): minimum number of agreeing sources for ``vote``.
    spans_key (str): span group written with the merged spans and provenance.
    set_ents (bool): also write the merged spans to ``doc.ents``.
    scorer: default ``medner.spans_or_ents_scorer.v1`` (keys ``spans_<spans_key>_*``).
    """
    return MergeEntities(
        nlp.vocab,
        name,
        sources=sources,
        policy=policy,
        label_priority=label_priority,
        min_votes=min_votes,
        spans_key=spans_key,
        set_ents=set_ents,
        scorer=scorer,
    )


Candidate = Tuple[Span, int, Optional[float]]  # span, source index, score


class MergeEntities(Pipe):
    """Merge entity spans from several sources; see the module docstring."""

    def __init__(
        self,
        vocab: Vocab,
        name: str = "medner_merge_entities",
        *,
        sources: Sequence[str] = (ENTS,),
        policy: Policy = "prefer_first",
        label_priority: Sequence[str] = (),
        min_votes: int = 1,
        spans_key: str = "medner",
        set_ents: bool = True,
        scorer: Optional[Callable] = score_spans_or_ents,
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        if not sources:
            raise ValueError("at least one source is needed")
        self.vocab = vocab
        self.name = name
        self.scorer = scorer
        self.cfg: Dict[str, Any] = {
            "sources": list(sources),
            "policy": policy,
            "label_priority": list(label_priority),
            "min_votes": int(min_votes),
            "spans_key": spans_key,
            "set_ents": bool(set_ents),
        }

    @property
    def spans_key(self) -> str:
        return self.cfg["spans_key"]

    def candidates(self, doc: Doc) -> List[Candidate]:
        """All spans of all sources, with source index and score (``None`` if unknown)."""
        found: List[Candidate] = []
        for index, key in enumerate(self.cfg["sources"]):
            if key == ENTS:
                spans, scores = list(doc.ents), None
            elif key in doc.spans:
                group = doc.spans[key]
                spans = list(group)
                scores = group.attrs.get("scores")
                if scores is not None and len(scores) != len(spans):
                    scores = None  # misaligned: do not guess
            else:
                continue
            for i, span in enumerate(spans):
                found.append((span, index, None if scores is None else float(scores[i])))
        return found

    def merge(self, doc: Doc) -> Tuple[List[Span], List[str], List[str], List[Optional[float]]]:
        """Merged spans (sorted) with their source, agreeing sources and score."""
        sources = self.cfg["sources"]
        candidates = self.candidates(doc)
        proposers: Dict[Tuple[int, int, int], List[int]] = {}
        for span, index, _ in candidates:
            who = proposers.setdefault((span.start, span.end, span.label), [])
            if index not in who:
                who.append(index)
        policy = self.cfg["policy"]
        priority = {label: i for i, label in enumerate(self.cfg["label_priority"])}

        def rank(candidate: Candidate):
            span, index, _ = candidate
            length = span.end - span.start
            if policy == "prefer_first":
                return (index, -length, span.start)
            if policy == "longest":
                return (-length, index, span.start)
            if policy == "union":
                return (priority.get(span.label_, len(priority)), -length, index, span.start)
            votes = len(proposers[(span.start, span.end, span.label)])
            return (-votes, -length, index, span.start)

        if policy == "vote":
            candidates = [
                c for c in candidates if len(proposers[(c[0].start, c[0].end, c[0].label)]) >= self.cfg["min_votes"]
            ]
        taken = np.zeros(len(doc), dtype=bool)
        chosen: List[Candidate] = []
        for candidate in sorted(candidates, key=rank):
            span = candidate[0]
            if span.end <= span.start or taken[span.start : span.end].any():
                continue
            taken[span.start : span.end] = True
            chosen.append(candidate)
        chosen.sort(key=lambda c: (c[0].start, c[0].end))
        spans = [Span(doc, c[0].start, c[0].end, label=c[0].label) for c in chosen]
        origin = [sources[c[1]] for c in chosen]
        agreement = ["+".join(sources[i] for i in sorted(proposers[(c[0].start, c[0].end, c[0].label)])) for c in chosen]
        scores = [c[2] for c in chosen]
        return spans, origin, agreement, scores

    def __call__(self, doc: Doc) -> Doc:
        spans, origin, agreement, scores = self.merge(doc)
        key = self.spans_key
        doc.spans[key] = SpanGroup(
            doc, name=key, spans=spans, attrs={"sources": origin, "agreement": agreement, "scores": scores}
        )
        if self.cfg["set_ents"]:
            doc.set_ents(spans, default="outside")
        return doc

    def initialize(self, get_examples=None, *, nlp=None) -> None:
        """Nothing to learn."""

    def score(self, examples: Iterable[Example], **kwargs) -> Dict[str, Any]:
        if self.scorer is None:
            return {}
        return self.scorer(examples, spans_key=self.spans_key, **kwargs)

    def to_disk(self, path, *, exclude=tuple()) -> None:
        import srsly
        from spacy.util import ensure_path

        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / "cfg", self.cfg)

    def from_disk(self, path, *, exclude=tuple()) -> "MergeEntities":
        return self  # the pipeline config is the source of truth

    def to_bytes(self, *, exclude=tuple()) -> bytes:
        import srsly

        return srsly.msgpack_dumps(self.cfg)

    def from_bytes(self, bytes_data: bytes, *, exclude=tuple()) -> "MergeEntities":
        return self

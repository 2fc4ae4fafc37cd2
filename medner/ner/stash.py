"""``medner_stash_entities``: move ``doc.ents`` into a span group so another ``ner`` can run unconstrained.

spaCy's ``ner`` respects entities already in ``doc.ents`` (tokens preset to
``O`` or inside an entity are forced), so two ``ner`` components in a row do
not predict independently. Putting this component between them moves the
first one's entities into ``doc.spans[spans_key]`` and resets ``doc.ents`` to
"missing", which is what an ensemble (``medner_merge_entities`` with
``policy = "vote"``) needs: every system's own output, side by side.

``labels`` and ``label_map`` let a pipeline trained on another label set
contribute only what it knows, in this pipeline's terms: e.g. a BC5CDR model's
``CHEMICAL`` entities stashed as ``MEDICATION`` next to a clinical model.
"""
from typing import Dict, List, Optional, Sequence

from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup


@Language.factory(
    "medner_stash_entities",
    default_config={"spans_key": "stashed", "clear_ents": True, "labels": [], "label_map": {}},
    assigns=["doc.spans", "doc.ents"],
)
def make_stash_entities(
    nlp: Language, name: str, spans_key: str, clear_ents: bool, labels: List[str], label_map: Dict[str, str]
) -> "StashEntities":
    """spans_key (str): span group that receives the entities; clear_ents (bool): reset ``doc.ents`` to missing;
    labels (List[str]): keep only entities with these labels (empty: all); label_map (Dict[str, str]):
    rename labels (applied after ``labels``)."""
    return StashEntities(name, spans_key=spans_key, clear_ents=clear_ents, labels=labels, label_map=label_map)


class StashEntities:
    """Stateless: nothing to initialize, train or serialize beyond the config."""

    def __init__(
        self,
        name: str = "medner_stash_entities",
        *,
        spans_key: str = "stashed",
        clear_ents: bool = True,
        labels: Sequence[str] = (),
        label_map: Optional[Dict[str, str]] = None,
    ):
        if not spans_key or spans_key == "ents":
            raise ValueError(f"spans_key must name a span group, got {spans_key!r}")
        self.name = name
        self.spans_key = spans_key
        self.clear_ents = clear_ents
        self.labels = set(labels)
        self.label_map = dict(label_map or {})

    def __call__(self, doc: Doc) -> Doc:
        spans = [
            Span(doc, ent.start, ent.end, label=self.label_map.get(ent.label_, ent.label_), kb_id=ent.kb_id)
            for ent in doc.ents
            if not self.labels or ent.label_ in self.labels
        ]
        doc.spans[self.spans_key] = SpanGroup(doc, name=self.spans_key, spans=spans)
        if self.clear_ents:
            doc.set_ents([], default="missing")
        return doc

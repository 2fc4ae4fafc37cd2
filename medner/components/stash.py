"""``medner_stash_entities``: move ``doc.ents`` into a span group so another ``ner`` can run unconstrained.

spaCy's ``ner`` respects entities already in ``doc.ents`` (tokens preset to
``O`` or inside an entity are forced), so two ``ner`` components in a row do
not predict independently. Putting this component between them moves the
first one's entities into ``doc.spans[spans_key]`` and resets ``doc.ents`` to
"missing", which is what an ensemble (``medner_merge_entities`` with
``policy = "vote"``) needs: every system's own output, side by side.
"""
from spacy.language import Language
from spacy.tokens import Doc, SpanGroup


@Language.factory(
    "medner_stash_entities",
    default_config={"spans_key": "stashed", "clear_ents": True},
    assigns=["doc.spans", "doc.ents"],
)
def make_stash_entities(nlp: Language, name: str, spans_key: str, clear_ents: bool) -> "StashEntities":
    """spans_key (str): span group that receives the entities; clear_ents (bool): reset ``doc.ents`` to missing."""
    return StashEntities(name, spans_key=spans_key, clear_ents=clear_ents)


class StashEntities:
    """Stateless: nothing to initialize, train or serialize beyond the config."""

    def __init__(self, name: str = "medner_stash_entities", *, spans_key: str = "stashed", clear_ents: bool = True):
        if not spans_key or spans_key == "ents":
            raise ValueError(f"spans_key must name a span group, got {spans_key!r}")
        self.name = name
        self.spans_key = spans_key
        self.clear_ents = clear_ents

    def __call__(self, doc: Doc) -> Doc:
        doc.spans[self.spans_key] = SpanGroup(doc, name=self.spans_key, spans=list(doc.ents))
        if self.clear_ents:
            doc.set_ents([], default="missing")
        return doc

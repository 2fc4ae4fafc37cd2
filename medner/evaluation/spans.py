"""spaCy components of medner, and the span scorer they share.

* ``hf_token_classifier`` (:mod:`medner.ner.hf.component`): runs a
  local Hugging Face token-classification model inside a spaCy pipeline.
* ``medner_merge_entities`` (:mod:`medner.ner.merge`): merges entity
  spans from several sources (``doc.ents``, span groups) into ``doc.ents`` with
  provenance.
* ``medner_stash_entities`` (:mod:`medner.ner.stash`): moves
  ``doc.ents`` into a span group so that a second ``ner`` predicts
  independently (ensembles of CNN and transformer ``ner``).
* ``medner_abbreviations`` and ``medner_abbreviation_propagation``
  (:mod:`medner.abbreviations.component`): abbreviation definitions as
  ``doc._.abbreviations`` / ``span._.long_form`` and span groups, and NER
  labels carried from a long form to its short forms.
* ``medner_assertion`` (:mod:`medner.assertion.component`): present, negated,
  uncertain, historical or family for every entity (``span._.assertion``);
  rules, a classifier or both (docs/assertion.md).
* ``medner_linker`` (:mod:`medner.linking.component`): MeSH/MEDIC/OMIM concept
  ids (``span.kb_id_``) and ranked candidates (``span._.kb_candidates``), with
  its knowledge base (:mod:`medner.linking.kb`) saved inside the pipeline (docs/linking.md).

All are registered through entry points in ``pyproject.toml``, so
``nlp.add_pipe("hf_token_classifier")`` and ``spacy.load`` work without
importing medner first.
"""
from typing import Any, Callable, Dict, Iterable

from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry

__all__ = ["spans_or_ents", "score_spans_or_ents", "make_spans_or_ents_scorer"]


def spans_or_ents(doc: Doc, attr: str):
    """Getter for ``Scorer.score_spans``: ``doc.spans[key]`` if present, else ``doc.ents``.

    ``attr`` is ``"spans_<key>"``. Gold documents from the corpora carry their
    entities in ``doc.ents`` only, predicted documents in the span group.
    """
    key = attr[len("spans_"):] if attr.startswith("spans_") else attr
    if key in doc.spans:
        return doc.spans[key]
    return doc.ents


def score_spans_or_ents(examples: Iterable[Example], *, spans_key: str, **kwargs: Any) -> Dict[str, Any]:
    """Score span group ``spans_key`` against gold entities: keys ``spans_<key>_{p,r,f,per_type}``."""
    kwargs = dict(kwargs)
    kwargs.setdefault("attr", f"spans_{spans_key}")
    kwargs.setdefault("getter", spans_or_ents)
    kwargs.setdefault("allow_overlap", True)
    kwargs.setdefault("labeled", True)
    return Scorer.score_spans(examples, **kwargs)


@registry.scorers("medner.spans_or_ents_scorer.v1")
def make_spans_or_ents_scorer() -> Callable[..., Dict[str, Any]]:
    """Registered scorer (``@scorers = "medner.spans_or_ents_scorer.v1"``)."""
    return score_spans_or_ents

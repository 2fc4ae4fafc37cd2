"""A guideline switch: one NER model, trained on corpora that define an entity differently, told which definition to follow.

BC5CDR and NCBI-disease both annotate diseases, but not the same way (NCBI
includes modifiers and composite mentions, BC5CDR annotates symptoms and no
modifiers). Pooling them without saying which is which teaches the model the
average of two definitions (docs/accuracy.md: the joint run lost on one side).
Here every document carries ``doc._.guideline`` (the corpus it follows), the
token vectors get an embedding of it (``medner.GuidelineFeature.v1``, the same
concatenate-and-mix as the dictionary features), and at run time the pipeline
says which guideline to follow:

* ``medner_guideline`` (first in the pipeline) sets ``doc._.guideline`` to its
  configured ``guideline`` where a document has none, so a user's text follows
  the pipeline's guideline and a training document keeps its own;
* ``medner.GuidelineCorpus.v1`` reads a .spacy corpus whose reference documents
  carry ``doc._.guideline`` (``scripts/join_corpora.py --guideline``) and gives
  the predicted documents the same tag, which the training loop then sees.

Switch a trained pipeline to another guideline at load::

    spacy.load(path, config={"components": {"guideline": {"guideline": "ncbi_disease"}}})
"""
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Corpus, Example
from spacy.util import registry
from thinc.api import Embed, Maxout, Model, chain, concatenate, with_array
from thinc.types import Floats2d, Ints1d

from .. import register_extension
from .vocab.architecture import _forward as _mix_forward
from .vocab.architecture import _init as _mix_init

__all__ = ["GuidelineSetter", "build_guideline_feature", "guideline_corpus", "make_guideline"]

GUIDELINE_ATTR = "guideline"

register_extension(Doc, GUIDELINE_ATTR, default=None)


class UnknownGuideline(ValueError):
    """A guideline the pipeline was not trained with (one line, naming the known ones)."""


def check_guideline(guideline: str, guidelines: Iterable[str]) -> None:
    known = list(guidelines)
    if guideline not in known:
        raise UnknownGuideline(f"unknown guideline {guideline!r}; this pipeline knows: {', '.join(known) or '(none)'}")


@Language.factory(
    "medner_guideline",
    default_config={"guideline": "bc5cdr", "guidelines": ["bc5cdr", "ncbi_disease"]},
    assigns=[f"doc._.{GUIDELINE_ATTR}"],
)
def make_guideline(nlp: Language, name: str, guideline: str, guidelines: List[str]) -> "GuidelineSetter":
    """``guidelines``: every guideline the model was trained with, in the order of the
    architecture's ids (the same list, by config interpolation); ``guideline``: the one
    documents without their own follow."""
    return GuidelineSetter(name, guideline=guideline, guidelines=guidelines)


class GuidelineSetter:
    """Sets ``doc._.guideline`` where a document has none."""

    def __init__(self, name: str, guideline: str, guidelines: Iterable[str]):
        self.name = name
        self.guidelines = tuple(guidelines)
        check_guideline(guideline, self.guidelines)
        self.guideline = guideline

    def __call__(self, doc: Doc) -> Doc:
        if doc._.get(GUIDELINE_ATTR) is None:
            doc._.set(GUIDELINE_ATTR, self.guideline)
        return doc


@registry.architectures("medner.GuidelineFeature.v1")
def build_guideline_feature(
    embed: Model[List[Doc], List[Floats2d]],
    guidelines: List[str],
    width: Optional[int] = None,
    feature_width: int = 8,
) -> Model[List[Doc], List[Floats2d]]:
    """``embed``'s vectors + an embedding of the document's guideline (``feature_width`` dims) on
    every token, mixed back to ``width`` by a Maxout layer (``width=None``: ``embed``'s width)."""
    guideline_embed = chain(guideline_ids(guidelines), with_array(Embed(feature_width, len(guidelines) + 1)))
    joined = concatenate(embed, guideline_embed)
    mix = with_array(Maxout(width, nP=3, dropout=0.0, normalize=True))
    model: Model[List[Doc], List[Floats2d]] = Model(
        "guideline_feature", _mix_forward, init=_mix_init, layers=[joined, mix], dims={"nO": width},
        attrs={"feature_width": feature_width},
    )
    model.set_ref("embed", embed)
    return model


def guideline_ids(guidelines: List[str]) -> Model[List[Doc], List[Ints1d]]:
    """Each token's guideline id: 1 + the index of ``doc._.guideline`` in ``guidelines`` (0: none or unknown)."""
    ids = {name: i + 1 for i, name in enumerate(guidelines)}

    def forward(model: Model, docs: List[Doc], is_train: bool):
        arrays = [model.ops.asarray1i([ids.get(doc._.get(GUIDELINE_ATTR), 0)] * len(doc)) for doc in docs]
        return arrays, lambda d_arrays: []

    return Model("guideline_ids", forward, attrs={"guidelines": list(guidelines)})


@registry.readers("medner.GuidelineCorpus.v1")
def guideline_corpus(
    path: Optional[Union[str, Path]], gold_preproc: bool = False, max_length: int = 0, limit: int = 0,
    augmenter: Optional[Callable] = None,
) -> Callable[[Language], Iterator[Example]]:
    """``spacy.Corpus.v1`` whose predicted documents carry their reference's ``doc._.guideline``."""
    corpus = Corpus(path, gold_preproc=gold_preproc, max_length=max_length, limit=limit, augmenter=augmenter)

    def read(nlp: Language) -> Iterator[Example]:
        for example in corpus(nlp):
            tag = example.reference._.get(GUIDELINE_ATTR)
            if tag is not None:
                example.predicted._.set(GUIDELINE_ATTR, tag)
            yield example

    return read


def guideline_component(pipeline: Union[str, Path]) -> str:
    """The name of the ``medner_guideline`` component in a saved pipeline's config (raises :class:`UnknownGuideline`)."""
    from spacy.util import load_config

    components = load_config(Path(pipeline) / "config.cfg", interpolate=False).get("components", {})
    names = [name for name, block in components.items() if block.get("factory") == "medner_guideline"]
    if not names:
        raise UnknownGuideline(f"{pipeline} has no medner_guideline component: it follows one guideline only")
    return names[0]


def save_with_guideline(pipeline: Union[str, Path], guideline: str, output: Union[str, Path]) -> Language:
    """Save a copy of a guideline pipeline that follows ``guideline`` by default (raises :class:`UnknownGuideline`)."""
    import spacy

    name = guideline_component(pipeline)
    nlp = spacy.load(pipeline, config={"components": {name: {"guideline": guideline}}})
    nlp.to_disk(output)
    return nlp

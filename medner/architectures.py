"""Thinc architectures of medner: dictionary-match tags as an input of the token vectors.

``medner.VocabFeatures.v1`` wraps any embedding layer that maps docs to one
vector per token (``spacy.MultiHashEmbed.v2`` in configs/cnn_fast_vocab.cfg,
a transformer listener in a transformer pipeline), embeds each token's
``doc._.vocab_tags`` id (set by ``medner_vocab_features``) in a few
dimensions, concatenates both and mixes them back to ``width`` with a Maxout
layer, so the encoder after it is unchanged.
"""
from typing import List

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Embed, Maxout, Model, chain, concatenate, with_array
from thinc.types import Floats2d, Ints1d

from .components.vocab_features import TAGS_ATTR
from .kb.dictionary import N_TAG_IDS

__all__ = ["build_vocab_features", "vocab_tag_ids"]


@registry.architectures("medner.VocabFeatures.v1")
def build_vocab_features(
    embed: Model[List[Doc], List[Floats2d]],
    width: int,
    feature_width: int = 16,
) -> Model[List[Doc], List[Floats2d]]:
    """``embed``'s vectors + an embedding of the dictionary tags (``feature_width`` dims), mixed to ``width``."""
    tag_embed = chain(vocab_tag_ids(), with_array(Embed(feature_width, N_TAG_IDS)))
    model: Model[List[Doc], List[Floats2d]] = chain(
        concatenate(embed, tag_embed),
        with_array(Maxout(width, nP=3, dropout=0.0, normalize=True)),
    )
    model.set_ref("embed", embed)
    model.set_dim("nO", width)
    return model


def vocab_tag_ids() -> Model[List[Doc], List[Ints1d]]:
    """Each doc's ``doc._.vocab_tags`` as an int array; a doc without them (component not run) is all "O"."""
    return Model("vocab_tag_ids", _tag_ids_forward)


def _tag_ids_forward(model: Model, docs: List[Doc], is_train: bool):
    ops = model.ops
    arrays = []
    for doc in docs:
        tags = doc._.get(TAGS_ATTR)
        if tags is None or len(tags) != len(doc):
            arrays.append(ops.alloc1i(len(doc)))
        else:
            arrays.append(ops.asarray1i(tags))
    return arrays, lambda d_arrays: []

"""Thinc architectures of medner: dictionary-match tags as an input of the token vectors.

``medner.VocabFeatures.v1`` wraps any embedding layer that maps docs to one
vector per token (``spacy.MultiHashEmbed.v2`` in configs/cnn_fast_vocab.cfg,
a transformer listener in a transformer pipeline), embeds each token's
``doc._.vocab_tags`` id (set by ``medner_vocab_features``) in a few
dimensions, concatenates both and mixes them back to ``width`` with a Maxout
layer, so the encoder after it is unchanged.
"""
from typing import List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Embed, Maxout, Model, chain, concatenate, with_array
from thinc.types import Floats2d, Ints1d

from .component import TAGS_ATTR
from .tags import n_tag_ids

__all__ = ["build_vocab_features", "vocab_tag_ids"]


@registry.architectures("medner.VocabFeatures.v1")
def build_vocab_features(
    embed: Model[List[Doc], List[Floats2d]],
    width: Optional[int] = None,
    feature_width: int = 16,
) -> Model[List[Doc], List[Floats2d]]:
    """Two dictionary sources (MEDIC, MESH): ``medner.VocabFeatures.v2`` with ``n_sources = 2``."""
    return build_vocab_features_v2(embed, width=width, feature_width=feature_width, n_sources=2)


@registry.architectures("medner.VocabFeatures.v2")
def build_vocab_features_v2(
    embed: Model[List[Doc], List[Floats2d]],
    width: Optional[int] = None,
    feature_width: int = 16,
    n_sources: int = 2,
) -> Model[List[Doc], List[Floats2d]]:
    """``embed``'s vectors + an embedding of the dictionary tags (``feature_width`` dims), mixed to ``width``.

    ``n_sources``: how many sources ``medner_vocab_features`` has (its ``sources``), which
    fixes the number of tag ids (3 ** n_sources). ``width=None``: the width ``embed``
    produces, found at initialization, so a transformer listener over any local model
    needs no second config value.
    """
    tag_embed = chain(vocab_tag_ids(), with_array(Embed(feature_width, n_tag_ids(n_sources))))
    joined = concatenate(embed, tag_embed)
    mix = with_array(Maxout(width, nP=3, dropout=0.0, normalize=True))
    model: Model[List[Doc], List[Floats2d]] = Model(
        "vocab_features", _forward, init=_init, layers=[joined, mix], dims={"nO": width},
        attrs={"feature_width": feature_width},
    )
    model.set_ref("embed", embed)
    return model


def _forward(model: Model, docs: List[Doc], is_train: bool):
    joined, mix = model.layers
    joined_vectors, backprop_joined = joined(docs, is_train)
    vectors, backprop_mix = mix(joined_vectors, is_train)
    return vectors, lambda d_vectors: backprop_joined(backprop_mix(d_vectors))


def _init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    joined, mix = model.layers
    if X is None:
        joined.initialize()
        mix.initialize()
        return
    joined.initialize(X=X)
    joined_vectors = joined.predict(X)
    if model.has_dim("nO") is not True:
        model.set_dim("nO", joined_vectors[0].shape[1] - model.attrs["feature_width"])
    width = model.get_dim("nO")
    for layer in mix.walk():  # with_array > chain(Maxout, LayerNorm): all output `width`
        if layer.has_dim("nO") is None:
            layer.set_dim("nO", width)
    mix.initialize(X=joined_vectors)


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

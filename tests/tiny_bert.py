"""Tiny, offline BERT token classifiers for tests.

``make_tiny_token_classifier(path, labels)`` writes a randomly initialised
2-layer BERT (hidden size 32) with a token-classification head and a fast
WordPiece tokenizer built from a small vocabulary file to ``path`` (via
``save_pretrained``), and returns ``path``. Nothing is downloaded.

With ``keywords={"aspirin": "B-CHEMICAL", ...}`` the model is instead made
*context-free and deterministic*: attention and feed-forward outputs are
zeroed, position and segment embeddings are zero, so every piece's final
hidden state depends only on its own id, and the embeddings and classifier are
set so that each keyword's piece is tagged with the given tag and every other
piece ``O`` (probability ~1). Predictions then do not depend on the context or
on where a window is cut, which makes exact expectations possible.
"""
from pathlib import Path
from typing import Dict, Iterable, Optional, Sequence, Union

import numpy as np

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789")
PUNCT = list(".,;:!?()[]{}-+/\\*%&'\"<>=#@$^_~|`")
WORDS = (
    "the of and to in a is was with for on as by at from be this that are were an or "
    "patient patients treated treatment given dose daily mg history of acute chronic "
    "pain fever induced disease drug cancer liver renal failure heart blood pressure "
    "ml kg day days year old male female presented showed normal"
).split()


def write_vocab(path: Union[str, Path], extra_words: Iterable[str] = ()) -> Path:
    """Write a small WordPiece ``vocab.txt``: specials, characters, ``##`` characters, words."""
    path = Path(path)
    vocab = list(SPECIALS) + CHARS + PUNCT + [f"##{c}" for c in CHARS]
    for word in list(WORDS) + [w.lower() for w in extra_words]:
        if word not in vocab:
            vocab.append(word)
    path.write_text("\n".join(vocab) + "\n", encoding="utf8")
    return path


def make_tiny_token_classifier(
    path: Union[str, Path],
    labels: Sequence[str] = ("CHEMICAL", "DISEASE"),
    *,
    keywords: Optional[Dict[str, str]] = None,
    max_positions: int = 128,
    hidden_size: int = 32,
    num_layers: int = 2,
    seed: int = 0,
) -> Path:
    """Save a tiny BERT token classifier + fast tokenizer to ``path`` and return ``path``.

    ``labels``: entity labels (turned into ``O``/``B-``/``I-`` tags with
    ``bio_label_list``) or, if it contains ``"O"``, the full tag list as is.
    ``keywords``: optional ``{word: tag}`` for a deterministic context-free model.
    """
    import torch
    from transformers import BertConfig, BertForTokenClassification, BertTokenizerFast

    from medner.ner.hf.alignment import bio_label_list

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tags = list(labels) if "O" in labels else bio_label_list(labels)
    keywords = {k.lower(): v for k, v in (keywords or {}).items()}
    vocab_file = write_vocab(path / "vocab.txt", keywords)
    tokenizer = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True, model_max_length=max_positions)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        intermediate_size=hidden_size * 2,
        max_position_embeddings=max_positions,
        id2label=dict(enumerate(tags)),
        label2id={t: i for i, t in enumerate(tags)},
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    model = BertForTokenClassification(config)
    with torch.no_grad():
        if keywords:
            _make_context_free(model, tokenizer, tags, keywords, hidden_size, seed)
        else:
            model.classifier.weight.normal_(0.0, 1.0)  # peakier, more varied random predictions
    model.eval()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _make_context_free(model, tokenizer, tags, keywords, hidden_size, seed):
    import torch

    unknown = set(keywords.values()) - set(tags)
    if unknown:
        raise ValueError(f"keyword tags not in the label list: {unknown}")
    bert = model.bert
    bert.embeddings.position_embeddings.weight.zero_()
    bert.embeddings.token_type_embeddings.weight.zero_()
    for layer in bert.encoder.layer:
        layer.attention.output.dense.weight.zero_()
        layer.attention.output.dense.bias.zero_()
        layer.output.dense.weight.zero_()
        layer.output.dense.bias.zero_()
    # Orthonormal, zero-mean patterns, one per tag: LayerNorm leaves them unchanged
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(hidden_size, len(tags)))
    raw -= raw.mean(axis=0, keepdims=True)
    q, _ = np.linalg.qr(raw)
    patterns = torch.tensor(q.T * np.sqrt(hidden_size), dtype=torch.float32)  # (n_tags, hidden)
    emb = bert.embeddings.word_embeddings.weight
    emb.copy_(patterns[tags.index("O")].expand_as(emb))
    vocab = tokenizer.get_vocab()
    for word, tag in keywords.items():
        emb[vocab[word]] = patterns[tags.index(tag)]
    model.classifier.weight.copy_(patterns)
    model.classifier.bias.zero_()

"""A tokenizer for biomedical text.

spaCy's English tokenizer keeps strings such as ``[3H]-naloxone``, ``5-HT``,
``beta-catenin/TCF`` or ``10(-8)`` as single tokens, so gold spans in BC5CDR
and NCBI-disease that end inside them cannot be aligned and have to be
expanded. Splitting on hyphens, slashes, brackets and similar punctuation
*inside* words, as scispaCy's tokenizer does, makes almost every annotation in
the shipped corpora fall on token boundaries.
"""
from functools import lru_cache
from typing import Callable, Iterable

from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex, registry

# Characters that separate tokens wherever they occur inside a word.
BIOMEDICAL_INFIXES = [
    r"[\-\u2010-\u2015\u2212]",  # hyphens and dashes, also between digits (5-HT, 10-8)
    r"[()\[\]{}<>/\\+=;:*^~|\"]",  # brackets, slashes, operators
    r"(?<=[^\s0-9]),|,(?=[^\s0-9])",  # commas not inside numbers (1,000 stays whole)
    r"(?<=[0-9])%",
]


def biomedical_tokenizer(nlp: Language) -> Tokenizer:
    """Build the tokenizer for ``nlp``: spaCy's rules plus ``BIOMEDICAL_INFIXES``."""
    defaults = nlp.Defaults
    infixes = list(defaults.infixes or []) + BIOMEDICAL_INFIXES
    return Tokenizer(
        nlp.vocab,
        rules=defaults.tokenizer_exceptions,
        prefix_search=compile_prefix_regex(defaults.prefixes).search,
        suffix_search=compile_suffix_regex(defaults.suffixes).search,
        infix_finditer=compile_infix_regex(infixes).finditer,
        token_match=defaults.token_match,
        url_match=defaults.url_match,
    )


@registry.tokenizers("medner.biomedical_tokenizer.v1")
def create_biomedical_tokenizer() -> Callable[[Language], Tokenizer]:
    """Registered so configs can say ``@tokenizers = "medner.biomedical_tokenizer.v1"``."""
    return biomedical_tokenizer


def blank_biomedical(lang: str = "en") -> Language:
    """A blank pipeline with the biomedical tokenizer (what the converters tokenize with)."""
    import spacy

    return spacy.blank(lang, config={"nlp": {"tokenizer": {"@tokenizers": "medner.biomedical_tokenizer.v1"}}})


def count_words(doc) -> int:
    """Words of a doc for every words/s figure medner reports: its non-space tokens."""
    return sum(1 for token in doc if not token.is_space)


@lru_cache(maxsize=1)
def _word_tokenizer():
    return blank_biomedical().tokenizer


def count_text_words(texts: Iterable[str]) -> int:
    """``count_words`` of raw texts, tokenized with the biomedical tokenizer (the same count whatever the pipeline)."""
    tokenizer = _word_tokenizer()
    return sum(count_words(tokenizer(text)) for text in texts)

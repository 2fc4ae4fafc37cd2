"""``medner_vocab_features``: marks the tokens inside MEDIC / MeSH name matches, as input features for NER.

The component runs first; ``medner.VocabFeatures.v1`` (``medner.ner.vocab.architecture``)
embeds its tags next to the hash embeddings, so the network learns how much
to trust a dictionary match (MeSH names "Rats" or "Time" match everywhere).

* ``doc._.vocab_tags``: one tag id per token (see ``medner.ner.vocab.tags``:
  O/B/I per source; the config's ``sources``, MEDIC and MESH by default, 9 ids,
  or with DRUG, the drug names of drug-named-entity-recognition, 27 ids);
* ``token._.vocab_match``: the readable tag, "B-MEDIC I-MESH" or "O".

The dictionary is built once by ``initialize`` from the vocabulary files
(``[initialize.components.<name>]`` ``medic_path`` / ``mesh_path`` / ``drug_path``), tokenized
with the pipeline's own tokenizer, and saved with the pipeline
(``vocab_patterns.msgpack.gz``), so a packaged pipeline needs no vocabulary
file at run time. Names are matched on ``Token.lower``, abbreviations ("ALL",
"HIV") on ``Token.orth`` (their case), by ``medner.ner.vocab.tags.PhraseIndex``: the
matches of a ``PhraseMatcher`` over the same names, built in under a second at
load; within a source the longest match wins.
"""
import gzip
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Literal, Optional, Union

import srsly
from spacy.language import Language
from spacy.tokens import Doc, Token
from spacy.training import Example
from spacy.util import SimpleFrozenList, from_bytes, from_disk, to_bytes, to_disk
from spacy.vocab import Vocab

from .tags import SOURCES, PhraseIndex, describe_tag, is_abbreviation, iter_tokenized, tag_ids, vocabulary_names

Source = Literal["MEDIC", "MESH", "DRUG"]

__all__ = ["VocabFeatureTagger", "TAGS_ATTR", "make_vocab_features"]

TAGS_ATTR = "vocab_tags"
PATTERNS_FILE = "vocab_patterns.msgpack.gz"
# "lower": names matched on Token.lower; "exact": abbreviations, matched on Token.orth.
MATCH_ATTRS = {"lower": "LOWER", "exact": "ORTH"}
_TOKEN_KEYS = {"lower": lambda doc: [token.lower for token in doc], "exact": lambda doc: [token.orth for token in doc]}

if not Doc.has_extension(TAGS_ATTR):
    Doc.set_extension(TAGS_ATTR, default=None)


def _token_vocab_match(token: Token) -> str:
    tags = token.doc._.get(TAGS_ATTR)
    if tags is None:
        return "O"
    sources = token.doc.user_data.get(SOURCES_KEY, SOURCES)
    return describe_tag(tags[token.i], sources)


# The sources a doc's tags were made with (the tags are only readable with them).
SOURCES_KEY = "medner_vocab_sources"


Token.set_extension("vocab_match", getter=_token_vocab_match, force=True)


@Language.factory(
    "medner_vocab_features",
    default_config={"sources": list(SOURCES)},
    assigns=[f"doc._.{TAGS_ATTR}", "token._.vocab_match"],
)
def make_vocab_features(nlp: Language, name: str, sources: List[Source]) -> "VocabFeatureTagger":
    """``sources``: which dictionaries mark tokens, in tag-id order (the architecture's
    ``n_sources`` must equal their number); the dictionary itself is built by ``initialize``."""
    return VocabFeatureTagger(nlp.vocab, name, sources=sources)


class VocabFeatureTagger:
    """Sets ``doc._.vocab_tags`` from the saved dictionary (token lists per match mode and source)."""

    def __init__(self, vocab: Vocab, name: str = "medner_vocab_features", sources: Iterable[str] = SOURCES):
        self.vocab = vocab
        self.name = name
        self.sources = tuple(sources)
        if len(set(self.sources)) != len(self.sources) or not self.sources:
            raise ValueError(f"{name}: sources must be distinct and non-empty, got {list(self.sources)}")
        # patterns[mode][source] = token lists; mode "lower" (lower-cased words) or "exact"
        self.patterns: Dict[str, Dict[str, List[List[str]]]] = {}
        self.indexes: Dict[str, PhraseIndex] = {}

    @property
    def n_patterns(self) -> int:
        return sum(len(words) for by_source in self.patterns.values() for words in by_source.values())

    def initialize(
        self,
        get_examples: Optional[Callable[[], Iterable[Example]]] = None,
        *,
        nlp: Optional[Language] = None,
        medic_path: Optional[Union[str, Path]] = None,
        mesh_path: Optional[Union[str, Path]] = None,
        drug_path: Optional[Union[str, Path]] = None,
    ) -> None:
        """Build the dictionary from MEDIC (``IDS||NAME|SYNONYM...``), MeSH descriptors (``ID<TAB>NAME``)
        and drug-named-entity-recognition's ``drug_ner_dictionary.pkl.bz2``: those of ``sources``."""
        given = {"MEDIC": medic_path, "MESH": mesh_path, "DRUG": drug_path}
        paths = {source: given[source] for source in self.sources}
        absent = [f"{source.lower()}_path" for source, path in paths.items() if path is None]
        if absent:
            raise ValueError(
                f"{self.name}: initialize needs {', '.join(absent)} for sources {list(self.sources)} "
                f"([initialize.components.{self.name}] in the config)"
            )
        for path in paths.values():
            if not Path(path).is_file():
                raise ValueError(f"{self.name}: vocabulary file not found: {path}")
        tokenizer = nlp.tokenizer if nlp is not None else None
        tokenize = (lambda names: tokenizer.pipe(names, batch_size=1000)) if tokenizer is not None else (
            lambda names: (Doc(self.vocab, words=name.split()) for name in names)
        )
        patterns: Dict[str, Dict[str, List[List[str]]]] = {mode: {s: [] for s in self.sources} for mode in MATCH_ATTRS}
        for source, names in vocabulary_names(paths).items():
            seen = set()
            for name, words in iter_tokenized(names, tokenize):
                mode = "exact" if is_abbreviation(name) else "lower"
                if mode == "lower":
                    words = [word.lower() for word in words]
                key = (mode, tuple(words))
                if key not in seen:
                    seen.add(key)
                    patterns[mode][source].append(words)
        self.set_patterns(patterns)

    def set_patterns(self, patterns: Dict[str, Dict[str, List[List[str]]]]) -> None:
        """Replace the dictionary and rebuild the indexes (``{mode: {source: [[word, ...], ...]}}``)."""
        unknown = set(patterns) - set(MATCH_ATTRS) | {s for by_source in patterns.values() for s in by_source} - set(self.sources)
        if unknown:
            raise ValueError(f"{self.name}: unknown match modes or sources {sorted(unknown)}; "
                             f"modes {sorted(MATCH_ATTRS)}, sources {list(self.sources)}")
        self.patterns = patterns
        self.indexes = {}
        for mode, by_source in patterns.items():
            index = PhraseIndex()
            for source, word_lists in by_source.items():
                index.add(source, word_lists)
            self.indexes[mode] = index

    def __call__(self, doc: Doc) -> Doc:
        if not self.indexes:
            raise ValueError(f"{self.name} has no dictionary: call nlp.initialize() with medic_path and mesh_path, "
                             f"or load a trained pipeline")
        matches: Dict[str, List] = {source: [] for source in self.sources}
        for mode, index in self.indexes.items():
            for source, start, end in index.matches(_TOKEN_KEYS[mode](doc)):
                matches[source].append((start, end))
        doc._.set(TAGS_ATTR, tag_ids(len(doc), matches, self.sources))
        if self.sources != SOURCES:
            doc.user_data[SOURCES_KEY] = self.sources
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 1000) -> Iterable[Doc]:
        for doc in docs:
            yield self(doc)

    # Serialization: the dictionary as gzipped msgpack (a few MB of names compress to ~1 MB).
    def _patterns_bytes(self) -> bytes:
        return gzip.compress(srsly.msgpack_dumps(self.patterns), mtime=0)

    def _load_patterns_bytes(self, data: bytes) -> None:
        self.set_patterns(srsly.msgpack_loads(gzip.decompress(data)))

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = SimpleFrozenList()) -> None:
        to_disk(path, {"patterns": lambda p: p.with_name(PATTERNS_FILE).write_bytes(self._patterns_bytes())}, exclude)

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = SimpleFrozenList()) -> "VocabFeatureTagger":
        def read_patterns(p: Path) -> None:
            file_path = p.with_name(PATTERNS_FILE)
            if not file_path.exists():
                raise ValueError(f"{self.name}: dictionary file missing: {file_path}")
            self._load_patterns_bytes(file_path.read_bytes())

        from_disk(path, {"patterns": read_patterns}, exclude)
        return self

    def to_bytes(self, *, exclude: Iterable[str] = SimpleFrozenList()) -> bytes:
        return to_bytes({"patterns": self._patterns_bytes}, exclude)

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = SimpleFrozenList()) -> "VocabFeatureTagger":
        from_bytes(data, {"patterns": self._load_patterns_bytes}, exclude)
        return self

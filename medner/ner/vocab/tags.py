"""Dictionary-match features: which tokens lie inside a vocabulary name (MEDIC, MeSH).

Dictionary features are what lifted CRF and BiLSTM taggers on BC5CDR and
NCBI-disease; here they are an input to the CNN/transformer NER, not an answer.
The pure parts live here (which names, longest match, tag encoding); the spaCy
component is ``medner.ner.vocab.component`` and the Thinc layer that
embeds the tags is ``medner.ner.vocab.architecture``.

Tag encoding: each source gives every token one of O/B/I (0/1/2); a token's
tag id is ``sum(tag[source] * 3 ** index(source))``, so two sources give 9 ids
and three 27 (0 = outside every match). A pipeline chooses its sources (MEDIC,
MESH, DRUG) in the component's config; their order fixes the ids.
"""
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Sequence, Tuple, Union

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.strings import hash_string


PathLike = Union[str, Path]

# The sources a dictionary can hold: MEDIC diseases, MeSH descriptors, drug names
# (drug-named-entity-recognition's dictionary). The default (0.2.0 pipelines) is the
# first two; the order fixes the tag ids: MEDIC = 3**0, MESH = 3**1, DRUG = 3**2.
KNOWN_SOURCES: Tuple[str, ...] = ("MEDIC", "MESH", "DRUG")
SOURCES: Tuple[str, ...] = ("MEDIC", "MESH")
N_TAG_IDS = 3 ** len(SOURCES)


def n_tag_ids(n_sources: int) -> int:
    """How many tag ids ``n_sources`` sources give (O/B/I each)."""
    return 3 ** n_sources
OUTSIDE, BEGIN, INSIDE = 0, 1, 2
_TAG_LETTERS = "OBI"
# Abbreviations longer than this are matched case-insensitively like other names.
MAX_ABBREVIATION_CHARS = 6


def is_abbreviation(name: str) -> bool:
    """"ALL", "HIV", "FPH2": no lower-case letter, short. Matched with their case,
    so that "ALL" (acute lymphoblastic leukaemia) does not fire on the word "all"."""
    return len(name) <= MAX_ABBREVIATION_CHARS and any(c.isupper() for c in name) and not any(c.islower() for c in name)


def uninverted(name: str) -> List[str]:
    """MeSH's inverted names read as text does: "Arthritis, Rheumatoid" -> "Rheumatoid Arthritis".

    Only names with exactly one ", " are turned; the name itself always stays.
    """
    names = [name]
    parts = name.split(", ")
    if len(parts) == 2 and parts[0] and parts[1]:
        names.append(f"{parts[1]} {parts[0]}")
    return names


def keep_name(name: str) -> bool:
    """Skip names that would match ordinary words: one character, no letter, an English stop word
    matched case-insensitively ("Back"). Abbreviations stay ("ALL", "AT"): they match with their case."""
    stripped = name.strip()
    if len(stripped) < 2 or not any(c.isalpha() for c in stripped):
        return False
    return is_abbreviation(stripped) or stripped.lower() not in STOP_WORDS


def vocabulary_names(paths: Dict[str, PathLike]) -> Dict[str, List[str]]:
    """Names per source (keys of ``paths``: MEDIC, MESH, DRUG): MEDIC names and synonyms, MeSH
    descriptor names, drug-name variants, with MeSH-style inverted names also in reading order;
    filtered by :func:`keep_name`, deduplicated."""
    # Imported here: only building the dictionary reads the vocabularies; a pipeline that
    # runs the saved dictionary does not load the KB package.
    from .sources import read_drug_dictionary, read_medic, read_mesh_descriptors

    read = {"MEDIC": read_medic, "MESH": read_mesh_descriptors, "DRUG": read_drug_dictionary}
    unknown = sorted(set(paths) - set(KNOWN_SOURCES))
    if unknown:
        raise ValueError(f"unknown dictionary sources {unknown}; known: {list(KNOWN_SOURCES)}")
    readers = {source: read[source](path) for source, path in paths.items()}
    names_by_source: Dict[str, List[str]] = {}
    for source in readers:
        seen = set()
        names = []
        for concept in readers[source]:
            for raw in concept.names:
                for name in uninverted(raw):
                    if keep_name(name) and name not in seen:
                        seen.add(name)
                        names.append(name)
        names_by_source[source] = names
    return names_by_source


def longest_matches(spans: Iterable[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """Non-overlapping ``(start, end)`` token spans, longest first, earlier first on a tie."""
    chosen: List[Tuple[int, int]] = []
    taken = set()
    for start, end in sorted(set(spans), key=lambda span: (span[0] - span[1], span[0])):
        if any(i in taken for i in range(start, end)):
            continue
        chosen.append((start, end))
        taken.update(range(start, end))
    return sorted(chosen)


def tag_ids(n_tokens: int, matches: Dict[str, Iterable[Tuple[int, int]]],
            sources: Sequence[str] = SOURCES) -> List[int]:
    """One tag id per token from each source's matches (longest match wins within a source)."""
    ids = [0] * n_tokens
    for index, source in enumerate(sources):
        weight = 3 ** index
        for start, end in longest_matches(matches.get(source, ())):
            ids[start] += BEGIN * weight
            for i in range(start + 1, end):
                ids[i] += INSIDE * weight
    return ids


def source_tag(tag_id: int, index: int) -> int:
    """The O/B/I tag (0/1/2) that source number ``index`` gives in ``tag_id``."""
    return (tag_id // 3 ** index) % 3


def source_spans(tags: Sequence[int], index: int) -> List[Tuple[int, int]]:
    """The ``(start, end)`` token spans of source number ``index`` encoded in ``tags`` (a doc's tag ids)."""
    spans: List[Tuple[int, int]] = []
    start = None
    for i, tag_id in enumerate(list(tags) + [0]):
        tag = source_tag(tag_id, index)
        if start is not None and tag != INSIDE:
            spans.append((start, i))
            start = None
        if tag == BEGIN:
            start = i
    return spans


def describe_tag(tag_id: int, sources: Sequence[str] = SOURCES) -> str:
    """Readable form of a tag id: "B-MEDIC I-MESH", "O" when outside every match."""
    if not 0 <= tag_id < n_tag_ids(len(sources)):
        raise ValueError(f"tag id must be in 0..{n_tag_ids(len(sources)) - 1}, got {tag_id}")
    parts = []
    for source in sources:
        tag_id, tag = divmod(tag_id, 3)
        if tag != OUTSIDE:
            parts.append(f"{_TAG_LETTERS[tag]}-{source}")
    return " ".join(parts) or "O"


def iter_tokenized(names: Sequence[str], tokenize) -> Iterator[Tuple[str, List[str]]]:
    """``(name, its token texts)`` with ``tokenize`` (the pipeline's tokenizer), whitespace dropped."""
    for name, doc in zip(names, tokenize(names)):
        words = [token.text for token in doc if not token.is_space]
        if words:
            yield name, words


class PhraseIndex:
    """Token sequences -> the sources that list them, keyed by spaCy's string hashes.

    Finds the same matches as a ``PhraseMatcher`` on ``LOWER`` (or ``ORTH``) over
    the same token lists, but is built from the saved words in well under a
    second: a ``PhraseMatcher`` needs one ``Doc`` per name, which took 8-28 s
    for 113k names each time the pipeline loaded, and adds every word to the
    pipeline's ``StringStore``.
    """

    def __init__(self) -> None:
        self.sources_by_key: Dict[Tuple[int, ...], Tuple[str, ...]] = {}
        self.lengths_by_first: Dict[int, List[int]] = {}  # longest first

    def add(self, source: str, word_lists: Iterable[Sequence[str]]) -> None:
        """Add names of ``source``, each as the token texts its key attribute holds (lower-cased for ``LOWER``)."""
        sources_by_key = self.sources_by_key
        lengths = {first: set(found) for first, found in self.lengths_by_first.items()}
        for words in word_lists:
            if not words:
                continue
            key = tuple(map(hash_string, words))
            known = sources_by_key.get(key, ())
            if source not in known:
                sources_by_key[key] = known + (source,)
            lengths.setdefault(key[0], set()).add(len(key))
        self.lengths_by_first = {first: sorted(found, reverse=True) for first, found in lengths.items()}

    def __len__(self) -> int:
        return len(self.sources_by_key)

    def matches(self, keys: Sequence[int]) -> Iterator[Tuple[str, int, int]]:
        """Every ``(source, start, end)`` whose tokens' ``keys`` (e.g. ``Token.lower``) equal a name, overlaps included."""
        n_keys = len(keys)
        for start, first in enumerate(keys):
            lengths = self.lengths_by_first.get(first)
            if not lengths:
                continue
            for length in lengths:
                end = start + length
                if end > n_keys:
                    continue
                sources = self.sources_by_key.get(tuple(keys[start:end]))
                if sources:
                    for source in sources:
                        yield source, start, end

"""Readers for the vocabularies the KB is built from (all offline files under assets/).

Each yields plain records; ``medner.linking.kb.base.KnowledgeBase.build`` decides how
they become concepts and names.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Tuple, Union

PathLike = Union[str, Path]


class VocabularyFormatError(ValueError):
    """A vocabulary line that cannot be read; the message names the file and line."""


@dataclass
class VocabConcept:
    """One concept: its identifiers (first = primary), its names (first = preferred), its type."""

    ids: List[str]
    names: List[str]
    type: str


def _lines(path: Path) -> Iterator[Tuple[int, str]]:
    """(line number, line without its end) for every non-blank line of a UTF-8 file."""
    with path.open(encoding="utf8") as file_:
        for line_no, raw in enumerate(file_, start=1):
            line = raw.rstrip("\r\n")
            if line.strip():
                yield line_no, line


def medic_id(raw: str) -> str:
    """MEDIC writes OMIM numbers bare ("613097"); the corpora write "OMIM:613097"."""
    raw = raw.strip()
    if raw.startswith("MESH:"):
        raw = raw[5:]
    return f"OMIM:{raw}" if raw.isdigit() else raw


def read_medic(path: PathLike) -> Iterator[VocabConcept]:
    """CTD MEDIC in BioSyn's layout: ``IDS||NAME|SYNONYM|...`` (``IDS`` ``|``-joined)."""
    path = Path(path)
    for line_no, line in _lines(path):
        ids_part, sep, names_part = line.partition("||")
        ids = [medic_id(i) for i in ids_part.split("|") if i.strip()]
        ids.sort(key=lambda i: i.startswith("OMIM:"))  # MeSH id primary, as the corpora use it
        names = [n.strip() for n in names_part.split("|") if n.strip()]
        if not sep or not ids or not names:
            raise VocabularyFormatError(f"{path}:{line_no}: expected 'IDS||NAME|SYNONYM...', got {line[:80]!r}")
        yield VocabConcept(ids=ids, names=names, type="DISEASE")


def read_mesh_descriptors(path: PathLike, type_: str = "CHEMICAL") -> Iterator[VocabConcept]:
    """``D-ID<TAB>preferred name``, one descriptor a line."""
    path = Path(path)
    for line_no, line in _lines(path):
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise VocabularyFormatError(f"{path}:{line_no}: expected 'ID<TAB>NAME', got {line[:80]!r}")
        yield VocabConcept(ids=[fields[0].strip()], names=[fields[1].strip()], type=type_)


def read_training_mentions(dataset: str, asset_dir: PathLike, splits: Tuple[str, ...] = ("train",)) -> Iterator[Tuple[str, str, str]]:
    """(mention text, schema label, gold ID) for every mention of ``splits`` that has one ID.

    Composite mentions (``|``-joined IDs) are skipped: their text names
    several concepts. Combination IDs (``D009794+D007592``) are kept whole.
    """
    from medner.corpus.datasets import DATASETS

    spec = DATASETS[dataset]
    for split in splits:
        for doc in spec.read_split(Path(asset_dir), split):
            for span in doc.spans:
                label = spec.label_map(span.label)
                if not span.kb_id or "|" in span.kb_id or label is None:
                    continue
                yield doc.text[span.start:span.end], label, span.kb_id

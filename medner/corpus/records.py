"""Format-neutral records that every corpus reader yields.

Readers only parse; they do not decide what is kept. Each annotation becomes a
``SourceSpan`` that remembers where it came from (file and line), so that the
alignment step can account for every single one of them.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple, Union


class CorpusFormatError(ValueError):
    """Input that cannot be parsed at all (broken JSON, a truncated line).

    The message always names the file and, where known, the line.
    """

    def __init__(self, path: Union[str, Path], line: Optional[int], message: str):
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class SourceSpan:
    """One annotation as the source states it (character offsets into ``SourceDoc.text``).

    ``fragments`` holds the (start, end) pieces of a discontinuous brat span;
    for ordinary spans it is empty. ``kb_id`` is the concept identifier the
    source gives (PubTator's sixth column: MeSH/OMIM, ``|``-joined for
    composite mentions), empty where it gives none (or ``-1``).
    """

    start: int
    end: int
    label: str
    text: Optional[str] = None
    line: Optional[int] = None
    fragments: Tuple[Tuple[int, int], ...] = ()
    kb_id: str = ""

    @property
    def is_discontinuous(self) -> bool:
        return len(self.fragments) > 1


@dataclass(frozen=True)
class SourceAttribute:
    """One brat attribute line (``A1<TAB>POLARITY E35 NEG``) as the source states it.

    ``target`` is the annotation it names (an event ``E35`` or a span ``T4``);
    ``span_line`` is the line of the text-bound span that target resolves to
    (an event's trigger), None when the file has no such span. The alignment
    step turns attributes into assertion values and counts each one.
    """

    name: str
    target: str
    value: Optional[str] = None
    line: Optional[int] = None
    span_line: Optional[int] = None


@dataclass
class SourceDoc:
    """A document with its text and every annotation the source gives for it."""

    id: str
    text: str
    spans: List[SourceSpan] = field(default_factory=list)
    path: str = ""
    line: Optional[int] = None
    meta: dict = field(default_factory=dict)
    attributes: List[SourceAttribute] = field(default_factory=list)

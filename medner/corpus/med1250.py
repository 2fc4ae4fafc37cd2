"""Reader for MED1250 (Ab3P's test set of hand-labelled abbreviation definitions).

Format (ncbi-nlp/Ab3P ``MED1250_labeled``): blocks of a PMID line, a title
line, an abstract line, then zero or more ``  SF|LF`` lines (two leading
spaces) for the definitions in that abstract; ``//`` lines are the curators'
comments (``//*  SF|LF`` is a pair they rejected) and are skipped. The file is
ASCII with a few Windows-1252 quotes in comments, some ``\\r\\n`` line ends
and some lone ``\\r`` between sentences inside a line (kept: it is whitespace).
"""
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Tuple, Union

from .records import CorpusFormatError

__all__ = ["Med1250Abstract", "read_med1250"]

_PMID = re.compile(r"^\d+$")


@dataclass
class Med1250Abstract:
    """One abstract: ``text`` is title + newline + abstract; ``pairs`` the gold (short, long) forms,
    in file order, duplicates kept (a pair defined in the title and again in the abstract is listed twice)."""

    pmid: str
    text: str
    pairs: List[Tuple[str, str]] = field(default_factory=list)
    line: int = 0


def read_med1250(path: Union[str, Path]) -> List[Med1250Abstract]:
    """Parse the whole file; a block without a title or abstract line raises ``CorpusFormatError``."""
    path = Path(path)
    lines = path.read_bytes().decode("cp1252", errors="replace").replace("\r\n", "\n").split("\n")
    abstracts: List[Med1250Abstract] = []
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if not _starts_block(lines, index):
            index += 1
            continue
        if index + 2 >= len(lines):
            raise CorpusFormatError(path, index + 1, f"PMID {line} is not followed by a title and an abstract line")
        title, abstract = lines[index + 1].strip(), lines[index + 2].strip()
        abstract_record = Med1250Abstract(pmid=line, text=f"{title}\n{abstract}", line=index + 1)
        index += 3
        while index < len(lines) and not _starts_block(lines, index):
            pair_line = lines[index]
            if pair_line.startswith("  "):
                short_form, bar, long_form = pair_line.strip().partition("|")
                if not bar:
                    raise CorpusFormatError(path, index + 1, f"definition line without '|': {pair_line.strip()!r}")
                abstract_record.pairs.append((short_form.strip(), long_form.strip()))
            index += 1
        abstracts.append(abstract_record)
    if not abstracts:
        raise CorpusFormatError(path, None, "no PMID blocks found (is this MED1250_labeled?)")
    return abstracts


def _starts_block(lines: List[str], index: int) -> bool:
    """A PMID line at the start of the file or after a blank line (definition lines can follow
    a blank line, so a blank line alone does not end a block)."""
    return bool(_PMID.match(lines[index].strip())) and (index == 0 or not lines[index - 1].strip())

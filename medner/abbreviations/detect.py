"""Abbreviation definitions in running text: Schwartz-Hearst, with rules Ab3P adds.

Biomedical abstracts define a short form once ("alanine aminotransferase
(ALT)") and then use it alone; linking and NER need to know what "ALT" stands
for. This module finds the definitions on plain text and returns character
offsets, so it works on any string and the spaCy component
(:mod:`medner.abbreviations.component`) only maps offsets to tokens.

Algorithm (Schwartz & Hearst 2003, *A simple algorithm for identifying
abbreviation definitions in biomedical text*):

1. every balanced pair of parentheses is a candidate; its content is cut at
   the first ``", "`` or ``"; "`` ("(AML, M5A)" -> "AML");
2. content of at most two words is a short form and the long form ends right
   before the parenthesis ("LF (SF)"); longer content is the long form and the
   short form is the word before the parenthesis ("SF (LF)"), which must
   contain a capital letter;
3. the short form's letters and digits are matched right to left against the
   long form candidate, the first one at the start of a word; the long form
   starts at that word (the shortest long form that matches);
4. the long form has at most ``min(2 * n, n + 5)`` words (``n`` = letters and
   digits of the short form), is not shorter than the short form and does not
   contain it as a word.

``rules="ab3p"`` (the default) adds what Ab3P (Sohn et al. 2008) added to
this recipe and that needs no trained statistics:

* content that is not an abbreviation is rejected before matching:
  statistics ("p < 0.05", "n = 12"), pointers ("e.g., ...", "i.e. ...",
  "that is", "see ...", "Fig. 2", "Table 1"), enumerations ("(i)", "(a)",
  "(II)"), quantities ("2 patients", "0.1 mM"), plain numbers, and plain
  lower-case words ("(welders)", "(apathy)");
* square brackets are candidates too;
* the first-letter strategy is tried first: the short form's letters are the
  first letters of the last words ("proton pump inhibitors (PPIs)", where the
  shortest letter match would give "pump inhibitors");
* a long form does not reach back over another stand-alone bracketed phrase
  or an unmatched closing bracket ("treatment 1 (T1) and treatment 2 (T2)"),
  does not start with a function word, and starts after a slash or a double
  dash ("(FEV1)/forced vital capacity (FVC)");
* one-letter short forms are accepted when the long form is the single word
  before the bracket and starts with that letter ("masseter (M)");
* short forms may have up to 15 letters and digits (Schwartz-Hearst: 10).

Everything is linear in the text: brackets are paired in one pass with a stack
(unbalanced ones are ignored), each candidate looks at most
``MAX_LONG_FORM_CHARS`` characters back, so a 1,000,000-character document
takes about as long per character as an abstract.
"""
import re
from bisect import bisect_right
from typing import Dict, Iterable, List, Literal, NamedTuple, Optional, Sequence, Tuple

__all__ = [
    "Definition",
    "find_definitions",
    "find_short_form_occurrences",
    "RULES",
]

RULES = ("schwartz_hearst", "ab3p")
# A long form is looked for in at most this many characters before the bracket
# (the longest long form in MED1250 has about 120); bounds the time per candidate.
MAX_LONG_FORM_CHARS = 400
# Bracket content longer than this is neither a short form nor a long form.
MAX_BRACKET_CHARS = 200

_OPENERS = {")": "(", "]": "["}
_ALNUM_RUN = re.compile(r"[^\W_]+")
_BRACKET = re.compile(r"[()\[\]]")
# Sentence and clause ends: a long form never reaches back across them.
_BOUNDARY = re.compile(r"[.!?:;]\s|\n")
_STATISTICS = re.compile(r"[=<>\u00b1\u2264\u2265]")
_POINTER = re.compile(r"^(?:[Ee]\.\s?g|[Ii]\.\s?e|that is|cf|[Ss]ee|vs|viz|etc|[Ff]ig|[Ff]igs|[Ff]igure|[Tt]ables?|[Rr]efs?)\b\.?")
_ENUMERATION = re.compile(r"^(?:[ivx]{1,4}|[IVX]{2,4}|[a-z])$")
# "2 patients", "0.1 mM", "three patients": a quantity, not a short form.
_QUANTITY = re.compile(
    r"^(?:\d[\d.,\-]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s", re.IGNORECASE
)
_FUNCTION_WORDS = frozenset(
    "a an and as at by for from in into of on or the to with".split()
)


class Definition(NamedTuple):
    """Character offsets of one definition: ``text[short_start:short_end]`` is defined as
    ``text[long_start:long_end]``."""

    short_start: int
    short_end: int
    long_start: int
    long_end: int


def find_definitions(text, rules: Literal["schwartz_hearst", "ab3p"] = "ab3p") -> List[Definition]:
    """All abbreviation definitions in ``text`` (a ``str`` or anything with ``.text``, e.g. a Doc),
    in order of the short form's position."""
    if rules not in RULES:
        raise ValueError(f"rules must be one of {', '.join(RULES)}, got {rules!r}")
    if not isinstance(text, str):
        text = text.text
    brackets = "([" if rules == "ab3p" else "("
    definitions = []
    for open_index, close_index, enclosing_open in _bracket_pairs(text, brackets):
        definition = _definition_at(text, open_index, close_index, enclosing_open, rules)
        if definition is not None:
            definitions.append(definition)
    definitions.sort(key=lambda d: (d.short_start, d.long_start))
    return definitions


def find_short_form_occurrences(text, definitions: Sequence[Definition]) -> List[Tuple[int, int, Definition]]:
    """Every occurrence of each defined short form as a whole word (case-sensitive), with the
    definition it refers to: the nearest definition of that string before it, else the first one.

    Short forms are indexed by their first run of letters and digits, and the text's runs are
    looked up in that index, so the cost is one pass over the text whatever the number of short
    forms. Overlapping occurrences: the leftmost wins, then the longest.
    """
    if not isinstance(text, str):
        text = text.text
    by_short_form: Dict[str, List[Definition]] = {}
    for definition in sorted(definitions, key=lambda d: d.short_start):
        by_short_form.setdefault(text[definition.short_start:definition.short_end], []).append(definition)
    by_first_run: Dict[str, List[Tuple[str, int]]] = {}
    for short_form in by_short_form:
        run = _ALNUM_RUN.search(short_form)
        if run is not None:
            by_first_run.setdefault(run.group(), []).append((short_form, run.start()))
    found = []
    for run in _ALNUM_RUN.finditer(text):
        for short_form, prefix in by_first_run.get(run.group(), ()):
            start = run.start() - prefix
            end = start + len(short_form)
            if start < 0 or not text.startswith(short_form, start):
                continue
            if (start > 0 and _is_alnum(text[start - 1])) or (end < len(text) and _is_alnum(text[end])):
                continue
            found.append((start, -end, short_form))
    definition_starts = {sf: [d.short_start for d in candidates] for sf, candidates in by_short_form.items()}
    occurrences = []
    last_end = 0
    for start, negative_end, short_form in sorted(found):
        if start < last_end:
            continue
        candidates = by_short_form[short_form]
        before = bisect_right(definition_starts[short_form], start)
        occurrences.append((start, -negative_end, candidates[max(before - 1, 0)]))
        last_end = -negative_end
    return occurrences


def _is_alnum(char: str) -> bool:
    return char.isalnum()


def _bracket_pairs(text: str, brackets: str) -> Iterable[Tuple[int, int, Optional[int]]]:
    """``(open, close, enclosing_open)`` for every balanced bracket pair, innermost first.

    A closing bracket that does not match the innermost open one is ignored, as
    are open brackets never closed, so unbalanced text costs one pass.
    """
    closers = {_c for _c, _o in _OPENERS.items() if _o in brackets}
    stack: List[int] = []
    for index, char in enumerate(text):
        if char in brackets:
            stack.append(index)
        elif char in closers and stack and text[stack[-1]] == _OPENERS[char]:
            open_index = stack.pop()
            if index - open_index - 1 <= MAX_BRACKET_CHARS:
                yield open_index, index, (stack[-1] if stack else None)


def _definition_at(
    text: str, open_index: int, close_index: int, enclosing_open: Optional[int], rules: str
) -> Optional[Definition]:
    content_start, content_end = _strip(text, open_index + 1, close_index)
    for separator in (", ", "; "):
        cut = text.find(separator, content_start, content_end)
        if cut != -1:
            content_start, content_end = _strip(text, content_start, cut)
    if content_start >= content_end:
        return None
    content = text[content_start:content_end]
    if rules == "ab3p" and _not_an_abbreviation(content):
        return None
    window_start = _window_start(text, open_index, enclosing_open, rules)
    before_end = _strip(text, window_start, open_index)[1]
    if len(content.split()) > 2 or (content_end - content_start) > (before_end - window_start):
        # "SF (LF)": the short form is the word before the bracket.
        short_start = text.rfind(" ", window_start, before_end) + 1
        short_start = max(short_start, window_start)
        short_start, short_end = _strip(text, short_start, before_end)
        short_form = text[short_start:short_end]
        if not any(char.isupper() for char in short_form):
            return None
        if rules == "ab3p" and _not_an_abbreviation(short_form):
            return None
        return _match(text, short_start, short_end, content_start, content_end, rules)
    return _match(text, content_start, content_end, window_start, before_end, rules)


def _match(
    text: str, short_start: int, short_end: int, long_start: int, long_end: int, rules: str
) -> Optional[Definition]:
    short_form = text[short_start:short_end]
    long_candidate = text[long_start:long_end]
    if not _valid_short_form(short_form, rules):
        return None
    if len(short_form) == 1:
        return _one_letter(text, short_start, short_end, long_start, long_end)
    offset = None
    if rules == "ab3p":
        offset = _first_letter_long_form_start(short_form, long_candidate)
    if offset is None:
        offset = _best_long_form_start(short_form, long_candidate, after_dash=rules == "ab3p")
    if offset is None:
        return None
    long_form = long_candidate[offset:]
    if rules == "ab3p":
        offset += _skip_function_words(short_form, long_form)
        long_form = long_candidate[offset:]
    n_chars = sum(char.isalnum() for char in short_form)
    n_words = len([word for word in re.split(r"[\s\-]+", long_form) if word])
    max_chars = 15 if rules == "ab3p" else 10
    if (
        len(long_form) < len(short_form)
        or (short_form + " ") in long_form
        or long_form.endswith(short_form)
        or n_words > 2 * n_chars
        or n_words > n_chars + 5
        or n_chars > max_chars
    ):
        return None
    return Definition(short_start, short_end, long_start + offset, long_end)


def _valid_short_form(short_form: str, rules: str) -> bool:
    """Schwartz-Hearst: at most two words, a letter, starting with a letter, digit or '('."""
    if len(short_form.split()) > 2 or not any(char.isalpha() for char in short_form):
        return False
    if not (short_form[0].isalnum() or short_form[0] == "("):
        return False
    if len(short_form) == 1:
        return rules == "ab3p" and short_form.isalpha() and short_form.isupper()
    return True


def _first_letter_long_form_start(short_form: str, long_candidate: str) -> Optional[int]:
    """Ab3P's most precise strategy: the short form's letters and digits are the first letters of
    the last words before the bracket, in order ("proton pump inhibitors (PPIs)", "International
    Index of Erectile Function (IIEF)"); function words in between are skipped, a plural "s" is
    dropped, hyphens and slashes separate words. The offset where the long form starts, or ``None``."""
    letters = [char.lower() for char in short_form if char.isalnum()]
    if len(letters) > 2 and short_form.endswith("s") and short_form[-2].isupper():
        letters = letters[:-1]
    if len(letters) < 2:
        return None
    words = list(re.finditer(r"[^\s\-/]+", long_candidate))
    position = len(letters) - 1
    for word in reversed(words):
        if word.group()[0].lower() == letters[position]:
            position -= 1
            if position < 0:
                return word.start()
        elif word.group().lower() not in _FUNCTION_WORDS or position == len(letters) - 1:
            return None
    return None


def _best_long_form_start(short_form: str, long_candidate: str, after_dash: bool = False) -> Optional[int]:
    """Schwartz-Hearst's right-to-left letter match; the offset in ``long_candidate`` where the
    long form starts, or ``None``. ``after_dash`` (Ab3P): when the first letter matched right
    after a slash or a dash ("(FEV1)/forced vital capacity (FVC)", "malformations--persistent
    truncus arteriosus (PTA)"), the long form starts there; after a single hyphen it does not
    ("2,4-dinitrophenyl (DNP)")."""
    long_index = len(long_candidate) - 1
    for short_index in range(len(short_form) - 1, -1, -1):
        char = short_form[short_index].lower()
        if not char.isalnum():
            continue
        while long_index >= 0 and (
            long_candidate[long_index].lower() != char
            or (short_index == 0 and long_index > 0 and long_candidate[long_index - 1].isalnum())
        ):
            long_index -= 1
        if long_index < 0:
            return None
        long_index -= 1
    first_match = long_index + 1
    if after_dash and (long_candidate[max(0, first_match - 1):first_match] == "/" or long_candidate[max(0, first_match - 2):first_match] == "--"):
        return first_match
    return long_candidate.rfind(" ", 0, long_index + 1) + 1


def _skip_function_words(short_form: str, long_form: str) -> int:
    """Ab3P: a long form does not start with "of", "the" ... unless the short form does."""
    first = next((char.lower() for char in short_form if char.isalnum()), "")
    skipped = 0
    words = long_form.split(" ")
    while len(words) > 1 and words[0].lower() in _FUNCTION_WORDS:
        rest = words[1:]
        if not any(word[:1].lower() == first for word in rest):
            break
        skipped += len(words[0]) + 1
        words = rest
        if words[0][:1].lower() == first:
            break
    return skipped


def _one_letter(text: str, short_start: int, short_end: int, long_start: int, long_end: int) -> Optional[Definition]:
    """Ab3P's one-letter short forms: "masseter (M)", only a single alphabetic word of 4+ letters."""
    word_start = text.rfind(" ", long_start, long_end) + 1
    word_start = max(word_start, long_start)
    word = text[word_start:long_end]
    if len(word) >= 4 and word.isalpha() and word[0].lower() == text[short_start].lower():
        return Definition(short_start, short_end, word_start, long_end)
    return None


def _not_an_abbreviation(content: str) -> bool:
    """Ab3P's filters: statistics, pointers, enumerations and numbers are not short forms."""
    stripped = content.strip()
    return bool(
        _STATISTICS.search(stripped)
        or _POINTER.match(stripped)
        or _ENUMERATION.match(stripped)
        or _QUANTITY.match(stripped)
        or stripped.startswith("(")
        or not any(char.isalpha() for char in stripped)
        or (len(stripped) > 3 and not any(char.isupper() or char.isdigit() for char in stripped) and " " not in stripped)
    )


def _window_start(text: str, open_index: int, enclosing_open: Optional[int], rules: str) -> int:
    """Where a long form before ``open_index`` may start: after the last sentence or clause end,
    after an enclosing bracket, and at most ``MAX_LONG_FORM_CHARS`` back."""
    start = max(0, open_index - MAX_LONG_FORM_CHARS)
    if enclosing_open is not None:
        start = max(start, enclosing_open + 1)
    for boundary in _BOUNDARY.finditer(text, start, open_index):
        start = boundary.end()
    return _after_other_brackets(text, start, open_index) if rules == "ab3p" else start


def _after_other_brackets(text: str, start: int, end: int) -> int:
    """Ab3P: a long form does not reach back over an unmatched closing bracket or over a
    stand-alone bracketed phrase ("treatment 1 (T1) and treatment 2 (T2)": the window for "T2"
    starts after "(T1)"); brackets inside a word ("GABA(A) receptor") are kept."""
    openers: List[int] = []
    for bracket in _BRACKET.finditer(text, start, end):
        index, char = bracket.start(), bracket.group()
        if index < start:
            continue
        if char in "([":
            openers.append(index)
        elif char in ")]":
            if not openers:
                start = index + 1
                continue
            opener = openers.pop()
            before = text[opener - 1] if opener > start else " "
            after = text[index + 1] if index + 1 < end else " "
            if before.isspace() and (after.isspace() or after in ",;"):
                start = index + 1
    return start


def _strip(text: str, start: int, end: int) -> Tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end

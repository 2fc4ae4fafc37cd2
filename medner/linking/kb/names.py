"""Name normalisation and composite-mention splitting shared by the KB build and the linker.

Both sides of every comparison (KB names, mentions, the "unseen" test subset)
go through ``normalise``, so a change here changes all of them alike.
"""
import re
import unicodedata
from typing import List

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_SPACES = re.compile(r"\s+")
# Plural endings that are not plurals ("virus", "diabetes", "analysis", "class").
_KEEP_S = ("ss", "us", "is", "es")


def lower(text: str) -> str:
    """Case-folded text with runs of whitespace collapsed: the "exact" match key."""
    return _SPACES.sub(" ", text.casefold()).strip()


def normalise(text: str) -> str:
    """Match key that ignores case, punctuation, hyphens, possessives and simple plurals.

    "Parkinson's disease", "parkinson disease" and "Parkinson-Disease" all
    become "parkinson disease"; "cancers" -> "cancer" (but "diabetes" and
    "virus" stay); British spellings become American ("anaemia" -> "anemia",
    "tumours" -> "tumor").
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("'s ", " ").replace("\u2019s ", " ")
    if text.endswith("'s") or text.endswith("\u2019s"):
        text = text[:-2]
    words = _NON_WORD.sub(" ", text).replace("_", " ").split()
    return " ".join(_singular(_american(w)) for w in words)


def _american(word: str) -> str:
    # British spellings MeSH does not list: "anaemia", "oedema", "tumour", "haemorrhage"
    if len(word) > 4:
        word = word.replace("ae", "e").replace("oe", "e")
        if word.endswith("our"):
            word = word[:-3] + "or"
    return word


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith(_KEEP_S):
        return word[:-1]
    return word


# MeSH files cancers and tumours under "Neoplasms": "prostate carcinoma" -> "Prostatic Neoplasms"
_NEOPLASM_WORDS = [(re.compile(r"\bcarcinomas?\b", re.I), "cancer"), (re.compile(r"\btumou?rs?\b", re.I), "neoplasm"),
                   (re.compile(r"\bcancers?\b", re.I), "neoplasm")]


def synonym_variants(text: str) -> List[str]:
    """The mention with one neoplasm word swapped for the word MeSH names use (empty if none occurs)."""
    found = []
    for pattern, replacement in _NEOPLASM_WORDS:
        variant = pattern.sub(replacement, text)
        if variant != text and variant not in found:
            found.append(variant)
    return found


# Salt and ester words a chemical mention carries that its MeSH descriptor drops: "metformin
# hydrochloride" -> "metformin", "sodium valproate" -> "valproate", "betamethasone dipropionate".
_SALT_WORDS = (
    "hydrochloride|dihydrochloride|hydrobromide|hcl|hbr|sulfate|sulphate|hemisulfate|bisulfate|mesylate|"
    "besylate|tosylate|maleate|citrate|tartrate|bitartrate|acetate|diacetate|phosphate|succinate|fumarate|"
    "bromide|chloride|nitrate|lactate|gluconate|oxalate|malate|hyclate|propionate|dipropionate|valerate|"
    "benzoate|palmitate|decanoate|enanthate|cypionate|butyrate|monohydrate|dihydrate|trihydrate|anhydrous|"
    "salt|sodium|disodium|potassium|calcium|magnesium"
)
_SALT_TAIL = re.compile(rf"(?:[\s-]+(?:{_SALT_WORDS}))+\s*$", re.I)
_SALT_HEAD = re.compile(r"^(?:sodium|disodium|potassium|calcium|magnesium)\s+", re.I)


def salt_variants(text: str) -> List[str]:
    """The mention without its trailing salt/ester words or leading cation (empty if it has none or nothing is left)."""
    found = []
    for pattern in (_SALT_TAIL, _SALT_HEAD):
        variant = pattern.sub("", text).strip()
        if variant and variant != text and len(variant) > 2 and variant not in found:
            found.append(variant)
    return found


_CONJUNCTION = re.compile(r"\s*(?:,\s*(?:and|or)\s+|\band/or\b|\band\b|\bor\b|,)\s*", re.IGNORECASE)


def split_composite(text: str) -> List[str]:
    """Expand a coordinated mention into its parts, sharing the head of the last conjunct.

    "breast and ovarian cancer" -> ["breast cancer", "ovarian cancer"];
    "colon, rectal or gastric cancers" -> ["colon cancers", "rectal cancers",
    "gastric cancers"]. Text without a conjunction comes back as one part.
    A conjunct that ends in the head already keeps its words ("Duchenne
    muscular dystrophy and Becker muscular dystrophy").
    """
    parts = [p.strip() for p in _CONJUNCTION.split(text) if p and p.strip()]
    if len(parts) < 2:
        return [text]
    last_words = parts[-1].split()
    if len(last_words) < 2:
        return parts
    head = last_words[-1]
    # a conjunct that already ends in the head ("Duchenne muscular dystrophy") keeps its words
    return [part if part.split()[-1].casefold() == head.casefold() else f"{part} {head}" for part in parts[:-1]] + [parts[-1]]

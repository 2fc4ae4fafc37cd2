"""Name normalisation, composite-mention splitting and name variants, shared by the KB build and the linker.

Both sides of every comparison (KB names, mentions, the "unseen" test subset)
go through ``normalise``, so a change here changes all of them alike. The variant
generators (``synonym_variants``, ``salt_variants`` and, for unseen mentions
(issue 20), ``organ_variants``, ``head_variants``, ``number_variants``,
``modifier_variants``, with ``word_key`` for the word-order lookup) rewrite a
mention only; each has a switch on ``medner_linker``.
"""
import re
import unicodedata
from typing import List, Optional

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


# ------------------------------------------------------------------ name variants for unseen mentions (issue 20)
# Each generator takes a mention text and returns its variants (never the text itself; empty when
# nothing applies). The linker searches every variant like the whole mention; one wins only when
# the whole has no exact name (``medner.linking.component.choose``).

# Words a name can carry or drop without changing the concept: "cancer of the prostate" ~ "prostate cancer".
WORD_ORDER_STOP_WORDS = frozenset({"of", "the", "in", "with", "a", "an"})


def word_key(text: str) -> str:
    """Match key that ignores word order and a few stop words: the sorted set of normalised words.

    MeSH inverts its names ("Neoplasms, Prostatic", "Renal Failure, Acute"), mentions
    permute theirs ("acute renal failure", "cancer of the prostate"); both sides give
    the same key: "acute failure renal", "cancer prostate". Empty when only stop words remain.
    """
    return key_of_normalised(normalise(text))


def key_of_normalised(normalised: str) -> str:
    """``word_key`` of a text that went through ``normalise`` already (the KB's saved keys)."""
    return " ".join(sorted(set(normalised.split()) - WORD_ORDER_STOP_WORDS))


# Organ adjective -> noun, as MeSH names use either: "renal failure" ~ "Kidney Failure",
# "hepatic disease" ~ "Liver Diseases", "breast carcinoma" ~ "Mammary Neoplasms" (animal).
ORGAN_ADJECTIVES = {
    "renal": "kidney", "hepatic": "liver", "cardiac": "heart", "pulmonary": "lung", "gastric": "stomach",
    "cerebral": "brain", "ocular": "eye", "cutaneous": "skin", "prostatic": "prostate", "mammary": "breast",
    "ovarian": "ovary", "testicular": "testis", "uterine": "uterus", "pancreatic": "pancreas",
    "colonic": "colon", "rectal": "rectum", "intestinal": "intestine", "esophageal": "esophagus",
    "laryngeal": "larynx", "nasal": "nose", "oral": "mouth", "dental": "tooth", "osseous": "bone",
    "muscular": "muscle", "splenic": "spleen", "venous": "vein", "arterial": "artery", "vesical": "bladder",
    "biliary": "bile duct", "spinal": "spine", "thyroidal": "thyroid",
}
_ORGAN_NOUNS = {noun: adjective for adjective, noun in ORGAN_ADJECTIVES.items()}
# The disease heads MeSH prefers: "kidney disorder" ~ "Kidney Diseases", "liver damage" ~ "Liver Injury",
# and the vague heads that name an organ's disease: "renal lesions", "thyroid illness", "heart damage",
# "pulmonary toxicity" ~ "Lung Diseases" (BC5CDR dev disease +1.0 unseen acc@1 over the swaps alone;
# "complication" -> "disease" was tried and dropped: "cardiac complications" lost its gold id on dev;
# "inflammation" +0.1: "bladder inflammation" ~ "Urinary Bladder Diseases").
_GENERIC_HEADS = ("lesion", "involvement", "illness", "dysfunction", "impairment", "abnormality",
                  "toxicity", "inflammation", "disorder")
DISEASE_HEADS = {**{head: "disease" for head in _GENERIC_HEADS}, "disease": "disorder",
                 "damage": ["injury", "disease"], "injury": ["damage", "disease"]}
# Tried on dev and left out of DISEASE_HEADS (no change): "toxicity" <-> "poisoning".
POISONING_HEADS = {"toxicity": "poisoning", "poisoning": "toxicity"}


def _swap_words(text: str, table: dict) -> List[str]:
    """The text with one word of ``table`` (case-folded, in the singular) replaced by each of its
    replacements (a string or a list), one variant per word and replacement."""
    words = text.split()
    found = []
    for i, word in enumerate(words):
        bare = word.casefold().strip(",;:()[]")
        stem = next((w for w in (bare, _singular(bare), *_singulars(bare)) if w in table), bare)
        replacements = table.get(stem, ())
        for replacement in [replacements] if isinstance(replacements, str) else replacements:
            variant = " ".join(words[:i] + [replacement] + words[i + 1:])
            if variant != text and variant not in found:
                found.append(variant)
    return found


def organ_variants(text: str) -> List[str]:
    """The mention with one organ word put in its other form, adjective <-> noun.

    "renal failure" -> ["kidney failure"]; "liver disease" -> ["hepatic disease"];
    "acute renal and hepatic failure" -> one variant per organ word.
    """
    return _swap_words(text, {**ORGAN_ADJECTIVES, **_ORGAN_NOUNS})


def head_variants(text: str, heads: Optional[dict] = None) -> List[str]:
    """The mention with one disease word swapped for the ones MeSH uses (``DISEASE_HEADS``, or
    ``heads``): "liver damage" -> ["liver injury", "liver disease"], "renal lesions" -> ["renal disease"],
    "kidney disease" -> ["kidney disorder"]."""
    return _swap_words(text, DISEASE_HEADS if heads is None else heads)


# Plural endings ``normalise`` keeps (its simple rule leaves every "-es" word alone for "diabetes"
# and "herpes"): every plural -> singular ending that applies is tried (a wrong guess finds no name) ...
_PLURAL_ENDINGS = (("ies", "y"), ("ices", "ex"), ("ices", "ix"), ("ae", "a"), ("ses", "sis"), ("es", "e"), ("es", ""))
# ... and for a singular head, the first singular -> plural ending that applies.
_SINGULAR_ENDINGS = (("y", "ies"), ("ex", "ices"), ("ix", "ices"), ("sis", "ses"), ("e", "es"))
_NO_NUMBER = frozenset({"diabetes", "herpes", "rabies", "scabies", "caries", "series", "species", "mellitus",
                        "insipidus", "lupus", "sepsis", "psoriasis", "syphilis", "tuberculosis", "anemia", "edema"})


def _head_index(words: List[str]) -> int:
    """The head of an English noun phrase: the last word, or the word before the first "of"."""
    lowered = [w.casefold() for w in words]
    return lowered.index("of") - 1 if "of" in lowered[1:] else len(words) - 1


def _singulars(word: str) -> List[str]:
    """Every singular the plural endings of ``word`` allow (empty for a singular or a short word)."""
    return [word[: -len(p)] + s for p, s in _PLURAL_ENDINGS if word.endswith(p) and len(word) - len(p) >= 3]


def number_variants(text: str) -> List[str]:
    """The mention with its head word in the other number, for the endings ``normalise`` leaves:
    "kidney disease" -> ["kidney diseases"], "cardiomyopathies" -> ["cardiomyopathy", ...],
    "deficiencies of complement" -> ["deficiency of complement", ...], "vertebrae" -> ["vertebra"].

    Plural heads give every singular their ending allows ("cortices" -> "cortex", "cortix"):
    only a variant that matches a KB name can win.
    """
    words = text.split()
    if not words:
        return []
    i = _head_index(words)
    bare = words[i].casefold()
    if len(bare) < 4 or bare in _NO_NUMBER or not bare.isalpha():
        return []
    forms = _singulars(bare)
    if not forms:
        forms = [bare[: -len(s)] + p for s, p in _SINGULAR_ENDINGS if bare.endswith(s)][:1]
    found: List[str] = []
    for form in forms:
        variant = " ".join(words[:i] + [form] + words[i + 1:])
        if normalise(variant) != normalise(text) and variant not in found:
            found.append(variant)
    return found


_PHRASE_BREAKS = re.compile(r"[,;:/()\[\]]|\b(?:of|the|in|with|and|or|to|by|for|on|from|after|due)\b", re.I)


def modifier_variants(text: str) -> List[str]:
    """The mention without its leading modifiers, longest rest first, down to two words:
    "toxic optic neuropathy" -> ["optic neuropathy"], "congenital heart disease" -> ["heart disease"],
    "inherited metabolic disorder" -> ["metabolic disorder"].

    Only for a plain noun phrase ("cancer of the prostate", "myoclonic and/or atonic seizures" give
    nothing). A one-word rest was tried and left out: on dev "hip fracture" -> "Fractures, Bone",
    "myocardial hypertrophy" -> "Hypertrophy" cost more than "hemorrhagic cystitis" -> "Cystitis" gave.
    """
    if _PHRASE_BREAKS.search(text):
        return []
    words = text.split()
    return [" ".join(words[k:]) for k in range(1, len(words) - 1)]

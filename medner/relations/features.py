"""Pure relation algorithms: sentences, candidate pairs, pair features, priors, a sparse logistic scorer.

No spaCy pipeline state here, so the component, the training script and the
tests share one definition of a candidate and of its features.

Two levels of candidates (``level``):

* ``"mention"``: every (head entity, tail entity) pair with allowed labels within
  ``max_sentence_distance`` sentences (PHEE: drug -> effect in one sentence);
* ``"concept"``: mentions grouped by concept id (``span.kb_id_``, set by
  medner_linker; a ``|``-joined composite id counts for each part; a mention
  without an id is grouped by its lower-cased text), and every (head concept,
  tail concept) pair of the document (BC5CDR's document-level CID task).
"""
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

# Words between two mentions that suggest one caused the other (lower-cased, single tokens or bigrams).
TRIGGERS = (
    "induced", "induce", "induces", "inducing", "induction", "associated", "association", "after", "following",
    "caused", "cause", "causes", "causing", "due", "related", "attributed", "developed", "develop", "toxicity",
    "secondary", "produced", "produce", "produces", "resulted", "result", "evoked", "elicited", "provoked",
    "during", "treated", "treatment", "therapy", "receiving", "received", "administration", "given", "use",
    "prevent", "prevents", "prevented", "protective", "protects", "reverses", "reversed", "attenuated",
    "attenuates", "inhibited", "treat", "for", "against", "reduced", "improved", "abuse", "overdose", "intoxication",
)
NEGATIVE_TRIGGERS = {"prevent", "prevents", "prevented", "protective", "protects", "reverses", "reversed",
                     "attenuated", "attenuates", "inhibited", "treat", "treated", "for", "against", "reduced",
                     "improved"}
MAX_BETWEEN = 12  # tokens: further apart, the words between are not features
_SENT_END = {".", "?", "!"}


def sentence_ids(doc) -> List[int]:
    """Sentence number of every token: the pipeline's sentences where it set them, else a cheap rule.

    The rule ends a sentence after ``.``/``?``/``!`` when the next token starts
    with an upper-case letter, a digit or a bracket (the bc5cdr pipeline has no
    parser or senter, and its abstracts need nothing finer).
    """
    if doc.has_annotation("SENT_START"):
        ids, n = [], -1
        for token in doc:
            n += token.is_sent_start or token.i == 0
            ids.append(n)
        return ids
    ids, n = [], 0
    for i, token in enumerate(doc):
        ids.append(n)
        if token.text in _SENT_END and i + 1 < len(doc):
            nxt = doc[i + 1].text
            if nxt[:1].isupper() or nxt[:1].isdigit() or nxt[:1] in "([":
                n += 1
    return ids


@dataclass
class Mention:
    index: int  # position in doc.ents
    start: int  # token offsets
    end: int
    label: str
    key: str  # concept id or "text:<lower text>"
    sent: int
    text: str


def concept_keys(ent) -> List[str]:
    """The concept ids a mention stands for: ``kb_id_`` parts, or its lower-cased text when it has none."""
    parts = [p for p in (ent.kb_id_ or "").split("|") if p and p != "-1"]
    return parts or ["text:" + ent.text.lower()]


def mentions(doc, ents: Sequence, sents: List[int]) -> List[Mention]:
    out = []
    for i, ent in enumerate(ents):
        for key in concept_keys(ent):
            out.append(Mention(i, ent.start, ent.end, ent.label_, key, sents[ent.start], ent.text))
    return out


def label_allowed(head_label: str, tail_label: str, label_pairs: Sequence[Sequence[str]]) -> bool:
    return any(head_label == h and tail_label == t for h, t in label_pairs)


@dataclass
class Candidate:
    """One candidate relation: the head and tail mentions it covers (one each at mention level)."""

    heads: List[Mention]
    tails: List[Mention]
    head_key: str
    tail_key: str


def candidate_pairs(ms: List[Mention], label_pairs: Sequence[Sequence[str]], level: str,
                    max_sentence_distance: int = 0) -> List[Candidate]:
    """Candidates in document order (see the module docstring for the two levels)."""
    out: List[Candidate] = []
    if level == "mention":
        seen = set()
        for h in ms:
            for t in ms:
                if h.index == t.index or (h.index, t.index) in seen:
                    continue
                if abs(h.sent - t.sent) > max_sentence_distance or not label_allowed(h.label, t.label, label_pairs):
                    continue
                seen.add((h.index, t.index))
                out.append(Candidate([h], [t], h.key, t.key))
        return out
    groups: Dict[str, List[Mention]] = {}
    for m in ms:
        groups.setdefault(m.key, []).append(m)
    for hk, heads in groups.items():
        for tk, tails in groups.items():
            if hk == tk:
                continue
            heads_ok = [h for h in heads if any(label_allowed(h.label, t.label, label_pairs) for t in tails)]
            if heads_ok:
                tails_ok = [t for t in tails if any(label_allowed(h.label, t.label, label_pairs) for h in heads_ok)]
                out.append(Candidate(heads_ok, tails_ok, hk, tk))
    return out


def _bucket(n: int, edges=(0, 1, 2, 3, 5, 8, 12, 20, 40)) -> str:
    for edge in edges:
        if n <= edge:
            return str(edge)
    return f">{edges[-1]}"


@dataclass
class Priors:
    """How often a pair, a head and a tail were a relation among the training candidates.

    ``exclude`` (the counts one training document contributed) makes the
    priors of that document leave-one-out, so training does not learn from
    its own answers.
    """

    seen: Counter = field(default_factory=Counter)
    positive: Counter = field(default_factory=Counter)

    def add(self, counts: Tuple[Counter, Counter]) -> None:
        self.seen.update(counts[0])
        self.positive.update(counts[1])

    @staticmethod
    def doc_counts(candidates: Iterable[Candidate], flags: Iterable[bool]) -> Tuple[Counter, Counter]:
        seen, positive = Counter(), Counter()
        for c, is_pos in zip(candidates, flags):
            for key in (f"pair={c.head_key}|{c.tail_key}", f"head={c.head_key}", f"tail={c.tail_key}"):
                seen[key] += 1
                positive[key] += is_pos
        return seen, positive

    def features(self, c: Candidate, exclude: Optional[Tuple[Counter, Counter]] = None) -> Dict[str, float]:
        feats = {}
        for kind, key in (("pair", f"pair={c.head_key}|{c.tail_key}"), ("head", f"head={c.head_key}"),
                          ("tail", f"tail={c.tail_key}")):
            seen, pos = self.seen.get(key, 0), self.positive.get(key, 0)
            if exclude is not None:
                seen, pos = seen - exclude[0].get(key, 0), pos - exclude[1].get(key, 0)
            if seen > 0:
                feats[f"prior_{kind}_seen"] = 1.0
                feats[f"prior_{kind}_rate"] = (pos + 0.1) / (seen + 0.2)
                feats[f"prior_{kind}_pos_log"] = math.log1p(pos)
            else:
                feats[f"prior_{kind}_unseen"] = 1.0
        return feats

    def to_dict(self) -> dict:
        return {"seen": dict(self.seen), "positive": {k: v for k, v in self.positive.items() if v}}

    @classmethod
    def from_dict(cls, data: dict) -> "Priors":
        return cls(Counter(data.get("seen", {})), Counter(data.get("positive", {})))


_WORD = re.compile(r"[a-z]+")


def _between_words(doc, a: Mention, b: Mention) -> List[str]:
    lo, hi = (a.end, b.start) if a.start < b.start else (b.end, a.start)
    return [t.lower_ for t in doc[lo:hi] if _WORD.fullmatch(t.lower_)] if lo < hi else []


def pair_features(doc, c: Candidate, doc_info: dict) -> Dict[str, float]:
    """Features of one candidate: co-occurrence, distance, trigger words, title, frequency.

    ``doc_info`` (from :func:`doc_info`) holds per-document counts shared by all candidates.
    """
    f: Dict[str, float] = {"bias": 1.0}
    head_sents = {m.sent for m in c.heads}
    tail_sents = {m.sent for m in c.tails}
    shared = head_sents & tail_sents
    f["n_sent_cooc=" + _bucket(len(shared), (0, 1, 2, 3, 5))] = 1.0
    f["sent_cooc_log"] = math.log1p(len(shared))
    f["head_mentions_log"] = math.log1p(len(c.heads))
    f["tail_mentions_log"] = math.log1p(len(c.tails))
    f["head_in_title"] = float(0 in head_sents)
    f["tail_in_title"] = float(0 in tail_sents)
    f["both_in_title"] = float(0 in shared)
    counts = doc_info["key_counts"]
    f["head_is_top"] = float(counts[c.head_key] >= doc_info["top"].get(c.heads[0].label, 0))
    f["tail_is_top"] = float(counts[c.tail_key] >= doc_info["top"].get(c.tails[0].label, 0))
    f["n_heads_in_doc=" + _bucket(doc_info["n_keys"].get(c.heads[0].label, 0), (1, 2, 3, 5, 8))] = 1.0
    f["n_tails_in_doc=" + _bucket(doc_info["n_keys"].get(c.tails[0].label, 0), (1, 2, 3, 5, 8))] = 1.0
    f["head_label=" + c.heads[0].label] = 1.0
    f["tail_label=" + c.tails[0].label] = 1.0
    if not shared:
        gap = min(abs(h.sent - t.sent) for h in c.heads for t in c.tails)
        f["sent_gap=" + _bucket(gap, (1, 2, 3, 5))] = 1.0
        return f
    pairs = [(h, t) for h in c.heads for t in c.tails if h.sent == t.sent]
    h, t = min(pairs, key=lambda p: (_gap(*p), p[0].start))
    distance = _gap(h, t)
    f["dist=" + _bucket(distance)] = 1.0
    f["head_first"] = float(h.start < t.start)
    n_ents_between = sum(1 for s, e in doc_info["ent_offsets"] if min(h.end, t.end) <= s and e <= max(h.start, t.start))
    f["ents_between=" + _bucket(n_ents_between, (0, 1, 2, 4))] = 1.0
    last = doc_info["last_sent"]
    f["cooc_in_last_sentence"] = float(last in shared)
    near = [p for p in pairs if _gap(*p) <= MAX_BETWEEN]
    f["near_pairs=" + _bucket(len(near), (0, 1, 2, 4))] = 1.0
    for a, b in near:
        order = "ht" if a.start < b.start else "th"
        words = _between_words(doc, a, b)
        for w in words:
            f[f"btw_{order}={w}"] = 1.0
        for w1, w2 in zip(words, words[1:]):
            f[f"btw2_{order}={w1}_{w2}"] = 1.0
        if not words:
            f[f"adjacent_{order}"] = 1.0
        for w in words:
            if w in TRIGGERS:
                f["trigger=" + w] = 1.0
        if any(w in NEGATIVE_TRIGGERS for w in words):
            f["negative_trigger"] = 1.0
        lo = min(a.start, b.start)
        for tok in doc[max(0, lo - 2):lo]:
            if _WORD.fullmatch(tok.lower_):
                f["before=" + tok.lower_] = 1.0
    for side, m in (("head", h), ("tail", t)):
        for tok in doc[m.start:m.end]:
            if _WORD.fullmatch(tok.lower_):
                f[f"{side}_word={tok.lower_}"] = 1.0
        for where, tok in (("prev", doc[m.start - 1] if m.start > 0 else None),
                           ("next", doc[m.end] if m.end < len(doc) else None)):
            if tok is not None and (_WORD.fullmatch(tok.lower_) or tok.is_punct):
                f[f"{side}_{where}={tok.lower_}"] = 1.0
    f["induced_in_span"] = float(any(tok.lower_.endswith("induced") for a, b in pairs
                                     for tok in doc[min(a.start, b.start):max(a.end, b.end)]))
    return f


def _gap(a: "Mention", b: "Mention") -> int:
    """Tokens between two mentions (0 when adjacent or overlapping)."""
    return max(0, max(a.start, b.start) - min(a.end, b.end))


def doc_info(ms: List[Mention], ents: Sequence) -> dict:
    counts = Counter(m.key for m in ms)
    top: Dict[str, int] = {}
    keys_by_label: Dict[str, set] = {}
    for m in ms:
        top[m.label] = max(top.get(m.label, 0), counts[m.key])
        keys_by_label.setdefault(m.label, set()).add(m.key)
    return {"key_counts": counts, "top": top, "n_keys": {k: len(v) for k, v in keys_by_label.items()},
            "ent_offsets": [(e.start, e.end) for e in ents], "last_sent": max((m.sent for m in ms), default=0)}


def logistic(weights: Dict[str, float], features: Dict[str, float]) -> float:
    """P(relation) of a sparse feature dict under a linear model (``weights["__intercept__"]`` the intercept)."""
    z = weights.get("__intercept__", 0.0) + sum(weights.get(k, 0.0) * v for k, v in features.items())
    z = max(-30.0, min(30.0, z))
    return 1.0 / (1.0 + math.exp(-z))


def fit_logistic(rows: List[Dict[str, float]], labels: List[int], c: float = 1.0, seed: int = 0) -> Dict[str, float]:
    """Train an L2 logistic regression (scikit-learn, training time only) and return sparse weights."""
    try:
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:  # pragma: no cover - the assertion extra brings it
        raise ImportError("training medner_relations needs scikit-learn: pip install 'medner[assertion]'")
    if len(set(labels)) < 2:
        raise ValueError(f"training medner_relations needs positive and negative candidates, got {Counter(labels)}")
    vec = DictVectorizer()
    x = vec.fit_transform(rows)
    model = LogisticRegression(C=c, max_iter=2000, random_state=seed, class_weight=None)
    model.fit(x, labels)
    weights = {name: float(w) for name, w in zip(vec.get_feature_names_out(), model.coef_[0]) if abs(w) > 1e-6}
    weights["__intercept__"] = float(model.intercept_[0])
    return weights

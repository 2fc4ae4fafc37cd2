"""Learned candidate re-ranker for mentions without an exact name (issue 20): features and scorer.

A logistic regression over a handful of features of (mention, candidate) re-orders the
char 3-gram TF-IDF candidates of a mention that matched no KB name exactly (``choose``'s
"fuzzy" case). Runtime needs numpy only: the weights are a few floats (``Reranker``),
saved inside the pipeline by ``medner_linker``. They are fitted by cross-fitting on the
train split only (``medner.linking.reranker_training``, ``scripts/train_reranker.py``).
"""
import json
import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from .kb.base import Candidate, KnowledgeBase
from .kb.names import head_variants, normalise, organ_variants

FEATURES = ("tfidf", "rank", "gap", "word_overlap", "mention_coverage", "name_coverage", "variant_coverage",
            "head_match", "log_prior", "preferred", "length_ratio")
RERANKER_FORMAT = "medner-reranker/1"


class RerankerFileError(ValueError):
    """A re-ranker weights file (or bytes) that is missing or cannot be read; the message names it."""


def word_overlap(a: str, b: str) -> float:
    """Jaccard overlap of the words of two normalised strings (0 when either is empty).

    >>> word_overlap("heart disease", "heart diseases")
    0.3333333333333333
    """
    wa, wb = set(a.split()), set(b.split())
    return len(wa & wb) / len(wa | wb) if wa and wb else 0.0


def coverage(a: str, b: str) -> float:
    """Share of the words of normalised ``a`` that normalised ``b`` has too (0 when either is empty)."""
    wa, wb = set(a.split()), set(b.split())
    return len(wa & wb) / len(wa) if wa and wb else 0.0


def head_match(a: str, b: str) -> float:
    """1.0 when the last words of two normalised strings are equal, else 0.0."""
    wa, wb = a.split(), b.split()
    return float(bool(wa and wb and wa[-1] == wb[-1]))


def mention_forms(text: str) -> List[str]:
    """The normalised mention and its organ / disease-head variants ("renal lesions" -> "kidney lesion",
    "renal disease"), each normalised, duplicates dropped, the mention first."""
    forms = [text] + [v for f in [text] + organ_variants(text) for v in [f] + head_variants(f)]
    return list(dict.fromkeys(k for k in (normalise(f) for f in forms) if k))


def concept_features(kb: KnowledgeBase, mention: str, candidates: Sequence[Candidate]) -> np.ndarray:
    """One row of ``FEATURES`` per candidate of ``mention`` (candidates ranked, scores TF-IDF cosines).

    Over the concept's normalised names (``KnowledgeBase.normalised_names_of``) and the normalised
    mention: tfidf: the candidate's score; rank: its rank / (n - 1) (0 for the top); gap: top score
    minus its score; word_overlap: best Jaccard word overlap with a name ("the best name": ties to
    the name closest in length); mention_coverage: best share of the mention's words a name has;
    name_coverage: best share of a name's words the mention has; variant_coverage: mention_coverage
    over the mention's organ / disease-head variants too (``mention_forms``); head_match: a name
    ends in the last word of the mention or a variant; log_prior: log(1 + training mentions of the
    concept, ``kb.concept_prior``) minus the highest among the candidates (0 for the most used);
    preferred: the best name is the concept's preferred name; length_ratio: shorter / longer char
    length of the mention and the best name.
    """
    forms = mention_forms(mention)
    whole = forms[0] if forms else ""
    n = len(candidates)
    top = candidates[0].score if candidates else 0.0
    priors = [math.log1p(kb.prior_of(c.id)) for c in candidates]
    rows = []
    for rank, cand in enumerate(candidates):
        names = kb.normalised_names_of(cand.id)
        best_name = max(names, key=lambda nm: (word_overlap(whole, nm), -abs(len(nm) - len(whole))), default="")
        lengths = (len(whole), len(best_name))
        rows.append([
            cand.score, rank / (n - 1) if n > 1 else 0.0, top - cand.score,
            word_overlap(whole, best_name),
            max((coverage(whole, nm) for nm in names), default=0.0),
            max((coverage(nm, whole) for nm in names), default=0.0),
            max((coverage(f, nm) for f in forms for nm in names), default=0.0),
            max((head_match(f, nm) for f in forms for nm in names), default=0.0),
            priors[rank] - max(priors),
            float(bool(best_name) and best_name == normalise(cand.name)),
            min(lengths) / max(lengths) if max(lengths) else 0.0,
        ])
    return np.asarray(rows, dtype=np.float64).reshape(n, len(FEATURES))


class Reranker:
    """Logistic-regression weights over ``FEATURES``: ``probabilities`` and ``rerank`` (numpy only)."""

    def __init__(self, weights: Sequence[float], bias: float, features: Sequence[str] = FEATURES,
                 meta: Optional[dict] = None):
        if tuple(features) != FEATURES:
            raise RerankerFileError(f"re-ranker features {list(features)} differ from this version's {list(FEATURES)}")
        if len(weights) != len(FEATURES):
            raise RerankerFileError(f"re-ranker has {len(weights)} weights for {len(FEATURES)} features")
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = float(bias)
        self.meta = dict(meta or {})

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """P(candidate is the gold concept) per feature row."""
        return 1.0 / (1.0 + np.exp(-(features @ self.weights + self.bias)))

    def rerank(self, kb: KnowledgeBase, mention: str, candidates: Sequence[Candidate]) -> List[Candidate]:
        """The candidates by descending probability (stable: ties keep the TF-IDF order); scores unchanged."""
        if len(candidates) < 2:
            return list(candidates)
        p = self.probabilities(concept_features(kb, mention, candidates))
        order = sorted(range(len(candidates)), key=lambda i: (-round(float(p[i]), 9), i))
        return [candidates[i] for i in order]

    # ------------------------------------------------------------ serialization
    def to_dict(self) -> dict:
        return {"format": RERANKER_FORMAT, "features": list(FEATURES), "weights": [float(w) for w in self.weights],
                "bias": self.bias, "meta": self.meta}

    @classmethod
    def from_dict(cls, data: object, where: str = "re-ranker") -> "Reranker":
        if not isinstance(data, dict) or data.get("format") != RERANKER_FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise RerankerFileError(f"{where}: format {found!r}, expected {RERANKER_FORMAT!r}")
        try:
            weights = [float(w) for w in data["weights"]]
            return cls(weights, float(data["bias"]), data["features"], data.get("meta"))
        except RerankerFileError as err:
            raise RerankerFileError(f"{where}: {err}") from None
        except (KeyError, TypeError, ValueError) as err:
            raise RerankerFileError(f"{where}: weights, bias and features must be numbers and names ({type(err).__name__}: {err})") from None

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), indent=2).encode("utf8")

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "re-ranker bytes") -> "Reranker":
        try:
            parsed = json.loads(data.decode("utf8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise RerankerFileError(f"{where}: not valid JSON ({err})") from None
        return cls.from_dict(parsed, where)

    def to_disk(self, path: Union[str, Path]) -> None:
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def from_disk(cls, path: Union[str, Path]) -> "Reranker":
        """Read weights written by ``to_disk``; ``RerankerFileError`` (one line) names the missing or broken file."""
        path = Path(path)
        if not path.is_file():
            raise RerankerFileError(f"{path}: re-ranker weights file not found")
        return cls.from_bytes(path.read_bytes(), str(path))


def feature_table(weights: Reranker) -> Dict[str, float]:
    """Feature name -> weight (for records and docs)."""
    return {name: round(float(w), 4) for name, w in zip(FEATURES, weights.weights)}


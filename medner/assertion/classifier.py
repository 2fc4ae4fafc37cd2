"""The assertion classifier: sparse features of a span in its segment, and a linear model stored as a weight table.

Inference is numpy only; scikit-learn is needed to train (``train_linear_model``).
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy
import srsly
from spacy.tokens import Doc, Span

from .context import Trigger, rules_value, segment_of


def _word(token) -> str:
    return "<num>" if token.like_num else token.lower_


def span_features(doc: Doc, span: Span, starts: Sequence[int], window: int,
                  triggers: Optional[List[Trigger]] = None, label_values: Optional[Dict[str, str]] = None,
                  far_triggers: Optional[List[Trigger]] = None) -> List[str]:
    """Sparse binary features of one span: its label, its words, the words around it in its segment."""
    n = len(doc)
    left_start, _ = segment_of(starts, span.start, n)
    _, right_end = segment_of(starts, max(span.end - 1, span.start), n)
    feats = [f"label={span.label_}", f"len={min(len(span), 5)}"]
    feats += [f"in={_word(t)}" for t in span[:6] if not t.is_space]
    left = [t for t in doc[max(left_start, span.start - window):span.start] if not t.is_space]
    right = [t for t in doc[span.end:min(right_end, span.end + window)] if not t.is_space]
    if not left:
        feats.append("segment_first")
    for d, tok in enumerate(reversed(left), start=1):
        feats += [f"L{min(d, 4)}={_word(tok)}", f"Lbag={_word(tok)}"]
    for a, b in zip(left, left[1:]):
        feats.append(f"L2={_word(a)}_{_word(b)}")
    for d, tok in enumerate(right, start=1):
        feats += [f"R{min(d, 4)}={_word(tok)}", f"Rbag={_word(tok)}"]
    for a, b in zip(right, right[1:]):
        feats.append(f"R2={_word(a)}_{_word(b)}")
    if triggers is not None:
        feats.append(f"rule={rules_value(span, triggers, label_values or {})}")
        feats += [f"trigger={t.category}:{t.phrase}" for t in triggers]
        feats += [f"rulecat={t.category}" for t in triggers]
    if far_triggers is not None:
        # Scopes 3x longer: the "no" of "no fever, chills, nausea, vomiting or rash".
        feats += [f"farcat={t.category}" for t in far_triggers]
        feats += [f"far={t.category}:{t.phrase}" for t in far_triggers]
        # The words between a far trigger and the span: lists ("no fever, chills or rash") vs clauses.
        for t in far_triggers:
            between = doc[t.end:span.start] if t.end <= span.start else doc[span.end:t.start]
            feats += [f"btw_{t.category}={_word(w)}" for w in between if not w.is_space]
    return feats


@dataclass
class LinearAssertionModel:
    """Multinomial logistic regression over binary features, stored as a weight table.

    Inference is a sum of weight rows (numpy only); scikit-learn is needed to train.
    """

    features: Dict[str, int]
    classes: List[str]
    weights: numpy.ndarray  # (n_features, n_classes)
    bias: numpy.ndarray  # (n_classes,)
    info: dict = field(default_factory=dict)

    def predict(self, feature_lists: List[List[str]]) -> List[str]:
        scores = numpy.tile(self.bias, (len(feature_lists), 1))
        for i, feats in enumerate(feature_lists):
            rows = [self.features[f] for f in set(feats) if f in self.features]
            if rows:
                scores[i] += self.weights[rows].sum(axis=0)
        return [self.classes[k] for k in scores.argmax(axis=1)] if feature_lists else []

    def to_bytes(self) -> bytes:
        names = sorted(self.features, key=self.features.get)
        return srsly.msgpack_dumps({
            "features": names, "classes": self.classes, "info": self.info,
            "weights": self.weights.astype("float16").tobytes(), "shape": list(self.weights.shape),
            "bias": self.bias.astype("float32").tolist(),
        })

    @classmethod
    def from_bytes(cls, data: bytes) -> "LinearAssertionModel":
        msg = srsly.msgpack_loads(data)
        weights = numpy.frombuffer(msg["weights"], dtype="float16").reshape(msg["shape"]).astype("float32")
        return cls({f: i for i, f in enumerate(msg["features"])}, list(msg["classes"]), weights,
                   numpy.asarray(msg["bias"], dtype="float32"), dict(msg.get("info", {})))


def train_linear_model(feature_lists: List[List[str]], labels: List[str], C: float = 1.0,
                       min_count: int = 2, seed: int = 0) -> LinearAssertionModel:
    """Fit the classifier; features seen fewer than ``min_count`` times are left out (smaller model)."""
    from collections import Counter

    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    counts = Counter(f for feats in feature_lists for f in set(feats))
    vocab = {f: i for i, f in enumerate(sorted(f for f, n in counts.items() if n >= min_count))}
    rows, cols = [], []
    for i, feats in enumerate(feature_lists):
        for f in set(feats):
            if f in vocab:
                rows.append(i)
                cols.append(vocab[f])
    matrix = csr_matrix((numpy.ones(len(rows), dtype="float32"), (rows, cols)), shape=(len(feature_lists), len(vocab)))
    model = LogisticRegression(C=C, max_iter=2000, random_state=seed)
    model.fit(matrix, labels)
    classes = [str(c) for c in model.classes_]
    coef, bias = model.coef_, model.intercept_
    if len(classes) == 2:  # binary: sklearn keeps one row; expand to two classes
        coef, bias = numpy.vstack([-coef[0] / 2, coef[0] / 2]), numpy.array([-bias[0] / 2, bias[0] / 2])
    info = {"C": C, "min_count": min_count, "examples": len(labels), "features": len(vocab),
            "class_counts": dict(Counter(labels))}
    return LinearAssertionModel(vocab, classes, coef.T.astype("float32"), bias.astype("float32"), info)

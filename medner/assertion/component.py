"""medner_assertion: is each entity present, negated, uncertain, historical or about family?

"No evidence of pneumonia" and "pneumonia" are opposite facts. This component
gives every span in ``doc.ents`` (or in one span group) an assertion value,
whatever produced the span, and never changes the spans themselves.

Three methods behind one interface (``method``):

* ``rules``: ConText's algorithm over medner's rule set
  (``assertion_rules.DEFAULT_RULES``): triggers open a scope forward or
  backward, bounded by the segment (sentence, or line / sentence punctuation
  when the doc has no sentences), by terminators ("but") and by ``max_scope``
  tokens; pseudo-triggers ("no change") are not triggers.
* ``classifier``: a multinomial logistic regression over the words around
  the span (same segment, ``window`` tokens each side), the span's words and its
  label; trained on MACCROBAT train by ``initialize``, weights saved with the
  pipeline (about 0.8 MB, float16).
* ``combined``: the classifier with the rules' verdicts and trigger phrases
  (normal and 3x scope, with the words between trigger and span) as extra
  features (stacking), so it learns where the rules are right.

Results: ``span._.assertion`` (one of ``ASSERTION_VALUES``) and the booleans
``span._.negated``, ``span._.uncertain``, ``span._.historical``, ``span._.family``.
"""
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Literal, Optional, Sequence, Tuple

import numpy
import srsly
from spacy import util
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.scorer import PRFScore
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.vocab import Vocab

from ..corpus.assertions import ASSERTION_KEY, ASSERTION_VALUES, PRESENT, strongest
from .rules import BACKWARD, BOTH, DEFAULT_RULES, FORWARD, PSEUDO, TERMINATE

Method = Literal["rules", "classifier", "combined"]
DEFAULT_LABEL_VALUES = {"HISTORY": "historical", "FAMILY_HISTORY": "family"}

for _value in ("negated", "uncertain", "historical", "family"):
    if not Span.has_extension(_value):
        Span.set_extension(_value, getter=lambda span, v=_value: span._.assertion == v)
if not Span.has_extension("assertion"):
    Span.set_extension("assertion", default=None)


# ------------------------------------------------------------------ segments
def segment_starts(doc: Doc) -> List[int]:
    """Token indices where a scope segment starts: sentences, or a fallback split.

    A doc without sentence boundaries (no parser, no sentencizer) is cut after
    ``.``, ``!``, ``?`` and at line breaks, so a negation never runs on into the
    next sentence.
    """
    starts = {0}
    if doc.has_annotation("SENT_START"):
        starts.update(sent.start for sent in doc.sents)
    for token in doc:
        if token.text in (".", "!", "?") or (token.is_space and "\n" in token.text):
            starts.add(token.i + 1)
    return sorted(s for s in starts if s < len(doc)) or [0]


def segment_of(starts: Sequence[int], token_i: int, n_tokens: int) -> Tuple[int, int]:
    """The (start, end) of the segment holding token ``token_i``."""
    k = bisect_right(starts, token_i) - 1
    return starts[max(k, 0)], starts[k + 1] if k + 1 < len(starts) else n_tokens


# ------------------------------------------------------------------ rules
@dataclass(frozen=True)
class Trigger:
    start: int
    end: int
    category: str
    direction: str
    phrase: str


def build_matcher(vocab: Vocab, rules: List[Dict[str, str]], tokenizer) -> Tuple[PhraseMatcher, Dict[int, Dict[str, str]]]:
    """One PhraseMatcher over all rule phrases (lower-cased); match id (hash) -> rule.

    Keyed by hash, not string, so that docs from another vocab (a sourced
    component) are matched too.
    """
    matcher = PhraseMatcher(vocab, attr="LOWER")
    by_id: Dict[int, Dict[str, str]] = {}
    for i, rule in enumerate(rules):
        key = f"medner_assertion_{i}"
        by_id[vocab.strings.add(key)] = rule
        matcher.add(key, [tokenizer(rule["phrase"])])
    return matcher, by_id


def find_triggers(doc: Doc, matcher: PhraseMatcher, rules_by_id: Dict[int, Dict[str, str]]) -> List[Trigger]:
    """Triggers and terminators in ``doc``; those touching a pseudo-trigger and shorter overlapping ones are dropped."""
    found = []
    for match_id, start, end in matcher(doc):
        rule = rules_by_id[match_id]
        found.append(Trigger(start, end, rule["category"], rule["direction"], rule["phrase"]))
    in_pseudo = set()
    for t in found:
        if t.category == PSEUDO:
            in_pseudo.update(range(t.start, t.end))
    kept: List[Trigger] = []
    taken: Dict[str, set] = {}
    # Longest first: "ruled out for" beats "ruled out"; "no evidence of" beats "no". Token sets keep it linear.
    for trig in sorted(found, key=lambda t: (t.start - t.end, t.start)):
        if trig.category == PSEUDO or any(i in in_pseudo for i in range(trig.start, trig.end)):
            continue
        # Forward and backward readings of the same words may both hold ("was ruled out for MI").
        occupied = taken.setdefault(TERMINATE if trig.category == TERMINATE else trig.direction, set())
        if trig.start in occupied or trig.end - 1 in occupied:
            continue
        occupied.update(range(trig.start, trig.end))
        kept.append(trig)
    return sorted(kept, key=lambda t: (t.start, t.end))


def rule_verdicts(
    doc: Doc, spans: Sequence[Span], triggers: List[Trigger], starts: Sequence[int], max_scope: int,
) -> List[List[Trigger]]:
    """For each span, the triggers whose scope reaches it (ConText).

    A forward trigger reaches spans that start after it, before the segment end,
    the next terminator and ``max_scope`` tokens; a backward trigger the same way
    to the left. A trigger inside the span does not count. Time is linear in
    triggers x spans within ``max_scope``, so long documents stay cheap.
    """
    n = len(doc)
    reached: List[List[Trigger]] = [[] for _ in spans]
    terminators = [t for t in triggers if t.category == TERMINATE]
    term_starts = [t.start for t in terminators]
    term_ends = sorted(t.end for t in terminators)
    by_start = sorted(range(len(spans)), key=lambda i: spans[i].start)
    span_starts = [spans[i].start for i in by_start]
    by_end = sorted(range(len(spans)), key=lambda i: spans[i].end)
    span_ends = [spans[i].end for i in by_end]
    for trig in triggers:
        if trig.category == TERMINATE:
            continue
        seg_start, seg_end = segment_of(starts, trig.start, n)
        if trig.direction in (FORWARD, BOTH):
            k = bisect_left(term_starts, trig.end)
            stop = min(seg_end, trig.end + max_scope, term_starts[k] if k < len(term_starts) else n)
            for j in range(bisect_left(span_starts, trig.end), bisect_left(span_starts, stop)):
                reached[by_start[j]].append(trig)
        if trig.direction in (BACKWARD, BOTH):
            k = bisect_right(term_ends, trig.start)
            begin = max(seg_start, trig.start - max_scope, term_ends[k - 1] if k > 0 else 0)
            for j in range(bisect_right(span_ends, begin), bisect_right(span_ends, trig.start)):
                reached[by_end[j]].append(trig)
    return reached


def rules_value(span: Span, triggers: List[Trigger], label_values: Dict[str, str]) -> str:
    values = {t.category for t in triggers}
    if span.label_ in label_values:
        values.add(label_values[span.label_])
    return strongest(values)


# ------------------------------------------------------------------ classifier
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


# ------------------------------------------------------------------ the component
@Language.factory(
    "medner_assertion",
    default_config={
        "method": "combined",
        "span_key": None,
        "max_scope": 8,
        "window": 6,
        "label_values": DEFAULT_LABEL_VALUES,
        "scorer": {"@scorers": "medner.assertion_scorer.v1"},
    },
    default_score_weights={"assertion_negated_f": 0.5, "assertion_acc": 0.5},
)
def make_assertion(
    nlp: Language,
    name: str,
    method: Method,
    span_key: Optional[str],
    max_scope: int,
    window: int,
    label_values: Dict[str, str],
    scorer: Optional[Callable],
) -> "AssertionComponent":
    return AssertionComponent(nlp, name, method=method, span_key=span_key, max_scope=max_scope,
                              window=window, label_values=label_values, scorer=scorer)


class AssertionComponent:
    """Sets ``span._.assertion`` on ``doc.ents`` (``span_key=None``) or ``doc.spans[span_key]``."""

    def __init__(self, nlp: Language, name: str = "medner_assertion", *, method: Method = "combined",
                 span_key: Optional[str] = None, max_scope: int = 8, window: int = 6,
                 label_values: Optional[Dict[str, str]] = None, scorer: Optional[Callable] = None):
        if method not in ("rules", "classifier", "combined"):
            raise ValueError(f"medner_assertion: method must be 'rules', 'classifier' or 'combined', not {method!r}")
        if max_scope < 1 or window < 0:
            raise ValueError(f"medner_assertion: max_scope must be >= 1 and window >= 0 (got {max_scope}, {window})")
        self.name = name
        self.vocab = nlp.vocab
        self._tokenizer = nlp.tokenizer
        self.method = method
        self.span_key = span_key
        self.max_scope = max_scope
        self.window = window
        self.label_values = dict(label_values if label_values is not None else DEFAULT_LABEL_VALUES)
        self.scorer = scorer
        self.rules: List[Dict[str, str]] = [dict(r) for r in DEFAULT_RULES]
        self.classifier: Optional[LinearAssertionModel] = None
        self._compile()

    def _compile(self) -> None:
        self._matcher, self._rules_by_id = build_matcher(self.vocab, self.rules, self._tokenizer)

    def target_spans(self, doc: Doc) -> List[Span]:
        if self.span_key is None:
            return list(doc.ents)
        return list(doc.spans[self.span_key]) if self.span_key in doc.spans else []

    def predict(self, doc: Doc, spans: Sequence[Span]) -> List[str]:
        """Assertion values for ``spans`` of ``doc`` (any spans, not only this doc's entities)."""
        if not spans:
            return []
        if self.method != "rules" and self.classifier is None:
            raise ValueError(
                f"medner_assertion: method {self.method!r} needs trained weights; "
                "train it with scripts/train_assertion.py (or nlp.initialize on examples with "
                f"doc.spans['{ASSERTION_KEY}']), or use method='rules'"
            )
        starts = segment_starts(doc)
        triggers = find_triggers(doc, self._matcher, self._rules_by_id)
        reached = rule_verdicts(doc, spans, triggers, starts, self.max_scope)
        if self.method == "rules":
            return [rules_value(s, r, self.label_values) for s, r in zip(spans, reached)]
        feats = self._features(doc, spans, starts, triggers, reached)
        return self.classifier.predict(feats)

    def __call__(self, doc: Doc) -> Doc:
        spans = self.target_spans(doc)
        for span, value in zip(spans, self.predict(doc, spans)):
            span._.assertion = value
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterable[Doc]:
        for doc in docs:
            yield self(doc)

    def _features(self, doc: Doc, spans: Sequence[Span], starts: Sequence[int], triggers: List[Trigger],
                  reached: List[List[Trigger]]) -> List[List[str]]:
        if self.method != "combined":
            return [span_features(doc, s, starts, self.window) for s in spans]
        far = rule_verdicts(doc, spans, triggers, starts, 3 * self.max_scope)
        return [span_features(doc, s, starts, self.window, r, self.label_values, f)
                for s, r, f in zip(spans, reached, far)]

    # -------------------------------------------------------------- training
    def training_features(self, examples: Iterable[Example]) -> Tuple[List[List[str]], List[str]]:
        """Features and gold values of every span in the references' ``doc.spans['assertion']``."""
        feature_lists, labels = [], []
        for eg in examples:
            ref = eg.reference
            if ASSERTION_KEY not in ref.spans:
                continue
            group = ref.spans[ASSERTION_KEY]
            entity_labels = group.attrs.get("entity_labels", [""] * len(group))
            spans = [Span(ref, s.start, s.end, label=lab) for s, lab in zip(group, entity_labels)]
            starts = segment_starts(ref)
            triggers = find_triggers(ref, self._matcher, self._rules_by_id)
            reached = rule_verdicts(ref, spans, triggers, starts, self.max_scope)
            feature_lists.extend(self._features(ref, spans, starts, triggers, reached))
            labels.extend(gold.label_ for gold in group)
        return feature_lists, labels

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *, nlp: Optional[Language] = None,
                   rules: Optional[List[Dict[str, str]]] = None, C: float = 1.0, min_count: int = 2) -> None:
        """Load a rule set (optional) and, for the classifier methods, train on gold assertions."""
        if rules is not None:
            self.rules = [dict(r) for r in rules]
            self._compile()
        if self.method == "rules":
            return
        feature_lists, labels = self.training_features(get_examples())
        if len(set(labels)) < 2:
            raise ValueError(
                f"medner_assertion: training needs examples with doc.spans['{ASSERTION_KEY}'] holding "
                f"at least two assertion values; got {len(labels)} spans with {sorted(set(labels))}"
            )
        self.classifier = train_linear_model(feature_lists, labels, C=C, min_count=min_count)

    def score(self, examples: Iterable[Example], **kwargs) -> Dict[str, float]:
        scorer = self.scorer or score_assertions
        return scorer(examples, span_key=self.span_key, **kwargs)

    # -------------------------------------------------------------- serialization
    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        data = {"rules": lambda: srsly.json_dumps(self.rules)}
        if self.classifier is not None:
            data["classifier"] = self.classifier.to_bytes
        return util.to_bytes(data, exclude)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "AssertionComponent":
        msg = srsly.msgpack_loads(bytes_data)
        if "rules" in msg and "rules" not in exclude:
            self.rules = srsly.json_loads(msg["rules"])
            self._compile()
        if "classifier" in msg and "classifier" not in exclude:
            self.classifier = LinearAssertionModel.from_bytes(msg["classifier"])
        return self

    def to_disk(self, path, *, exclude: Iterable[str] = tuple()) -> None:
        path = Path(path)
        writers = {"rules": lambda p: srsly.write_json(p.with_suffix(".json"), self.rules)}
        if self.classifier is not None:
            writers["classifier"] = lambda p: p.with_suffix(".bin").write_bytes(self.classifier.to_bytes())
        util.to_disk(path, writers, exclude)

    def from_disk(self, path, *, exclude: Iterable[str] = tuple()) -> "AssertionComponent":
        path = Path(path)

        def read_rules(p: Path) -> None:
            if not p.with_suffix(".json").exists():
                raise ValueError(f"medner_assertion: {p.with_suffix('.json')} is missing: the saved pipeline is incomplete")
            self.rules = srsly.read_json(p.with_suffix(".json"))
            self._compile()

        def read_classifier(p: Path) -> None:
            file_ = p.with_suffix(".bin")
            if file_.exists():
                self.classifier = LinearAssertionModel.from_bytes(file_.read_bytes())
            elif self.method != "rules":
                raise ValueError(f"medner_assertion: method {self.method!r} needs {file_}, which is missing")

        util.from_disk(path, {"rules": read_rules, "classifier": read_classifier}, exclude)
        return self


# ------------------------------------------------------------------ scoring
def assertion_prf(pairs: Iterable[Tuple[str, str]], values: Sequence[str] = ASSERTION_VALUES) -> Dict[str, dict]:
    """Per-value precision/recall/F1 (and accuracy) from (gold, predicted) pairs."""
    scores = {v: PRFScore() for v in values}
    total = correct = 0
    for gold, pred in pairs:
        total += 1
        correct += gold == pred
        for v in values:
            if pred == v and gold == v:
                scores[v].tp += 1
            elif pred == v:
                scores[v].fp += 1
            elif gold == v:
                scores[v].fn += 1
    out = {v: {"p": s.precision, "r": s.recall, "f": s.fscore, "support": s.tp + s.fn} for v, s in scores.items()}
    out["accuracy"] = correct / total if total else 0.0
    out["spans"] = total
    return out


@util.registry.scorers("medner.assertion_scorer.v1")
def make_assertion_scorer() -> Callable:
    return score_assertions


def score_assertions(examples: Iterable[Example], span_key: Optional[str] = None, **kwargs) -> Dict[str, float]:
    """Score predicted ``span._.assertion`` against the references' ``doc.spans['assertion']``.

    Only spans found in both (same offsets) count: this scores the assertion, not the NER.
    """
    pairs = []
    for eg in examples:
        if ASSERTION_KEY not in eg.reference.spans:
            continue
        gold = {(s.start_char, s.end_char): s.label_ for s in eg.reference.spans[ASSERTION_KEY]}
        predicted = eg.predicted.ents if span_key is None else eg.predicted.spans.get(span_key, [])
        for span in predicted:
            key = (span.start_char, span.end_char)
            if key in gold:
                pairs.append((gold[key], span._.assertion or PRESENT))
    prf = assertion_prf(pairs)
    scores: Dict[str, float] = {"assertion_acc": prf["accuracy"]}
    for v in ASSERTION_VALUES:
        for k in ("p", "r", "f"):
            scores[f"assertion_{v}_{k}"] = prf[v][k]
    return scores

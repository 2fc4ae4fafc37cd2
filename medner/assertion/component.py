"""medner_assertion: is each entity present, negated, uncertain, historical or about family?

"No evidence of pneumonia" and "pneumonia" are opposite facts. This component
gives every span in ``doc.ents`` (or in one span group) an assertion value,
whatever produced the span, and never changes the spans themselves.

Three methods behind one interface (``method``):

* ``rules``: ConText's algorithm over medner's rule set
  (``medner.assertion.rules.DEFAULT_RULES``, engine in :mod:`.context`): triggers open a scope forward or
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
``span._.negated``, ``span._.uncertain``, ``span._.historical``, ``span._.family``;
on spans labelled one of ``medication_labels``, ``span._.medication_status``
(:mod:`.medication`: started, continued, held, stopped, discontinued, increased,
decreased, or ``""``). A held or stopped drug is not negated.
"""
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Literal, Optional, Sequence, Tuple

import srsly
from spacy import util
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example

from .. import register_extension
from ..corpus.assertions import ASSERTION_KEY, NEGATED, PRESENT
from ..evaluation.spans import entity_spans
from .classifier import LinearAssertionModel, span_features, train_linear_model
from .context import Trigger, build_matcher, find_triggers, rule_verdicts, rules_value, segment_starts
from .medication import (NO_STATUS, covered_tokens, ended_drug_value, is_ended, medication_statuses,
                         only_status_negation, status_matcher_rules)
from .rules import DEFAULT_RULES, DEFAULT_STATUS_RULES
from .scorer import score_assertions

Method = Literal["rules", "classifier", "combined"]
# Values where the rules' verdict wins over a classifier that says "present". ["uncertain"] was chosen on
# MACCROBAT dev (docs/assertion.md): the classifier sees too few uncertain spans (11 in dev) to learn them.
RuleValue = Literal["negated", "uncertain", "historical", "family"]
RULE_VALUES = ("negated", "uncertain", "historical", "family")
DEFAULT_LABEL_VALUES = {"HISTORY": "historical", "FAMILY_HISTORY": "family"}
# Entity labels that name a drug (MACCROBAT's and the clinical schema's MEDICATION); [] turns medication status off.
DEFAULT_MEDICATION_LABELS = ["MEDICATION"]

for _value in ("negated", "uncertain", "historical", "family"):
    register_extension(Span, _value, getter=lambda span, v=_value: span._.assertion == v)
register_extension(Span, "assertion", default=None)
register_extension(Span, "medication_status", default=None)


@Language.factory(
    "medner_assertion",
    default_config={
        "method": "combined",
        "span_key": None,
        "max_scope": 8,
        "window": 6,
        "label_values": DEFAULT_LABEL_VALUES,
        "medication_labels": DEFAULT_MEDICATION_LABELS,
        "status_scope": 6,
        "trust_rules_for": ["uncertain"],
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
    medication_labels: List[str],
    status_scope: int,
    trust_rules_for: List[RuleValue],
    scorer: Optional[Callable],
) -> "AssertionComponent":
    return AssertionComponent(nlp, name, method=method, span_key=span_key, max_scope=max_scope,
                              window=window, label_values=label_values, medication_labels=medication_labels,
                              status_scope=status_scope, trust_rules_for=trust_rules_for, scorer=scorer)


class AssertionComponent:
    """Sets ``span._.assertion`` on ``doc.ents`` (``span_key=None``) or ``doc.spans[span_key]``."""

    def __init__(self, nlp: Language, name: str = "medner_assertion", *, method: Method = "combined",
                 span_key: Optional[str] = None, max_scope: int = 8, window: int = 6,
                 label_values: Optional[Dict[str, str]] = None, medication_labels: Optional[List[str]] = None,
                 status_scope: int = 6, trust_rules_for: Sequence[str] = ("uncertain",),
                 scorer: Optional[Callable] = None):
        if method not in ("rules", "classifier", "combined"):
            raise ValueError(f"medner_assertion: method must be 'rules', 'classifier' or 'combined', not {method!r}")
        if max_scope < 1 or window < 0 or status_scope < 0:
            raise ValueError(f"medner_assertion: max_scope must be >= 1, window and status_scope >= 0 "
                             f"(got {max_scope}, {window}, {status_scope})")
        self.name = name
        self.vocab = nlp.vocab
        self._tokenizer = nlp.tokenizer
        self.method = method
        self.span_key = span_key
        self.max_scope = max_scope
        self.window = window
        self.label_values = dict(label_values if label_values is not None else DEFAULT_LABEL_VALUES)
        self.medication_labels = set(medication_labels if medication_labels is not None else DEFAULT_MEDICATION_LABELS)
        self.status_scope = status_scope
        bad = [v for v in trust_rules_for if v not in RULE_VALUES]
        if bad:
            raise ValueError(f"medner_assertion: trust_rules_for takes {', '.join(RULE_VALUES)}, not {bad}")
        self.trust_rules_for = list(trust_rules_for)
        self.scorer = scorer
        self.rules: List[Dict[str, str]] = [dict(r) for r in DEFAULT_RULES]
        self.status_rules: List[Dict[str, str]] = [dict(r) for r in DEFAULT_STATUS_RULES]
        self.classifier: Optional[LinearAssertionModel] = None
        self._compile()

    def _compile(self) -> None:
        self._matcher, self._rules_by_id = build_matcher(self.vocab, self.rules, self._tokenizer)
        self._status_matcher, self._status_rules_by_id = build_matcher(
            self.vocab, status_matcher_rules(self.status_rules), self._tokenizer)

    def target_spans(self, doc: Doc) -> List[Span]:
        return entity_spans(doc, self.span_key)

    def predict(self, doc: Doc, spans: Sequence[Span]) -> List[str]:
        """Assertion values for ``spans`` of ``doc`` (any spans, not only this doc's entities)."""
        return self.analyse(doc, spans)[0]

    def analyse(self, doc: Doc, spans: Sequence[Span]) -> Tuple[List[str], List[Optional[str]]]:
        """Assertion values and medication statuses (``None`` for a span that is not a drug) of ``spans``."""
        if not spans:
            return [], []
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
            values = [rules_value(s, r, self.label_values) for s, r in zip(spans, reached)]
        else:
            values = self.classifier.predict(self._features(doc, spans, starts, triggers, reached))
            if self.trust_rules_for:
                values = [self._trusted(value, rules_value(s, r, self.label_values))
                          for value, s, r in zip(values, spans, reached)]
        statuses = self._medication_statuses(doc, spans, starts, triggers, reached, values)
        return values, statuses

    def _trusted(self, value: str, rule_value: str) -> str:
        return rule_value if value == PRESENT and rule_value in self.trust_rules_for else value

    def _medication_statuses(self, doc: Doc, spans: Sequence[Span], starts: Sequence[int], triggers: List[Trigger],
                             reached: List[List[Trigger]], values: List[str]) -> List[Optional[str]]:
        """Statuses of the drugs among ``spans``; a held / stopped drug negated only by its status phrase gets its other value (in place)."""
        drugs = [i for i, s in enumerate(spans) if s.label_ in self.medication_labels]
        statuses: List[Optional[str]] = [None] * len(spans)
        if not drugs:
            return statuses
        status_triggers = find_triggers(doc, self._status_matcher, self._status_rules_by_id)
        drug_spans = [spans[i] for i in drugs]
        far = rule_verdicts(doc, drug_spans, triggers, starts, 3 * self.max_scope)
        status_tokens = covered_tokens(status_triggers)
        found = medication_statuses(doc, drug_spans, status_triggers, starts, self.status_scope)
        for i, status, far_reached in zip(drugs, found, far):
            statuses[i] = status
            if values[i] == NEGATED and is_ended(status) and only_status_negation(far_reached, status_tokens):
                extra = [self.label_values[spans[i].label_]] if spans[i].label_ in self.label_values else []
                values[i] = ended_drug_value(reached[i], status_tokens, extra)
            elif values[i] == NEGATED:
                statuses[i] = NO_STATUS  # "Aspirin was not started": no status for a drug that is not there
        return statuses

    def __call__(self, doc: Doc) -> Doc:
        spans = self.target_spans(doc)
        values, statuses = self.analyse(doc, spans)
        for span, value, status in zip(spans, values, statuses):
            span._.assertion = value
            span._.medication_status = status if status is not None else NO_STATUS
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
        data = {"rules": lambda: srsly.json_dumps(self.rules), "status_rules": lambda: srsly.json_dumps(self.status_rules)}
        if self.classifier is not None:
            data["classifier"] = self.classifier.to_bytes
        return util.to_bytes(data, exclude)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "AssertionComponent":
        msg = srsly.msgpack_loads(bytes_data)
        if "rules" in msg and "rules" not in exclude:
            self.rules = srsly.json_loads(msg["rules"])
        if "status_rules" in msg and "status_rules" not in exclude:
            self.status_rules = srsly.json_loads(msg["status_rules"])
        self._compile()
        if "classifier" in msg and "classifier" not in exclude:
            self.classifier = LinearAssertionModel.from_bytes(msg["classifier"])
        return self

    def to_disk(self, path, *, exclude: Iterable[str] = tuple()) -> None:
        path = Path(path)
        writers = {"rules": lambda p: srsly.write_json(p.with_suffix(".json"), self.rules),
                   "status_rules": lambda p: srsly.write_json(p.with_suffix(".json"), self.status_rules)}
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

        def read_status_rules(p: Path) -> None:
            # Saved before medication status existed (0.2.0): keep the default status rules.
            if p.with_suffix(".json").exists():
                self.status_rules = srsly.read_json(p.with_suffix(".json"))
                self._compile()

        def read_classifier(p: Path) -> None:
            file_ = p.with_suffix(".bin")
            if file_.exists():
                self.classifier = LinearAssertionModel.from_bytes(file_.read_bytes())
            elif self.method != "rules":
                raise ValueError(f"medner_assertion: method {self.method!r} needs {file_}, which is missing")

        util.from_disk(path, {"rules": read_rules, "status_rules": read_status_rules, "classifier": read_classifier},
                       exclude)
        return self

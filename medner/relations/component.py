"""``medner_relations``: which chemical/drug induced which disease/effect, from the entities of a pipeline.

Candidates and features are plain functions in :mod:`medner.relations.features`;
this file holds the spaCy side: factory, training in ``initialize``, storage,
serialization and the scorer.

Output (``doc._.relations``, a list of dicts, in document order)::

    {"head": [start_char, end_char], "tail": [start_char, end_char],
     "label": "CID", "score": 0.91, "head_id": "D008874", "tail_id": "D006331"}

``head``/``tail`` are character offsets of a mention of each side: at
``level="concept"`` (BC5CDR's document-level task) the first mention of the
concept, and ``head_id``/``tail_id`` are the concept ids (``kb_id_`` set by
medner_linker; a mention without one is keyed by its lower-cased text, as
``"text:..."``). At ``level="mention"`` they are the two entities themselves.

Storage: the span group ``doc.spans[spans_key]`` (default ``"medner_relations"``)
holds ``[head_0, tail_0, head_1, tail_1, ...]`` with ``attrs`` ``labels``,
``scores``, ``head_ids`` and ``tail_ids`` (one per relation). Span groups and
their attrs are part of ``Doc.to_bytes``, so relations survive ``DocBin``
without ``store_user_data``; ``doc._.relations`` is a getter over that group.

Training: ``initialize(get_examples)`` takes examples whose ``predicted`` doc
has the entities (gold or a pipeline's, with ``kb_id_`` for concepts) and whose
``reference`` doc holds the gold relations in the same span group (see
:func:`set_relations`). The classifier is a logistic regression fitted with
scikit-learn at training time and saved as a sparse ``{feature: weight}``
dict, so the saved component needs only spaCy at runtime.
"""
import json
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Literal, Optional, Sequence, Tuple

from spacy import util
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example

from .. import register_extension
from .features import (Candidate, Priors, candidate_pairs, doc_info, fit_logistic, logistic, mentions,
                       pair_features, sentence_ids)

RELATIONS_KEY = "medner_relations"
DEFAULT_LABEL_PAIRS = [["CHEMICAL", "DISEASE"], ["MEDICATION", "DISEASE"], ["MEDICATION", "SIGN_SYMPTOM"],
                       ["CHEMICAL", "SIGN_SYMPTOM"]]


def get_relations(doc: Doc, spans_key: str = RELATIONS_KEY) -> List[Dict[str, Any]]:
    """The relations stored in ``doc.spans[spans_key]`` as dicts (see the module docstring)."""
    if spans_key not in doc.spans:
        return []
    group = doc.spans[spans_key]
    attrs = group.attrs
    labels, scores = attrs.get("labels", []), attrs.get("scores", [])
    head_ids, tail_ids = attrs.get("head_ids", []), attrs.get("tail_ids", [])
    out = []
    for i in range(len(group) // 2):
        head, tail = group[2 * i], group[2 * i + 1]
        relation = {"head": [head.start_char, head.end_char], "tail": [tail.start_char, tail.end_char],
                    "label": labels[i], "score": scores[i] if i < len(scores) else None}
        if i < len(head_ids) and head_ids[i] is not None:
            relation["head_id"], relation["tail_id"] = head_ids[i], tail_ids[i]
        out.append(relation)
    return out


register_extension(Doc, "relations", getter=get_relations)


def set_relations(doc: Doc, relations: Sequence[Tuple[Span, Span, str, Optional[float], Optional[str], Optional[str]]],
                  spans_key: str = RELATIONS_KEY) -> None:
    """Store ``(head span, tail span, label, score, head_id, tail_id)`` tuples (gold or predicted) on ``doc``."""
    spans = [s for rel in relations for s in (rel[0], rel[1])]
    doc.spans[spans_key] = spans
    attrs = doc.spans[spans_key].attrs
    attrs["labels"] = [rel[2] for rel in relations]
    attrs["scores"] = [None if rel[3] is None else round(float(rel[3]), 4) for rel in relations]
    attrs["head_ids"] = [rel[4] for rel in relations]
    attrs["tail_ids"] = [rel[5] for rel in relations]


@Language.factory(
    "medner_relations",
    default_config={
        "label": "CID",
        "label_pairs": DEFAULT_LABEL_PAIRS,
        "level": "concept",
        "max_sentence_distance": 0,
        "threshold": 0.5,
        "at_least_one": False,
        "regularization": 1.0,
        "priors": True,
        "spans_key": RELATIONS_KEY,
        "scorer": {"@scorers": "medner.relations_scorer.v1"},
    },
    assigns=["doc._.relations"],
    requires=["doc.ents"],
    default_score_weights={"rel_f": 1.0, "rel_p": 0.0, "rel_r": 0.0},
)
def make_relations(
    nlp: Language,
    name: str,
    label: str,
    label_pairs: List[List[str]],
    level: Literal["mention", "concept"],
    max_sentence_distance: int,
    threshold: float,
    at_least_one: bool,
    regularization: float,
    priors: bool,
    spans_key: str,
    scorer: Optional[Callable],
) -> "RelationExtractor":
    """label: the relation's name; label_pairs: [head label, tail label] pairs that are candidates;
    level: "concept" (pairs of concept ids per document) or "mention" (pairs of entities within
    max_sentence_distance sentences); threshold: minimum probability for a relation; at_least_one: keep
    the best candidate of a document that has none above the threshold (BC5CDR abstracts were chosen for
    having a chemical-induced disease; candidates with concept ids are preferred);
    regularization: the logistic regression's C; priors: use training-set pair/head/tail rates as features."""
    if any(len(p) != 2 for p in label_pairs):
        raise ValueError(f"[{name}] label_pairs must be [head, tail] pairs, got {label_pairs}")
    return RelationExtractor(name, label=label, label_pairs=label_pairs, level=level,
                             max_sentence_distance=max_sentence_distance, threshold=threshold,
                             at_least_one=at_least_one, regularization=regularization, priors=priors,
                             spans_key=spans_key, scorer=scorer)


class RelationExtractor:
    """Holds the weights and priors; candidates and features come from :mod:`medner.relations.features`."""

    def __init__(self, name: str = "medner_relations", *, label: str = "CID",
                 label_pairs: Optional[List[List[str]]] = None, level: str = "concept",
                 max_sentence_distance: int = 0, threshold: float = 0.5, at_least_one: bool = False,
                 regularization: float = 1.0,
                 priors: bool = True, spans_key: str = RELATIONS_KEY, scorer: Optional[Callable] = None):
        self.name = name
        self.cfg = {"label": label, "label_pairs": [list(p) for p in (label_pairs or DEFAULT_LABEL_PAIRS)],
                    "level": level, "max_sentence_distance": max_sentence_distance, "threshold": threshold,
                    "at_least_one": at_least_one, "regularization": regularization, "priors": priors, "spans_key": spans_key}
        self.scorer = scorer
        self.weights: Dict[str, float] = {}
        self.priors = Priors()

    # ------------------------------------------------------------ candidates
    def candidates(self, doc: Doc) -> Tuple[List[Candidate], List[Dict[str, float]]]:
        """Candidate pairs of ``doc`` and their features (priors included when enabled)."""
        ents = list(doc.ents)
        sents = sentence_ids(doc)
        ms = mentions(doc, ents, sents)
        cands = candidate_pairs(ms, self.cfg["label_pairs"], self.cfg["level"], self.cfg["max_sentence_distance"])
        info = doc_info(ms, ents)
        return cands, [pair_features(doc, c, info) for c in cands]

    def _gold_flags(self, doc: Doc, reference: Doc, cands: List[Candidate]) -> List[bool]:
        gold = get_relations(reference, self.cfg["spans_key"])
        if self.cfg["level"] == "concept":
            keys = {(r.get("head_id"), r.get("tail_id")) for r in gold}
            return [(c.head_key, c.tail_key) in keys for c in cands]
        keys = {(tuple(r["head"]), tuple(r["tail"])) for r in gold}
        ents = doc.ents
        return [((ents[c.heads[0].index].start_char, ents[c.heads[0].index].end_char),
                 (ents[c.tails[0].index].start_char, ents[c.tails[0].index].end_char)) in keys for c in cands]

    # ------------------------------------------------------------ training
    def initialize(self, get_examples: Optional[Callable[[], Iterable[Example]]] = None, *,
                   nlp: Optional[Language] = None) -> None:
        """Fit the classifier on ``get_examples()`` (see the module docstring for what they hold)."""
        if get_examples is None:
            raise ValueError(f"[{self.name}] initialize needs get_examples with gold relations to train on")
        per_doc = []
        self.priors = Priors()
        for eg in get_examples():
            cands, feats = self.candidates(eg.predicted)
            flags = self._gold_flags(eg.predicted, eg.reference, cands)
            counts = Priors.doc_counts(cands, flags)
            self.priors.add(counts)
            per_doc.append((cands, feats, flags, counts))
        rows, labels = [], []
        for cands, feats, flags, counts in per_doc:
            for c, f, flag in zip(cands, feats, flags):
                if self.cfg["priors"]:
                    f = {**f, **self.priors.features(c, exclude=counts)}
                rows.append(f)
                labels.append(int(flag))
        if not rows:
            raise ValueError(f"[{self.name}] the training examples give no candidate pairs "
                             f"(entities with labels {self.cfg['label_pairs']}?)")
        self.weights = fit_logistic(rows, labels, c=self.cfg["regularization"])
        if not self.cfg["priors"]:
            self.priors = Priors()  # not used: not saved

    # ------------------------------------------------------------ prediction
    def predict_scores(self, doc: Doc) -> Tuple[List[Candidate], List[float]]:
        cands, feats = self.candidates(doc)
        scores = []
        for c, f in zip(cands, feats):
            if self.cfg["priors"]:
                f = {**f, **self.priors.features(c)}
            scores.append(logistic(self.weights, f))
        return cands, scores

    def __call__(self, doc: Doc) -> Doc:
        if not self.weights:
            raise ValueError(f"[{self.name}] is not trained: call nlp.initialize with examples, or load a trained pipeline")
        cands, scores = self.predict_scores(doc)
        return self.store(doc, cands, scores)

    def store(self, doc: Doc, cands: List[Candidate], scores: List[float]) -> Doc:
        """Keep the candidates that pass (:func:`select`) and store them on ``doc`` (:func:`set_relations`)."""
        ents = doc.ents
        concept = self.cfg["level"] == "concept"
        found = []
        for i in select(cands, scores, self.cfg["threshold"], self.cfg["at_least_one"]):
            c = cands[i]
            found.append((ents[c.heads[0].index], ents[c.tails[0].index], self.cfg["label"], scores[i],
                          c.head_key if concept else None, c.tail_key if concept else None))
        found.sort(key=lambda r: (r[0].start, r[1].start, r[4] or "", r[5] or ""))
        set_relations(doc, found, self.cfg["spans_key"])
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterable[Doc]:
        for doc in docs:
            yield self(doc)

    def score(self, examples: Iterable[Example], **kwargs) -> Dict[str, Any]:
        return (self.scorer or score_relations)(examples, spans_key=self.cfg["spans_key"])

    # ------------------------------------------------------------ serialization
    def _state(self) -> dict:
        return {"cfg": self.cfg, "weights": self.weights, "priors": self.priors.to_dict()}

    def _load_state(self, state: dict, where: str) -> "RelationExtractor":
        missing = [k for k in ("cfg", "weights", "priors") if k not in state]
        if missing:
            raise ValueError(f"[{self.name}] {where} lacks {missing}: not a medner_relations model")
        self.cfg.update(state["cfg"])
        self.weights = {k: float(v) for k, v in state["weights"].items()}
        self.priors = Priors.from_dict(state["priors"])
        return self

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        return json.dumps(self._state(), sort_keys=True).encode("utf8")

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = tuple()) -> "RelationExtractor":
        return self._load_state(json.loads(data.decode("utf8")), "the bytes")

    def to_disk(self, path, *, exclude: Iterable[str] = tuple()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        util.to_disk(path, {"model.json": lambda p: p.write_text(json.dumps(self._state(), sort_keys=True),
                                                                 encoding="utf8")}, exclude)

    def from_disk(self, path, *, exclude: Iterable[str] = tuple()) -> "RelationExtractor":
        model = Path(path) / "model.json"
        if not model.exists():
            raise ValueError(f"[{self.name}] missing {model}: the component was saved without its weights")
        return self._load_state(json.loads(model.read_text(encoding="utf8")), str(model))


def select(cands: List[Candidate], scores: List[float], threshold: float, at_least_one: bool) -> List[int]:
    """Indices of the candidates that become relations (see ``at_least_one`` in the factory)."""
    chosen = [i for i, s in enumerate(scores) if s >= threshold]
    if chosen or not at_least_one or not cands:
        return chosen
    with_ids = [i for i, c in enumerate(cands) if not (c.head_key.startswith("text:") or c.tail_key.startswith("text:"))]
    pool = with_ids or list(range(len(cands)))
    return [max(pool, key=lambda i: scores[i])]


# ------------------------------------------------------------ scoring
def relation_keys(doc: Doc, spans_key: str = RELATIONS_KEY, overlap: bool = False) -> set:
    """Comparable keys of a doc's relations: concept ids where present, else character offsets."""
    keys = set()
    for r in get_relations(doc, spans_key):
        if r.get("head_id") is not None:
            keys.add((r["head_id"], r["tail_id"], r["label"]))
        else:
            keys.add((tuple(r["head"]), tuple(r["tail"]), r["label"]))
    return keys


def prf(tp: int, n_pred: int, n_gold: int) -> Dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return {"p": p, "r": r, "f": 2 * p * r / (p + r) if p + r else 0.0, "tp": tp, "pred": n_pred, "gold": n_gold}


def score_relations(examples: Iterable[Example], spans_key: str = RELATIONS_KEY, **kwargs) -> Dict[str, Any]:
    """Micro P/R/F of relations over examples (a relation is right when its key matches the reference's)."""
    tp = n_pred = n_gold = 0
    for eg in examples:
        pred, gold = relation_keys(eg.predicted, spans_key), relation_keys(eg.reference, spans_key)
        tp += len(pred & gold)
        n_pred += len(pred)
        n_gold += len(gold)
    s = prf(tp, n_pred, n_gold)
    return {"rel_p": s["p"], "rel_r": s["r"], "rel_f": s["f"]}


@util.registry.scorers("medner.relations_scorer.v1")
def make_relations_scorer() -> Callable[..., Dict[str, Any]]:
    return score_relations

"""``medner_linker``: link entity mentions to MeSH/MEDIC concept ids, offline, in milliseconds.

For every span in ``doc.ents`` (or ``doc.spans[spans_key]``) it sets
``span.kb_id_`` to the best concept's id (empty for NIL) and
``span._.kb_candidates`` to the ranked ``(id, name, score)`` candidates. Steps,
each switchable for ablations:

1. exact match of the normalised mention against every KB name (score 1.0;
   concepts sharing a name are ordered by how often training mentions used it);
2. otherwise char 3-gram TF-IDF nearest neighbours over all names;
3. label-aware: a CHEMICAL mention searches only chemical names, a DISEASE
   mention only disease names (``label_types``);
4. abbreviations: a mention that is a short form found by
   ``medner_abbreviations`` (``doc._.abbreviations``, each span with
   ``span._.long_form``) is linked through its long form;
5. composite mentions ("breast and ovarian cancer") that match no name whole
   are split and linked part by part; the ids are ``|``-joined;
6. neoplasm synonyms: a mention without an exact name is also searched with
   "carcinoma"/"tumour"/"cancer" swapped for the word MeSH uses ("prostate
   carcinoma" -> "Prostatic Neoplasms"); the variant wins by a margin only;
7. salt and ester forms (``salt_forms``, off: no gain on BC5CDR dev, the drug
   dictionary lists the salts already): "metformin hydrochloride", "sodium
   valproate" are also searched without the salt words, a variant like step 6;
8. name variants for unseen mentions (issue 20), generators of
   ``medner.linking.kb.names`` composed after step 6 (each applied to the forms
   before it) and looked up exactly (normalised; TF-IDF too with ``fuzzy_variants``,
   off: fewer right on dev, and slower): ``organ_forms`` ("renal failure"
   -> "kidney failure", "liver disease" -> "hepatic disease"), ``disease_heads``
   ("disorder" <-> "disease", "damage" <-> "injury", vague heads -> "disease":
   "renal lesions" -> "renal disease"), ``number_forms`` (the head's other number
   where ``normalise`` keeps it: "kidney disease" -> "kidney diseases",
   "cardiomyopathies" -> "cardiomyopathy") and, for the labels in
   ``modifier_labels`` (DISEASE), the mention without its leading modifiers down
   to two words ("congenital heart disease" -> "heart disease"). ``word_order``
   (off: no dev mention changes; char 3-gram TF-IDF already scores a permutation
   1.0 and MEDIC lists the inverted names) also looks the whole and every variant
   up by their set of words, "of the in with a an" aside ("cancer of the
   prostate" = "Prostate Cancer"). A variant (steps 6-8) wins only when the whole
   has no exact name, scores ``VARIANT_MARGIN`` more than the whole and at least
   ``variant_min_score`` (0.8).

9. the learned re-ranker (``rerank``, off: no gain on dev, docs/linking.md): a
   logistic regression over features of (mention, candidate)
   (``medner.linking.reranker``) re-orders the TF-IDF candidates of a mention
   that has no exact name and took none of the steps above ("fuzzy"), for the
   labels in ``rerank_labels``; weights from ``initialize(reranker_path=...)``,
   saved with the pipeline (``reranker.json``).

A mention whose best score is below ``threshold`` (or its label's entry in
``label_thresholds``) is NIL: no id, its candidates kept, counted in ``stats``. The KB lives inside the pipeline
directory (``to_disk``), so ``spacy.load`` needs no download.
"""
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Literal, Optional, Sequence, Tuple

from spacy import util
from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example

from .. import register_extension
from .kb import Candidate, KnowledgeBase, split_composite
from .reranker import Reranker, RerankerFileError
from .kb.names import head_variants, modifier_variants, normalise, number_variants, organ_variants, salt_variants, synonym_variants

ExactMode = Literal["lower", "normalised"]  # how a mention matches a name exactly: lower-cased, or medner.linking.kb.names.normalise

register_extension(Span, "kb_candidates", default=None)
# Every identifier of the linked concept (MeSH first, then DrugBank for a drug of the drug dictionary).
register_extension(Span, "concept_ids", default=None)


def _drugbank_id(span: Span) -> str:
    return next((i for i in span._.concept_ids or () if i.startswith("DB")), "")


register_extension(Span, "drugbank_id", getter=_drugbank_id)

DEFAULT_LABEL_TYPES = {"CHEMICAL": ["CHEMICAL"], "MEDICATION": ["CHEMICAL"], "DISEASE": ["DISEASE"]}
STATS = ("mentions", "linked", "nil", "exact", "fuzzy", "composite", "abbreviation", "variant", "too_long", "empty",
         "unlisted_label", "reranked")


@dataclass
class LinkerOptions:
    """Every setting of the linker (the factory's config), validated once; ``ConceptLinker.cfg`` is its dict.

    spans_key: span group to link (None: ``doc.ents``); threshold: minimum score for an id (else
    NIL); label_thresholds: a label's own threshold instead of ``threshold`` (chosen on dev per
    label); label_types: entity label -> KB name types it may match (labels not listed search every
    name, an empty mapping disables label-aware search); link_unlisted_labels: False links only the
    labels in label_types (a clinical LAB_VALUE has no concept in a disease/chemical KB); exact_mode:
    "lower" or "normalised"; fuzzy, composites, abbreviations: steps 2, 5, 4; variants, salt_forms,
    organ_forms, disease_heads, number_forms: which name variants are searched (steps 6-8);
    word_order: also look names up by their set of words; modifier_labels: labels whose mentions are
    also looked up without their leading modifiers; fuzzy_variants: search the step-8 variants by
    TF-IDF too (else exact names only); variant_min_score: the lowest score with which a variant may
    win over the whole mention; max_chars: longer mentions are NIL (``too_long``); fill_candidates:
    also search TF-IDF for a mention with an exact name, to fill ``kb_candidates`` up to n_candidates
    with look-alike concepts (off: an exact hit keeps the concepts of its exact name; the same ids,
    about 3x less linking time on BC5CDR test); rerank: re-order the
    TF-IDF candidates of a mention without an exact name (choose's "fuzzy" case) with the learned
    re-ranker (``medner.linking.reranker``; weights from ``initialize(reranker_path=...)``) for the
    labels in rerank_labels.
    """
    spans_key: Optional[str] = None
    n_candidates: int = 5
    threshold: float = 0.8
    label_thresholds: Dict[str, float] = field(default_factory=dict)
    label_types: Optional[Dict[str, List[str]]] = None
    link_unlisted_labels: bool = True
    exact_mode: ExactMode = "normalised"
    fuzzy: bool = True
    composites: bool = True
    abbreviations: bool = True
    variants: bool = True
    salt_forms: bool = False
    word_order: bool = False
    organ_forms: bool = True
    disease_heads: bool = True
    number_forms: bool = True
    modifier_labels: List[str] = field(default_factory=lambda: ["DISEASE"])
    fuzzy_variants: bool = False
    variant_min_score: float = 0.8
    max_chars: int = 256
    fill_candidates: bool = False
    rerank: bool = False
    rerank_labels: List[str] = field(default_factory=lambda: ["CHEMICAL", "MEDICATION", "DISEASE"])

    def __post_init__(self) -> None:
        self.label_types = dict(DEFAULT_LABEL_TYPES if self.label_types is None else self.label_types)
        self.label_thresholds = {str(k): float(v) for k, v in (self.label_thresholds or {}).items()}
        self.modifier_labels = list(self.modifier_labels)
        self.rerank_labels = list(self.rerank_labels)
        self.link_unlisted_labels = bool(self.link_unlisted_labels)
        if self.exact_mode not in ("lower", "normalised"):
            raise ValueError(f"exact_mode must be 'lower' or 'normalised', got {self.exact_mode!r}")
        if self.n_candidates < 1:
            raise ValueError(f"n_candidates must be at least 1, got {self.n_candidates}")
        for what, value in [("variant_min_score", self.variant_min_score), ("threshold", self.threshold),
                            *((f"label_thresholds[{k!r}]", v) for k, v in self.label_thresholds.items())]:
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{what} must be between 0 and 1, got {value}")

    def threshold_for(self, label: str) -> float:
        return self.label_thresholds.get(label, self.threshold)


_DEFAULTS = asdict(LinkerOptions())


@Language.factory(
    "medner_linker",
    default_config={**_DEFAULTS, "scorer": {"@scorers": "medner.linker_scorer.v1"}},
    assigns=["token.ent_kb_id", "span._.kb_candidates", "span._.concept_ids"],
    default_score_weights={"kb_acc": 1.0},
)
def make_linker(
    nlp: Language,
    name: str,
    spans_key: Optional[str],
    n_candidates: int,
    threshold: float,
    label_thresholds: Dict[str, float],
    label_types: Dict[str, List[str]],
    link_unlisted_labels: bool,
    exact_mode: ExactMode,
    fuzzy: bool,
    composites: bool,
    abbreviations: bool,
    variants: bool,
    salt_forms: bool,
    word_order: bool,
    organ_forms: bool,
    disease_heads: bool,
    number_forms: bool,
    modifier_labels: List[str],
    fuzzy_variants: bool,
    variant_min_score: float,
    max_chars: int,
    fill_candidates: bool,
    rerank: bool,
    rerank_labels: List[str],
    scorer: Optional[Callable],
) -> "ConceptLinker":
    """The settings are :class:`LinkerOptions`' fields (documented there)."""
    options = {key: value for key, value in locals().items() if key in _DEFAULTS}
    try:
        return ConceptLinker(name, scorer=scorer, **options)
    except ValueError as err:
        raise ValueError(f"[{name}] {err}") from None


class ConceptLinker:
    """Holds the KB; all decisions are in :func:`choose`, search in :class:`KnowledgeBase`."""

    def __init__(self, name: str = "medner_linker", *, scorer: Optional[Callable] = None,
                 kb: Optional[KnowledgeBase] = None, reranker: Optional[Reranker] = None, **options: Any):
        """``options``: :class:`LinkerOptions` fields (unknown names raise a TypeError naming them);
        ``reranker``: the learned re-ranker's weights (used when ``rerank`` is on)."""
        self.name = name
        self.options = LinkerOptions(**options)
        self.cfg = asdict(self.options)
        self.scorer = scorer
        self.kb: Optional[KnowledgeBase] = None
        self.reranker: Optional[Reranker] = reranker
        self.stats: Counter = Counter({k: 0 for k in STATS})
        self._cache: Dict[Tuple[str, Optional[Tuple[int, ...]]], List[Candidate]] = {}
        self._exact_cache: Dict[Tuple[str, str, Optional[Tuple[int, ...]]], List[Candidate]] = {}
        if kb is not None:
            self.set_kb(kb)

    # ------------------------------------------------------------ setup
    def set_kb(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._cache = {}
        self._exact_cache = {}
        self._type_ids = {label: kb.type_ids(types) for label, types in self.cfg["label_types"].items()}

    def initialize(self, get_examples: Optional[Callable[[], Iterable[Example]]] = None, *,
                   nlp: Optional[Language] = None, kb_path: Optional[str] = None,
                   reranker_path: Optional[str] = None) -> None:
        """Load the KB built by ``scripts/build_kb.py`` from ``kb_path`` and the re-ranker weights written by
        ``scripts/train_reranker.py`` from ``reranker_path`` (``[initialize.components]``)."""
        if kb_path is not None:
            self.set_kb(KnowledgeBase.from_disk(kb_path))
        if reranker_path is not None:
            self._load_reranker(Reranker.from_disk, reranker_path)
        if self.kb is None:
            raise ValueError(f"[{self.name}] no knowledge base: pass kb_path to initialize (scripts/build_kb.py builds one)")
        self._check_reranker()

    def _check_reranker(self) -> None:
        if self.cfg["rerank"] and self.reranker is None:
            raise ValueError(f"[{self.name}] rerank is on but no re-ranker weights are loaded: pass reranker_path to "
                             "initialize (scripts/train_reranker.py writes them) or set rerank = false")

    # ------------------------------------------------------------ run
    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterable[Doc]:
        for batch in util.minibatch(docs, size=batch_size):
            self.link_docs(batch)
            yield from batch

    def link_docs(self, docs: Sequence[Doc]) -> None:
        """Link every span of every doc; the searches of the whole batch run together."""
        if self.kb is None:
            raise ValueError(f"[{self.name}] no knowledge base loaded: run initialize(kb_path=...) or load a pipeline saved with one")
        self._check_reranker()
        plans = [[self._plan(doc, span, long_forms) for span in self._spans(doc)]
                 for doc in docs for long_forms in [_long_forms(doc) if self.cfg["abbreviations"] else {}]]
        self._resolve({q for doc_plans in plans for plan in doc_plans for q in plan["queries"]})
        for doc, doc_plans in zip(docs, plans):
            results = [self._decide(plan) for plan in doc_plans]
            self._write(doc, results)

    def _spans(self, doc: Doc) -> List[Span]:
        key = self.cfg["spans_key"]
        if key is None:
            return list(doc.ents)
        return list(doc.spans[key]) if key in doc.spans else []

    def _plan(self, doc: Doc, span: Span, long_forms: Dict[str, str]) -> dict:
        """The texts a span will be searched as (whole, long form, composite parts) and its label's types."""
        text = span.text.strip()
        type_ids = self._type_ids.get(span.label_) if self.cfg["label_types"] else None
        plan = {"span": span, "text": text, "types": type_ids, "whole": None, "long": None, "parts": [],
                "variants": [], "fuzzy_variants": [], "queries": set()}
        if not self.cfg["link_unlisted_labels"] and span.label_ not in self.cfg["label_types"]:
            plan["skip"] = "unlisted_label"
            return plan
        if not text:
            plan["skip"] = "empty"
            return plan
        if len(text) > self.cfg["max_chars"]:
            plan["skip"] = "too_long"
            return plan
        plan["whole"] = (text, type_ids)
        plan["queries"].add(plan["whole"])
        long_form = long_forms.get(text)
        if long_form and len(long_form) <= self.cfg["max_chars"]:
            plan["long"] = (long_form, type_ids)
            plan["queries"].add(plan["long"])
        # variants count only for a mention without an exact name (``choose``): none are made for one that has it
        forms = [] if self._exact(plan["whole"], self.cfg["exact_mode"]) else self._variant_texts(text, span.label_)
        plan["variants"] = [(v, type_ids) for v, _ in forms]
        plan["fuzzy_variants"] = [fuzzy for _, fuzzy in forms]
        plan["queries"].update(q for q, fuzzy in zip(plan["variants"], plan["fuzzy_variants"]) if fuzzy)
        if self.cfg["composites"]:
            parts = split_composite(text)
            if len(parts) > 1:
                plan["parts"] = [(p, type_ids) for p in parts]
                plan["queries"].update(plan["parts"])
        return plan

    def _variant_texts(self, text: str, label: str = "") -> List[Tuple[str, bool]]:
        """(variant, searched by TF-IDF too) for every variant of ``text`` the switched-on generators
        give, each generator applied to the forms before it; the issue-20 generators' forms are
        looked up exactly unless ``fuzzy_variants``."""
        fuzzy = self.cfg["fuzzy_variants"]
        generators = [(self.cfg["variants"], synonym_variants, True), (self.cfg["salt_forms"], salt_variants, True),
                      (self.cfg["organ_forms"], organ_variants, fuzzy), (self.cfg["disease_heads"], head_variants, fuzzy),
                      (self.cfg["number_forms"], number_variants, fuzzy),
                      (label in self.cfg["modifier_labels"], modifier_variants, fuzzy)]
        forms: Dict[str, bool] = {text: True}
        for on, generator, searched in generators:
            if on:
                for form in list(forms):
                    for variant in generator(form):
                        forms.setdefault(variant, searched)
        return list(forms.items())[1:MAX_VARIANTS + 1]

    def _exact(self, query: Tuple[str, Optional[Tuple[int, ...]]], mode: str) -> List[Candidate]:
        """Concepts with a name equal to the query's text in ``mode`` ("normalised", or "words" for
        ``word_order``: the same words in any order), score 1.0; cached."""
        key = (mode, query[0], query[1])
        if key not in self._exact_cache:
            if len(self._exact_cache) > 200_000:
                self._exact_cache = {}
            self._exact_cache[key] = self.kb.exact(query[0], query[1], mode=mode)[:self.cfg["n_candidates"]]
        return self._exact_cache[key]

    def _resolve(self, queries: Iterable[Tuple[str, Optional[Tuple[int, ...]]]]) -> None:
        """Fill the cache: exact hits first, then one batched TF-IDF search per type set."""
        kb, k = self.kb, self.cfg["n_candidates"]
        pending: Dict[Optional[Tuple[int, ...]], List[str]] = {}
        for text, type_ids in queries:
            if (text, type_ids) in self._cache:
                continue
            exact = self._exact((text, type_ids), self.cfg["exact_mode"])  # cached: _plan looked most up already
            if exact and not (self.cfg["fuzzy"] and self.cfg["fill_candidates"]):
                self._cache[(text, type_ids)] = exact[:k]
            elif self.cfg["fuzzy"]:
                self._cache[(text, type_ids)] = exact[:k]
                pending.setdefault(type_ids, []).append(text)
            else:
                self._cache[(text, type_ids)] = []
        for type_ids, texts in pending.items():
            for text, found in zip(texts, kb.search(texts, k=k, type_ids=type_ids)):
                exact = self._cache[(text, type_ids)]
                seen = {c.id for c in exact}
                self._cache[(text, type_ids)] = (exact + [c for c in found if c.id not in seen])[:k]
        if len(self._cache) > 200_000:  # bounded memory on endless streams
            self._cache = {}
            self._resolve(queries)

    def _decide(self, plan: dict) -> Tuple[str, List[Tuple[str, str, float]]]:
        self.stats["mentions"] += 1
        if plan.get("skip"):
            self.stats[plan["skip"]] += 1
            self.stats["nil"] += 1
            return "", []
        kb_id, candidates, how = self._choose(plan)
        if (how == "fuzzy" and self.cfg["rerank"] and len(candidates) > 1
                and plan["span"].label_ in self.cfg["rerank_labels"]):
            # the learned re-ranker re-orders the TF-IDF candidates; a mention NIL by its threshold stays NIL
            candidates = self.reranker.rerank(self.kb, plan["text"], candidates)
            if kb_id and candidates[0].id != kb_id:
                kb_id = candidates[0].id
                self.stats["reranked"] += 1
        self.stats[how] += 1
        self.stats["linked" if kb_id else "nil"] += 1
        return kb_id, [c.as_tuple() for c in candidates]

    def _choose(self, plan: dict) -> Tuple[str, List[Candidate], str]:
        """``choose`` over a planned span's searched forms (after ``_resolve``): (kb_id, candidates, how)."""
        lookup = lambda q: self._cache.get(q, [])  # noqa: E731
        variants = [lookup(v) if fuzzy else self._exact(v, "normalised")
                    for v, fuzzy in zip(plan["variants"], plan["fuzzy_variants"])]
        if self.cfg["word_order"]:  # the whole's words in another order first, then each variant's
            variants = [self._exact(q, "words") for q in [plan["whole"]] + plan["variants"]] + variants
        return choose(
            lookup(plan["whole"]), lookup(plan["long"]) if plan["long"] else None,
            [lookup(p) for p in plan["parts"]], self.options.threshold_for(plan["span"].label_), variants,
            self.cfg["variant_min_score"])

    def _write(self, doc: Doc, results: List[Tuple[str, list]]) -> None:
        spans = self._spans(doc)
        new_spans = [Span(doc, s.start, s.end, label=s.label, kb_id=kb_id, span_id=s.id)
                     for s, (kb_id, _) in zip(spans, results)]
        key = self.cfg["spans_key"]
        if key is None:
            doc.set_ents(new_spans, default="unmodified")
        else:
            old = doc.spans[key]
            doc.spans[key] = SpanGroup(doc, name=key, attrs=dict(old.attrs), spans=new_spans)
        # span extensions are keyed by offsets, label and kb_id: set them on the final spans
        for span, (kb_id, candidates) in zip(new_spans, results):
            span._.kb_candidates = candidates
            span._.concept_ids = self._concept_ids(kb_id, candidates) if kb_id else []

    def _concept_ids(self, kb_id: str, candidates: List[Tuple[str, str, float]]) -> List[str]:
        """The linked concept's ids, plus the DrugBank ID of another concept with the very same name when it has none.

        BC5CDR's training mention "atorvastatin" keeps its 2015 id C065179 (and wins the exact tie by
        its prior), while MeSH's Atorvastatin D000069059 is the concept the drug dictionary joined.
        """
        ids = self.kb.ids_of(kb_id)
        if "|" in kb_id or not candidates or candidates[0][2] < 1.0 or any(i.startswith("DB") for i in ids):
            return ids
        same_name = [i for c in candidates if c[2] >= 1.0 and c[0] != kb_id for i in self.kb.ids_of(c[0]) if i.startswith("DB")]
        return ids + same_name[:1]

    # ------------------------------------------------------------ serialization
    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        if self.kb is None:
            raise ValueError(f"[{self.name}] cannot save a linker without a knowledge base")
        serializers = {"cfg": lambda: _json(self.cfg), "kb": self.kb.to_bytes}
        if self.reranker is not None:
            serializers["reranker"] = self.reranker.to_bytes
        return util.to_bytes(serializers, exclude)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "ConceptLinker":
        """Load the KB (and re-ranker weights) packed by ``to_bytes``; runtime options come from the pipeline config (as ``from_disk``)."""
        util.from_bytes(bytes_data, {"cfg": lambda b: None, "kb": lambda b: self.set_kb(KnowledgeBase.from_bytes(b)),
                                     "reranker": lambda b: self._load_reranker(Reranker.from_bytes, b)}, exclude)
        return self

    def _load_reranker(self, load: Callable[[Any], Reranker], source: Any) -> None:
        """Set the re-ranker from ``load(source)``; a bad file or bytes names this component too."""
        try:
            self.reranker = load(source)
        except RerankerFileError as err:
            raise RerankerFileError(f"[{self.name}] {err}") from None

    def _load_reranker_file(self, path: Path) -> None:
        if path.exists():  # pipelines saved before the re-ranker (or without weights) have none
            self._load_reranker(Reranker.from_disk, path)

    def to_disk(self, path, *, exclude: Iterable[str] = tuple()) -> None:
        if self.kb is None:
            raise ValueError(f"[{self.name}] cannot save a linker without a knowledge base")
        serializers = {"cfg": lambda p: p.write_text(_json(self.cfg), encoding="utf8"),
                       "kb": lambda p: self.kb.to_disk(p)}
        if self.reranker is not None:
            serializers["reranker.json"] = lambda p: self.reranker.to_disk(p)
        util.to_disk(path, serializers, exclude)

    def from_disk(self, path, *, exclude: Iterable[str] = tuple()) -> "ConceptLinker":
        """Load the KB (and ``reranker.json``, when saved) beside the pipeline; runtime options come from the pipeline config."""
        util.from_disk(path, {"kb": lambda p: self.set_kb(KnowledgeBase.from_disk(p)),
                              "reranker.json": self._load_reranker_file}, exclude)
        return self

    def score(self, examples: Iterable[Example], **kwargs) -> Dict[str, Any]:
        return (self.scorer or score_kb_ids)(examples)


VARIANT_MARGIN = 0.05
MAX_VARIANTS = 24  # generated forms searched per mention (composed generators multiply)


def choose(whole: List[Candidate], long: Optional[List[Candidate]], parts: List[List[Candidate]],
           threshold: float, variants: Sequence[List[Candidate]] = (), variant_min_score: float = 0.8,
           ) -> Tuple[str, List[Candidate], str]:
    """Pick (kb_id, ranked candidates, how) for one mention from its searched forms.

    The long form of an abbreviation wins when it scores at least as well as the
    short form; a name variant wins when the whole has no exact name and the
    variant scores at least ``variant_min_score`` and ``VARIANT_MARGIN`` more than
    the best form so far (the first of equal variants wins; the whole's candidates follow its own);
    composite parts win when the whole
    has no exact name and every part scores above both the threshold and the whole.
    """
    best = whole
    how = "exact" if whole and whole[0].score >= 1.0 else "fuzzy"
    if how == "fuzzy":
        for variant in variants:
            if (variant and variant[0].score >= variant_min_score
                    and variant[0].score > (best[0].score if best else 0.0) + VARIANT_MARGIN):
                best, how = variant, "variant"
        if how == "variant":  # an exact variant has few candidates: the whole's others follow, as many as before
            ids = {c.id for c in best}
            best = (best + [c for c in whole if c.id not in ids])[:max(len(whole), len(best))]
    if long and (not whole or long[0].score >= whole[0].score):
        best, how = long, "abbreviation"
    top = best[0].score if best else 0.0
    if parts and top < 1.0 and all(p for p in parts):
        part_tops = [p[0] for p in parts]
        if min(c.score for c in part_tops) >= max(threshold, top):
            ids = list(dict.fromkeys(c.id for c in part_tops))
            merged = sorted({c.id: c for p in parts for c in p}.values(), key=lambda c: -c.score)
            return "|".join(ids), merged, "composite"
    if not best or top < threshold:
        return "", best, how
    return best[0].id, best, how


def _long_forms(doc: Doc) -> Dict[str, str]:
    """Short-form text -> long-form text, from ``medner_abbreviations`` (empty if it did not run).

    Keyed by text, not offsets: an entity "ALT" is linked through "alanine
    aminotransferase" wherever the document defined it.
    """
    if not Doc.has_extension("abbreviations") or not Span.has_extension("long_form"):
        return {}
    try:  # medner's detector keeps the pairs in span groups: read them in one pass
        from ..abbreviations.component import abbreviation_pairs
        pairs = abbreviation_pairs(doc)
    except ImportError:  # another detector with the same interface
        pairs = [(short, short._.long_form) for short in doc._.abbreviations or ()]
    found: Dict[str, str] = {}
    for short, long_span in pairs:
        if long_span is not None:
            found.setdefault(short.text, long_span.text if isinstance(long_span, Span) else str(long_span))
    return found


def _json(data: dict) -> str:
    import json
    return json.dumps(data, indent=2)


def score_kb_ids(examples: Iterable[Example]) -> Dict[str, Any]:
    """``kb_acc``: share of gold entities with an id whose predicted span (same offsets) has that id."""
    total = correct = 0
    for eg in examples:
        predicted = {(s.start_char, s.end_char): s.kb_id_ for s in eg.predicted.ents}
        for gold in eg.reference.ents:
            if not gold.kb_id_:
                continue
            total += 1
            correct += predicted.get((gold.start_char, gold.end_char)) == gold.kb_id_
    return {"kb_acc": correct / total if total else None}


@util.registry.scorers("medner.linker_scorer.v1")
def make_linker_scorer() -> Callable[..., Dict[str, Any]]:
    return score_kb_ids


def add_linker(nlp: Language, kb: KnowledgeBase, *, abbreviations: bool = True,
               config: Optional[Dict[str, Any]] = None, name: str = "medner_linker") -> ConceptLinker:
    """Append ``medner_abbreviations`` (unless a detector is present, or disabled) and ``medner_linker`` with ``kb``.

    The linker goes last, so it links what ``ner`` (or a merge component) left
    in ``doc.ents``. Saving ``nlp`` afterwards writes the KB inside the pipeline.
    """
    from ..abbreviations import component as _abbreviations  # noqa: F401  (registers the factory)

    if name in nlp.pipe_names:
        raise ValueError(f"the pipeline already has a component named {name!r}")
    config = dict(config or {})
    config.setdefault("abbreviations", abbreviations)
    detectors = ("medner_abbreviations", "medner_abbreviation_propagation")  # the latter detects too
    if abbreviations and not any(nlp.get_pipe_meta(p).factory in detectors for p in nlp.pipe_names):
        nlp.add_pipe("medner_abbreviations")
    linker = nlp.add_pipe("medner_linker", name=name, config=config)
    linker.set_kb(kb)
    return linker

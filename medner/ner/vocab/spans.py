"""``medner_vocab_spans``: one dictionary source's matches as labelled spans (drug names -> MEDICATION).

``medner_vocab_features`` marks dictionary matches as *features* of the NER;
this component turns the matches of one source into *candidate entities* in a
span group, which ``medner_merge_entities`` merges with the NER's entities
(the NER's span wins an overlap, or the dictionary's: chosen on dev). A word
list alone finds drugs that a model trained on 160 case reports never saw
("Gabapentin"), and the model keeps its context ("held", "started" are not
drugs); together neither loses to the other.

Names that match often in the training data but are rarely the label there
("lead", "iron" in a lab value, "ACE") are learned at ``initialize`` and left
out: a name with at least ``min_count`` matches in the gold training docs and
a precision below ``min_precision`` is excluded. The exclusions are saved with
the pipeline. The component reads ``doc._.vocab_tags``: a
``medner_vocab_features`` with the same source must run before it.
"""
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Literal, Optional, Tuple

import srsly
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example
from spacy.util import SimpleFrozenList, from_bytes, from_disk, to_bytes, to_disk
from spacy.vocab import Vocab

from ...evaluation.spans import score_spans_or_ents
from .component import SOURCES_KEY, TAGS_ATTR, VocabFeatureTagger
from .tags import SOURCES, source_spans

__all__ = ["VocabSpans", "make_vocab_spans", "name_precision"]


@Language.factory(
    "medner_vocab_spans",
    default_config={
        "source": "DRUG",
        "label": "MEDICATION",
        "spans_key": "vocab_drug",
        "min_count": 3,
        "min_precision": 0.5,
        "scorer": {"@scorers": "medner.spans_or_ents_scorer.v1"},
    },
    assigns=["doc.spans"],
    requires=[f"doc._.{TAGS_ATTR}"],
    default_score_weights={"spans_vocab_drug_f": None},
)
def make_vocab_spans(
    nlp: Language,
    name: str,
    source: Literal["MEDIC", "MESH", "DRUG"],
    label: str,
    spans_key: str,
    min_count: int,
    min_precision: float,
    scorer: Optional[Callable],
) -> "VocabSpans":
    """source: the dictionary whose matches become spans; label: their entity label;
    spans_key: the span group they go to; min_count / min_precision: which names
    ``initialize`` leaves out (see the module doc)."""
    return VocabSpans(nlp.vocab, name, source=source, label=label, spans_key=spans_key,
                      min_count=min_count, min_precision=min_precision, scorer=scorer)


def name_precision(examples: Iterable[Example], matcher: Callable[[Doc], List[Tuple[int, int]]],
                   label: str) -> Dict[str, Tuple[int, int]]:
    """Per lower-cased matched text: (matches, matches overlapping a gold ``label`` entity) in the gold docs.

    Matches on tokens whose gold annotation is missing are not counted: a partial
    corpus says nothing about them.
    """
    counts: Dict[str, List[int]] = {}
    for eg in examples:
        gold = eg.reference
        labelled = {i for ent in gold.ents if ent.label_ == label for i in range(ent.start, ent.end)}
        for start, end in matcher(gold):
            if any(gold[i].ent_iob == 0 for i in range(start, end)):
                continue
            entry = counts.setdefault(gold[start:end].text.lower(), [0, 0])
            entry[0] += 1
            entry[1] += any(i in labelled for i in range(start, end))
    return {name: (n, hits) for name, (n, hits) in counts.items()}


class VocabSpans(Pipe):
    """Spans of one dictionary source's matches, minus the names learned to be unreliable."""

    def __init__(self, vocab: Vocab, name: str = "medner_vocab_spans", *, source: str = "DRUG",
                 label: str = "MEDICATION", spans_key: str = "vocab_drug", min_count: int = 3,
                 min_precision: float = 0.5, scorer: Optional[Callable] = score_spans_or_ents) -> None:
        if not 0.0 <= min_precision <= 1.0 or min_count < 1:
            raise ValueError(f"{name}: min_precision must be in [0, 1] and min_count >= 1, "
                             f"got {min_precision} and {min_count}")
        self.vocab = vocab
        self.name = name
        self.scorer = scorer
        self.cfg = {"source": source, "label": label, "spans_key": spans_key,
                    "min_count": int(min_count), "min_precision": float(min_precision)}
        self.excluded: List[str] = []
        self.name_counts: Dict[str, Tuple[int, int]] = {}

    def score(self, examples: Iterable[Example], **kwargs) -> Dict:
        return self.scorer(examples, spans_key=self.cfg["spans_key"], **kwargs)

    def matches(self, doc: Doc) -> List[Tuple[int, int]]:
        """Token spans of the source's matches in ``doc`` (from ``doc._.vocab_tags``)."""
        tags = doc._.get(TAGS_ATTR)
        if tags is None:
            raise ValueError(f"{self.name}: doc._.{TAGS_ATTR} is not set: add a medner_vocab_features "
                             f"component with source {self.cfg['source']} before it")
        sources = tuple(doc.user_data.get(SOURCES_KEY, SOURCES))
        if self.cfg["source"] not in sources:
            raise ValueError(f"{self.name}: the vocab features have sources {list(sources)}, "
                             f"not {self.cfg['source']}")
        return source_spans(tags, sources.index(self.cfg["source"]))

    def __call__(self, doc: Doc) -> Doc:
        excluded = set(self.excluded)
        spans = [Span(doc, start, end, label=self.cfg["label"]) for start, end in self.matches(doc)]
        doc.spans[self.cfg["spans_key"]] = [span for span in spans if span.text.lower() not in excluded]
        return doc

    def initialize(self, get_examples: Optional[Callable[[], Iterable[Example]]] = None, *,
                   nlp: Optional[Language] = None, train_path: Optional[str] = None) -> None:
        """Learn which names to leave out from the gold training docs: ``get_examples`` (``spacy train``)
        or, when given, the ``.spacy`` file ``train_path`` (``[initialize.components.<name>]``: ``spacy
        assemble`` passes no real examples)."""
        if train_path is not None:
            if not Path(train_path).is_file():
                raise ValueError(f"{self.name}: train_path not found: {train_path}")
            gold = list(DocBin().from_disk(train_path).get_docs(self.vocab))
            get_examples = lambda: [Example(doc, doc) for doc in gold]  # noqa: E731  (only the gold side is read)
        elif get_examples is None:
            raise ValueError(f"{self.name}: initialize needs training examples or train_path (a .spacy file)")
        # nlp.components: `spacy assemble` initializes with the sourced components disabled
        tagger = next((pipe for _, pipe in (nlp.components if nlp else []) if isinstance(pipe, VocabFeatureTagger)), None)
        if tagger is None:
            raise ValueError(f"{self.name}: the pipeline needs a medner_vocab_features component before it")
        if not tagger.indexes:
            raise ValueError(f"{self.name}: initialize medner_vocab_features first (it must come earlier in the pipeline)")

        def matcher(gold: Doc) -> List[Tuple[int, int]]:
            tagged = tagger(Doc(gold.vocab, words=[t.text for t in gold], spaces=[bool(t.whitespace_) for t in gold]))
            return self.matches(tagged)

        self.name_counts = name_precision(get_examples(), matcher, self.cfg["label"])
        self.excluded = sorted(
            name for name, (n, hits) in self.name_counts.items()
            if n >= self.cfg["min_count"] and hits / n < self.cfg["min_precision"]
        )

    # Serialization: the learned exclusions (the dictionary lives in medner_vocab_features).
    def _state(self) -> dict:
        return {"cfg": self.cfg, "excluded": self.excluded}

    def _set_state(self, state: dict) -> None:
        self.cfg.update(state["cfg"])
        self.excluded = list(state["excluded"])

    def to_disk(self, path, *, exclude: Iterable[str] = SimpleFrozenList()) -> None:
        to_disk(path, {"state": lambda p: srsly.write_json(p.with_suffix(".json"), self._state())}, exclude)

    def from_disk(self, path, *, exclude: Iterable[str] = SimpleFrozenList()) -> "VocabSpans":
        def read(p):
            file_path = p.with_suffix(".json")
            if not file_path.exists():
                raise ValueError(f"{self.name}: state file missing: {file_path}")
            self._set_state(srsly.read_json(file_path))

        from_disk(path, {"state": read}, exclude)
        return self

    def to_bytes(self, *, exclude: Iterable[str] = SimpleFrozenList()) -> bytes:
        return to_bytes({"state": lambda: srsly.json_dumps(self._state()).encode("utf8")}, exclude)

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = SimpleFrozenList()) -> "VocabSpans":
        from_bytes(data, {"state": lambda b: self._set_state(srsly.json_loads(b.decode("utf8")))}, exclude)
        return self

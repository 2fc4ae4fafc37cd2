"""The clinical table: every clinical system on the same test sets, with the dictionaries beside the models.

Systems are things that put entities in the clinical schema on a doc:
a spaCy pipeline (a directory or installed package; 0.2.0's MACCROBAT labels
are mapped into the schema), the ``drug-named-entity-recognition`` library
alone (MEDICATION) and a MEDIC name lookup alone (DISEASE). Test sets:

* MACCROBAT test in the clinical schema: exact-match P/R/F per label and over all;
* PHEE test: MEDICATION against PHEE's ``Drug`` arguments, strict and overlap,
  where a prediction on tokens whose gold is missing (PHEE's other arguments)
  counts neither way, as in spaCy's own NER scorer.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from ..corpus.schema import CLINICAL_LABELS
from ..ner.vocab.component import TAGS_ATTR, VocabFeatureTagger
from ..ner.vocab.tags import source_spans
from .clinical_notes import score_notes, to_clinical
from .entities import score_entities

Annotator = Callable[[List[str]], List[Doc]]

def pipeline_annotator(nlp: Language, batch_size: int = 64) -> Annotator:
    """The pipeline's entities in the clinical schema (``clinical_notes.to_clinical``: labels mapped, others dropped)."""
    return lambda texts: [to_clinical(doc)[0] for doc in nlp.pipe(texts, batch_size=batch_size)]


def drug_library_annotator(make_doc: Callable[[str], Doc], label: str = "MEDICATION") -> Annotator:
    """drug-named-entity-recognition's ``find_drugs`` on the doc's tokens: every match a ``label`` entity."""
    from drug_named_entity_recognition import find_drugs

    def annotate(texts: List[str]) -> List[Doc]:
        docs = []
        for text in texts:
            doc = make_doc(text)
            found = [Span(doc, start, end, label=label) for _, start, end in find_drugs([t.text for t in doc])]
            doc.set_ents(filter_spans(found), default="outside")
            docs.append(doc)
        return docs
    return annotate


def medic_lookup_annotator(nlp: Language, medic_path: Path) -> Annotator:
    """Longest MEDIC name matches as DISEASE: ``medner_vocab_features``' own dictionary and matching (names
    and synonyms case-insensitive, abbreviations with their case), with MEDIC as its only source."""
    tagger = VocabFeatureTagger(nlp.vocab, sources=("MEDIC",))
    tagger.initialize(nlp=nlp, medic_path=medic_path)

    def annotate(texts: List[str]) -> List[Doc]:
        docs = []
        for text in texts:
            doc = tagger(nlp.make_doc(text))
            doc.set_ents([Span(doc, s, e, label="DISEASE") for s, e in source_spans(doc._.get(TAGS_ATTR), 0)],
                         default="outside")
            docs.append(doc)
        return docs
    return annotate


def score_label_with_missing(predicted: Iterable[Doc], gold: Iterable[Doc], label: str) -> dict:
    """P/R/F of one label, strict (same tokens) and overlap (any shared token), skipping predictions
    that touch tokens whose gold annotation is missing."""
    counts = {"strict": [0, 0, 0], "overlap": [0, 0, 0]}  # tp, fp, fn
    for pred_doc, gold_doc in zip(predicted, gold):
        golds = [(e.start_char, e.end_char) for e in gold_doc.ents if e.label_ == label]
        missing = [(t.idx, t.idx + len(t)) for t in gold_doc if t.ent_iob == 0]
        preds = []
        for ent in pred_doc.ents:
            if ent.label_ != label:
                continue
            if any(s < ent.end_char and ent.start_char < e for s, e in missing):
                continue
            preds.append((ent.start_char, ent.end_char))
        strict_hits = set(preds) & set(golds)
        counts["strict"][0] += len(strict_hits)
        counts["strict"][1] += len(preds) - len(strict_hits)
        counts["strict"][2] += len(golds) - len(strict_hits)
        overlaps = lambda a, bs: any(a[0] < b[1] and b[0] < a[1] for b in bs)  # noqa: E731
        counts["overlap"][0] += sum(overlaps(g, preds) for g in golds)
        counts["overlap"][1] += sum(not overlaps(p, golds) for p in preds)
        counts["overlap"][2] += sum(not overlaps(g, preds) for g in golds)
    return {mode: _prf(*c) for mode, c in counts.items()}


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": round(100 * p, 2), "r": round(100 * r, 2), "f": round(100 * f, 2), "tp": tp, "fp": fp, "fn": fn}


@dataclass
class ClinicalTestSets:
    maccrobat: List[Doc]
    phee: List[Doc]
    notes: Optional[List[Doc]] = None  # the clinical-notes regression set: scored with test only


def evaluate_clinical(annotate: Annotator, test_sets: ClinicalTestSets) -> dict:
    """One system's row: MACCROBAT clinical per label and overall, PHEE MEDICATION strict and overlap."""
    maccrobat_pred = annotate([d.text for d in test_sets.maccrobat])
    phee_pred = annotate([d.text for d in test_sets.phee])
    result = {
        "maccrobat": score_entities(maccrobat_pred, test_sets.maccrobat, labels=CLINICAL_LABELS),
        "phee_medication": score_label_with_missing(phee_pred, test_sets.phee, "MEDICATION"),
    }
    if test_sets.notes is not None:
        result["notes"] = score_notes(annotate([d.text for d in test_sets.notes]), test_sets.notes)
    return result


SYSTEM_KINDS = ("pipeline", "drug_library", "medic_lookup")


def load_test_sets(paths: Dict[str, str], split: str, vocab) -> ClinicalTestSets:
    """The gold docs of one split (``paths`` hold ``{split}`` placeholders); with test, the notes set
    (``paths["notes"]``) too."""
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    vocab = vocab if vocab is not None else Vocab()
    docs = {}
    for name in ("maccrobat", "phee"):
        path = Path(paths[name].format(split=split))
        if not path.is_file():
            raise FileNotFoundError(f"no gold file {path} (run the convert commands first)")
        docs[name] = list(DocBin().from_disk(path).get_docs(vocab))
    if split == "test" and paths.get("notes"):
        from ..corpus.notes import read_notes

        docs["notes"] = read_notes(paths["notes"])
    return ClinicalTestSets(**docs)


def make_annotator(kind: str, path: Optional[str], medic_path: Path, disable: Sequence[str] = (),
                   config: Optional[dict] = None) -> Tuple[Annotator, Optional[Language]]:
    """The annotator of one system of the clinical table (and its pipeline, when it is one).

    ``disable``: pipeline components left out (an ablation row); ``config``: overrides of the
    pipeline's config, e.g. ``{"components": {"merge": {"sources": [...]}}}``."""
    import spacy

    from ..tokenizer import blank_biomedical

    if kind == "pipeline":
        nlp = spacy.load(path, exclude=list(disable), config=config or {})
        return pipeline_annotator(nlp), nlp
    blank = blank_biomedical()
    if kind == "drug_library":
        return drug_library_annotator(blank.make_doc), None
    if kind == "medic_lookup":
        return medic_lookup_annotator(blank, medic_path), None
    raise ValueError(f"unknown system kind {kind!r}; known: {', '.join(SYSTEM_KINDS)}")


TABLE_LABELS = ("MEDICATION", "DISEASE", "SIGN_SYMPTOM", "TREATMENT", "TEST")
TABLE_START, TABLE_END = "<!-- clinical-table:start -->", "<!-- clinical-table:end -->"


def render_table(records: Sequence[dict], split: str) -> str:
    """A markdown table of the systems' ``split`` scores: MACCROBAT per main label and over all
    clinical labels, PHEE MEDICATION strict and overlap, and the notes set when scored."""
    header = (["system"] + [f"MACCROBAT {label}" for label in TABLE_LABELS] + ["MACCROBAT all",
              "PHEE drugs strict", "PHEE drugs overlap", "notes MEDICATION", "notes all"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    cell = lambda v: "–" if v is None else f"{v:.1f}"  # noqa: E731
    for record in records:
        row = record.get(split)
        if row is None:
            continue
        per_label = row["maccrobat"]["per_label"]
        notes = (row.get("notes") or {}).get("ner_exact", {})
        values = [per_label.get(label, {}).get("f") for label in TABLE_LABELS] + [
            row["maccrobat"]["f1"], row["phee_medication"]["strict"]["f"], row["phee_medication"]["overlap"]["f"],
            notes.get("per_label", {}).get("MEDICATION", {}).get("f"), notes.get("f1")]
        lines.append("| " + " | ".join([f"`{record['system']}`"] + [cell(v) for v in values]) + " |")
    return "\n".join(lines)


def write_tables(doc_path: Path, records: Sequence[dict], command: str) -> None:
    """Replace the block between the table markers of ``doc_path`` with the dev and test tables."""
    text = doc_path.read_text(encoding="utf8")
    if TABLE_START not in text or TABLE_END not in text:
        raise ValueError(f"{doc_path} has no {TABLE_START} ... {TABLE_END} block")
    block = (f"{TABLE_START}\nMade by `{command}` (F1, exact spans unless said; PHEE: MEDICATION against its "
             f"Drug arguments, predictions on its unannotated arguments not counted).\n\n"
             f"**Dev** (what choices were made on):\n\n{render_table(records, 'dev')}\n\n"
             f"**Test**:\n\n{render_table(records, 'test')}\n{TABLE_END}")
    head, rest = text.split(TABLE_START, 1)
    doc_path.write_text(head + block + rest.split(TABLE_END, 1)[1], encoding="utf8")

"""Join converted corpora into one training set with a shared label set (e.g. DISEASE from BC5CDR + NCBI-disease).

Entities outside ``labels`` are dropped, so their tokens become "O" (not
missing; tokens already missing stay so): a DISEASE-only model trained on BC5CDR must learn that chemicals are
not diseases. Documents keep their order, corpus by corpus.
"""
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from ..ner.guideline import GUIDELINE_ATTR

__all__ = ["keep_labels", "join_corpora", "split_corpus"]


def keep_labels(doc: Doc, labels: Iterable[str]) -> Doc:
    """``doc`` with only the entities whose label is in ``labels`` (in place); the tokens of the
    others become "O", and tokens whose annotation is missing (a partial corpus) stay missing."""
    wanted = set(labels)
    kept = [ent for ent in doc.ents if ent.label_ in wanted]
    dropped = [ent for ent in doc.ents if ent.label_ not in wanted]
    doc.set_ents(kept, outside=dropped, default="unmodified")
    return doc


def join_corpora(paths: Sequence[Union[str, Path]], labels: Sequence[str], vocab: Vocab,
                 guidelines: Optional[Sequence[str]] = None) -> Tuple[DocBin, Dict[str, Dict[str, int]]]:
    """One DocBin from ``paths`` keeping ``labels``; per input: documents and entities kept / dropped.

    ``guidelines``: one per path, the guideline its documents follow, set as ``doc._.guideline``
    (``medner.ner.guideline``: one model told which corpus definition to follow)."""
    if not labels:
        raise ValueError("join_corpora needs at least one label to keep")
    if guidelines and len(guidelines) != len(paths):
        raise ValueError(f"{len(guidelines)} guidelines for {len(paths)} corpora: give one per corpus, in order")
    joined = DocBin(store_user_data=True)
    counts: Dict[str, Dict[str, int]] = {}
    for i, path in enumerate(paths):
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"corpus file not found: {path}")
        docs: List[Doc] = list(DocBin().from_disk(path).get_docs(vocab))
        n_before = sum(len(doc.ents) for doc in docs)
        for doc in docs:
            if guidelines:
                doc._.set(GUIDELINE_ATTR, guidelines[i])
            joined.add(keep_labels(doc, labels))
        n_kept = sum(len(doc.ents) for doc in docs)
        counts[str(path)] = {"docs": len(docs), "entities_kept": n_kept, "entities_dropped": n_before - n_kept}
        if guidelines:
            counts[str(path)]["guideline"] = guidelines[i]
    return joined, counts


def split_corpus(path: Union[str, Path], vocab: Vocab, first_share: float = 0.5) -> Tuple[DocBin, DocBin]:
    """The documents of ``path`` in two parts, in file order: the first ``first_share`` of them and the rest.

    File order, not a random draw: a dev set split this way is the same for every run, so a
    model trained on one part (with the training set) is scored on the other part reproducibly.
    """
    if not 0.0 < first_share < 1.0:
        raise ValueError(f"first_share must be between 0 and 1 (exclusive), got {first_share}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"corpus file not found: {path}")
    docs = list(DocBin().from_disk(path).get_docs(vocab))
    if len(docs) < 2:
        raise ValueError(f"{path} has {len(docs)} document(s): nothing to split")
    cut = min(max(1, round(len(docs) * first_share)), len(docs) - 1)
    return DocBin(docs=docs[:cut], store_user_data=True), DocBin(docs=docs[cut:], store_user_data=True)

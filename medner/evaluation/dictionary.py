"""The dictionaries alone on the abstract corpora: the simple baseline beside every BC5CDR / NCBI-disease model.

CHEMICAL: drug-named-entity-recognition's ``find_drugs`` (the clinical table's drug-library row);
DISEASE: the longest MEDIC name matches (its MEDIC-lookup row). Both on medner's biomedical
tokenizer, overlaps resolved by spaCy's ``filter_spans`` (longest first).
"""
from pathlib import Path
from typing import List, Sequence

from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from ..tokenizer import blank_biomedical
from .clinical import Annotator, drug_library_annotator, medic_lookup_annotator

DICTIONARY_LABELS = ("CHEMICAL", "DISEASE")


def dictionary_annotator(medic_path: Path, labels: Sequence[str] = DICTIONARY_LABELS) -> Annotator:
    """CHEMICAL from the drug library and DISEASE from MEDIC, for the ``labels`` asked for."""
    unknown = sorted(set(labels) - set(DICTIONARY_LABELS))
    if unknown or not labels:
        raise ValueError(f"the dictionary baseline labels CHEMICAL and DISEASE only, got {list(labels)}")
    blank = blank_biomedical()
    annotators = ([drug_library_annotator(blank.make_doc, label="CHEMICAL")] if "CHEMICAL" in labels else []) + \
                 ([medic_lookup_annotator(blank, medic_path)] if "DISEASE" in labels else [])

    def annotate(texts: List[str]) -> List[Doc]:
        per_source = [annotate_source(texts) for annotate_source in annotators]
        docs = []
        for found in zip(*per_source):  # the same tokenizer: token indices carry over between the sources' docs
            doc = found[0]
            doc.set_ents(filter_spans([Span(doc, e.start, e.end, label=e.label_) for d in found for e in d.ents]),
                         default="outside")
            docs.append(doc)
        return docs
    return annotate

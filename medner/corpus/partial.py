"""Partial corpora: mark as *missing* what a corpus does not annotate, so it teaches only what it does.

PHEE labels drugs (nearly always) but a disease, symptom or test only when it is
an argument of an adverse-drug event. Its other arguments are already missing
values (``medner.corpus.schema.PHEE_MISSING``); what is left outside them would
read as "outside" to spaCy's NER and teach it to skip unannotated diseases. A
*teacher* (a pipeline trained on a fully annotated corpus, MACCROBAT in the
clinical schema) marks those: the tokens of every entity it predicts with a
label the partial corpus does not annotate become missing values too, unless
they are inside a gold entity.
"""
from collections import Counter
from typing import Callable, Iterable, List, Optional, Sequence

from spacy.language import Language
from spacy.tokens import Doc

from .align import set_missing


def mark_teacher_missing(docs: Sequence[Doc], teacher: Language, annotated_labels: Iterable[str],
                         to_schema: Optional[Callable[[str], Optional[str]]] = None, batch_size: int = 256) -> Counter:
    """Make the "outside" tokens of the teacher's entities missing, where the corpus does not annotate
    the teacher's label; count per label the entities used and the tokens changed.

    ``to_schema`` maps a teacher label into the corpus's schema (None: a type the schema leaves
    out, which stays outside)."""
    annotated = set(annotated_labels)
    counts: Counter = Counter()
    predictions = teacher.pipe((doc.text for doc in docs), batch_size=batch_size)
    for doc, predicted in zip(docs, predictions):
        tokens: List[int] = []
        for ent in predicted.ents:
            label = to_schema(ent.label_) if to_schema else ent.label_
            if label is None or label in annotated:
                continue
            span = doc.char_span(ent.start_char, ent.end_char, alignment_mode="expand")
            if span is None:
                counts["unalignable"] += 1
                continue
            outside = [t.i for t in span if t.ent_iob_ == "O"]
            if outside:
                counts[f"entities:{label}"] += 1
                tokens.extend(outside)
        counts["tokens_marked"] += set_missing(doc, tokens)
    return counts

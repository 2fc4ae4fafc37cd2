"""A rule-based pipeline with the biomedical tokenizer: deterministic entities for CLI tests."""
from typing import Dict, List

from medner.tokenizer import blank_biomedical


def ruler_nlp(terms: Dict[str, List[str]]):
    """``blank_biomedical()`` + an ``entity_ruler`` matching each term (case-insensitive) as its label."""
    nlp = blank_biomedical()
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([
        {"label": label, "pattern": [{"LOWER": t.lower_} for t in nlp.make_doc(term)]}
        for label, words in terms.items() for term in words
    ])
    return nlp

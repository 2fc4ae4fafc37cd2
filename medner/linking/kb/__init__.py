"""Knowledge base and candidate search for ``medner_linker``: vocabularies, names, TF-IDF.

* :mod:`medner.linking.kb.names`: the one normalisation every name and mention goes
  through, and the split of composite mentions ("breast and ovarian cancer").
* :mod:`medner.ner.vocab.sources`: readers for CTD MEDIC, MeSH descriptors and the
  gold-ID mentions of a training split.
* :mod:`medner.linking.kb.base`: ``KnowledgeBase`` (build, exact and TF-IDF search,
  ``to_disk``/``from_disk`` with a clear error naming any missing or corrupt
  file).
"""
from .base import KnowledgeBase, KBFileError, Candidate, load_vocabulary
from .names import normalise, split_composite

__all__ = ["KnowledgeBase", "KBFileError", "Candidate", "load_vocabulary", "normalise", "split_composite"]

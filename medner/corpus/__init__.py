"""Readers for annotated corpora and their conversion to spaCy ``Doc`` objects."""
from .records import CorpusFormatError, SourceDoc, SourceSpan

__all__ = ["CorpusFormatError", "SourceDoc", "SourceSpan"]

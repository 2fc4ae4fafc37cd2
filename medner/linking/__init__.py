"""Concept linking: the ``medner_linker`` component, its knowledge base, its evaluation."""

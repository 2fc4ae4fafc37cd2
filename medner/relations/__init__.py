"""Relation extraction: drug/chemical -> disease/effect pairs (readers, features, component, evaluation)."""

"""Abbreviations: detection of definitions (pure algorithm), the spaCy components, their evaluation."""

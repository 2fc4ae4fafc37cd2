"""Hugging Face token classifiers in spaCy: alignment, windows, training, the component."""

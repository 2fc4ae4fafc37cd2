"""medner: medical named-entity recognition with spaCy and Hugging Face token classifiers."""

__version__ = "0.3.0"

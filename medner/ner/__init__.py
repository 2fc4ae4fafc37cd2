"""Named-entity recognition: Hugging Face token classifiers, dictionary features, merging systems."""

"""Dictionary-match features for NER: tags from vocabularies, the Thinc layer, the component."""

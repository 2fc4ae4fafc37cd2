"""Assertion status of entities (present, negated, uncertain, historical, family): rules, classifier, component."""

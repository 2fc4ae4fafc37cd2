"""Scoring entities: the exact-match entity scorer, the ents-or-span-group getter, the evaluation matrix."""

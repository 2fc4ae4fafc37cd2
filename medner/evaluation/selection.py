"""Choose on dev, report test: the one rule for picking a variant."""
from typing import Callable, Dict, Mapping, Optional


def dev_f1(row: Mapping) -> float:
    """A row's dev F1 (rows as written by the evaluation scripts: ``{"dev": {"f1": ...}, "test": {...}}``)."""
    return row["dev"]["f1"]


def pick_best_on_dev(rows: Dict[str, Mapping], score: Optional[Callable[[Mapping], float]] = None) -> str:
    """The name of the row with the highest dev score (``dev_f1`` unless ``score`` is given); the first on ties.

    Test scores are never looked at, so the choice does not leak the test set.
    """
    if not rows:
        raise ValueError("no variant to choose from")
    score = score or dev_f1
    return max(rows, key=lambda name: score(rows[name]))

"""Assemble a pipeline from a config: sourced trained components + ``hf_token_classifier`` + merge.

Shared by ``scripts/assemble.py`` (the project's assemble steps) and the
tests' tiny pipelines, so both build pipelines the same way. It is spaCy's
``spacy assemble`` (public ``util`` API) plus one check: a ``paths.*_model``
that does not exist is named in one line, instead of a traceback from deep
inside the sourced component's loader. The weights are copied into the
output, so it loads with ``spacy.load`` without the source directories.
"""
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import srsly
from spacy import util


def assemble(config_path: Union[str, Path], output_dir: Union[str, Path], overrides: Optional[Dict[str, Any]] = None):
    """Build the pipeline of ``config_path`` (sourced components keep their weights,
    the others are initialised), save it to ``output_dir`` and return it."""
    import medner.evaluation.spans  # noqa: F401  (registers the scorer and the factories)
    import medner.ner.hf.component  # noqa: F401
    import medner.ner.merge  # noqa: F401
    import medner.ner.stash  # noqa: F401
    import medner.tokenizer  # noqa: F401

    config = util.load_config(config_path, overrides=overrides or {}, interpolate=False)
    interpolated = config.interpolate()
    for key, path in interpolated.get("paths", {}).items():
        if isinstance(path, str) and key.endswith("_model") and not Path(path).exists():
            raise FileNotFoundError(f"paths.{key} does not exist: {path}")
    nlp = util.load_model_from_config(config, auto_fill=True, validate=True)
    sourced = util.get_sourced_components(interpolated)
    with nlp.select_pipes(disable=[*sourced]):
        nlp.initialize()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output_dir)
    return nlp


def parse_overrides(args: List[str]) -> Dict[str, Any]:
    """``["--paths.hf_model", "x", "--a.b=1"]`` -> ``{"paths.hf_model": "x", "a.b": 1}``.

    Values are read as JSON when they parse, else kept as strings, like
    ``spacy assemble`` does (whose parser is private to ``spacy.cli``).
    """
    overrides: Dict[str, Any] = {}
    args = list(args)
    while args:
        option = args.pop(0)
        if not option.startswith("--") or "." not in option:
            raise ValueError(f"invalid config override {option!r}: expected --section.key VALUE")
        name = option[2:]
        if "=" in name:
            name, value = name.split("=", 1)
        elif args and not args[0].startswith("--"):
            value = args.pop(0)
        else:
            value = "true"
        try:
            overrides[name] = srsly.json_loads(value)
        except ValueError:
            overrides[name] = value
    return overrides

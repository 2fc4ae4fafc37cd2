"""Add the abbreviation components to a trained pipeline, with the propagation variant chosen on dev (the work of scripts/add_abbreviations.py)."""
from pathlib import Path
from typing import Optional

import spacy
import srsly
from wasabi import msg

import medner.abbreviations.component  # noqa: F401  (registers the factories when medner is not pip-installed)


def add_abbreviations(model: Path, output: Path, metrics: Optional[Path], pipeline: Optional[str], long_form_match: str, untagged_long_form: str, detector_only: bool, after: Optional[str]):
    """Save model with medner_abbreviations (and the propagation step chosen on dev in metrics, unless detector_only) as output."""
    if long_form_match not in ("exact", "overlap"):
        msg.fail(f"--long-form-match must be exact or overlap, got {long_form_match!r}", exits=1)
    if untagged_long_form not in ("keep", "remove", "propagate"):
        msg.fail(f"--untagged-long-form must be keep, remove or propagate, got {untagged_long_form!r}", exits=1)
    config = {"long_form_match": long_form_match, "untagged_long_form": untagged_long_form}
    if metrics is not None and not detector_only:
        name = pipeline or (model.parent.name if model.name in ("model-best", "model-last") else model.name)
        entries = srsly.read_json(metrics).get("pipelines", {})
        if name not in entries:
            msg.fail(f"{metrics} has no entry {name!r} (it has: {', '.join(sorted(entries)) or 'none'}); pass --pipeline", exits=1)
        selected = entries[name].get("add_pipe")
        if selected is None:
            msg.warn(f"The propagation step did not help {name} on dev ({metrics}): adding the detector only")
            detector_only = True
        else:
            config = selected["config"]
    nlp = spacy.load(model)
    if after is not None and after not in nlp.pipe_names:
        msg.fail(f"--after {after!r} is not in the pipeline {nlp.pipe_names}", exits=1)
    placement = {"after": after} if after else {"last": True}
    if detector_only:
        nlp.add_pipe("medner_abbreviations", **placement)
    else:
        nlp.add_pipe("medner_abbreviation_propagation", config=config, **placement)
    output.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output)
    msg.good(f"{output}: {nlp.pipe_names}" + ("" if detector_only else f" with {config}"))

"""The evaluation matrix: pipelines x test sets described once in a config, one metrics record per cell.

``configs/evaluation.yml`` names each pipeline (its directory, the span group it
is scored on) and each test set (its gold ``.spacy`` file). A pipeline is scored
on all of its labels on the test sets listed in its ``own_labels_on`` (the corpus
it was trained on) and, everywhere else, on the labels it predicts that the gold
also has (cross-corpus). ``evaluate_cells`` (``scripts/evaluate_matrix.py``) evaluates the cells and
writes ``<metrics_dir>/<pipeline>__<test set>.json``, the records that
``scripts/results.py`` renders into the README.
"""
import platform
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Collection, Dict, Iterable, List, Optional, Tuple

import spacy
import srsly
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from medner.evaluation.entities import evaluate_pipeline


class MatrixError(ValueError):
    """A mistake in the matrix config or the command line: reported as one line."""


class PipelineEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    own_labels_on: List[str]
    spans_key: Optional[str] = None
    test_sets: Optional[List[str]] = None  # default: every test set
    # Config overrides at load, e.g. {"components": {"guideline": {"guideline": "ncbi_disease"}}}
    load_config: Dict[str, Any] = {}


class MatrixConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metrics_dir: str = "metrics"
    test_sets: Dict[str, str]
    pipelines: Dict[str, PipelineEntry]

    @model_validator(mode="after")
    def _known_test_sets(self):
        for name, entry in self.pipelines.items():
            for test_set in [*entry.own_labels_on, *(entry.test_sets or [])]:
                if test_set not in self.test_sets:
                    raise ValueError(f"pipeline {name} names test set {test_set!r}, not one of {sorted(self.test_sets)}")
        return self


@dataclass(frozen=True)
class Cell:
    """One pipeline on one test set, and the file its record goes to."""

    pipeline: str
    test_set: str
    model_path: str
    gold_path: str
    spans_key: Optional[str]
    shared_labels_only: bool
    output: Path
    load_config: str = "{}"  # JSON of the entry's load_config (a string, so cells stay hashable)

    @property
    def load_key(self) -> Tuple[str, str]:
        return self.model_path, self.load_config


def load_matrix(path: Path) -> MatrixConfig:
    if not Path(path).is_file():
        raise MatrixError(f"No evaluation matrix config at {path}")
    try:
        return MatrixConfig(**srsly.read_yaml(path))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise MatrixError(f"{path}: {where}: {first['msg']}") from None
    except TypeError as err:  # the YAML is not a mapping
        raise MatrixError(f"{path}: expected a mapping with test_sets and pipelines ({err})") from None


def _select(kind: str, wanted: Optional[Iterable[str]], known: Collection[str]) -> List[str]:
    if not wanted:
        return list(known)
    wanted = list(wanted)
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise MatrixError(f"Unknown {kind} {', '.join(unknown)}; the matrix has: {', '.join(known)}")
    return [name for name in known if name in wanted]


def matrix_cells(
    matrix: MatrixConfig, pipelines: Optional[Iterable[str]] = None, test_sets: Optional[Iterable[str]] = None
) -> List[Cell]:
    """The cells of the matrix, optionally only those of some pipelines and test sets, in config order."""
    chosen_pipelines = _select("pipeline(s)", pipelines, list(matrix.pipelines))
    chosen_sets = _select("test set(s)", test_sets, list(matrix.test_sets))
    cells = []
    for name in chosen_pipelines:
        entry = matrix.pipelines[name]
        for test_set in chosen_sets:
            if entry.test_sets is not None and test_set not in entry.test_sets:
                continue
            cells.append(Cell(
                pipeline=name, test_set=test_set, model_path=entry.path, gold_path=matrix.test_sets[test_set],
                spans_key=entry.spans_key, shared_labels_only=test_set not in entry.own_labels_on,
                output=Path(matrix.metrics_dir) / f"{name}__{test_set}.json",
                load_config=srsly.json_dumps(entry.load_config, sort_keys=True),
            ))
    return cells


def check_inputs(cells: Iterable[Cell], root: Path = Path(".")) -> None:
    """Fail before any evaluation starts when a pipeline directory or a gold file is missing."""
    for cell in cells:
        if not (root / cell.model_path).is_dir():
            raise MatrixError(f"Pipeline {cell.pipeline}: no directory {cell.model_path} (train or assemble it first)")
        if not (root / cell.gold_path).is_file():
            raise MatrixError(f"Test set {cell.test_set}: no file {cell.gold_path} (run the convert command first)")


def cells_by_model(cells: Iterable[Cell]) -> Dict[Tuple[str, str], List[Cell]]:
    """Cells grouped by pipeline directory and load overrides, so each is loaded once."""
    grouped: Dict[Tuple[str, str], List[Cell]] = defaultdict(list)
    for cell in cells:
        grouped[cell.load_key].append(cell)
    return dict(grouped)


def predicted_labels(nlp: Language) -> List[str]:
    """Every label a pipeline's components can predict."""
    return sorted({label for name in nlp.pipe_names for label in getattr(nlp.get_pipe(name), "labels", ()) or ()})


def shared_labels(nlp: Language, gold_docs: Iterable[Doc]) -> List[str]:
    """The labels the pipeline predicts that also occur in the gold entities (cross-corpus scoring)."""
    return sorted(set(predicted_labels(nlp)) & {ent.label_ for doc in gold_docs for ent in doc.ents})


def evaluation_record(
    nlp: Language, gold_docs: List[Doc], *, pipeline: str, dataset: str, model: str, gold_path: str,
    spans_key: Optional[str] = None, labels: Optional[List[str]] = None, batch_size: int = 64, gpu_id: int = -1,
) -> dict:
    """The ``metrics/<pipeline>__<dataset>.json`` record: who was scored on what, the scores, speed and machine."""
    result = evaluate_pipeline(nlp, gold_docs, spans_key=spans_key, batch_size=batch_size, labels=labels)
    return {
        "pipeline": pipeline,
        "dataset": dataset,
        "model": str(model),
        "model_name": f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}",
        "model_version": nlp.meta.get("version"),
        "pipe_names": nlp.pipe_names,
        "scored": (spans_key or "ents") + (f" ({', '.join(labels)} only)" if labels else ""),
        "labels_scored": labels,
        "gold": str(gold_path),
        **result,
        "machine": f"{platform.machine()}, {result['cpu_count']} CPUs" + (f", GPU {gpu_id}" if gpu_id >= 0 else ""),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }


def evaluate_cells(cells: List[Cell], batch_size: int = 64, gpu_id: int = -1) -> List[Tuple[Cell, dict]]:
    """Evaluate the cells, loading each pipeline directory once, and write each cell's record; (cell, record) pairs.

    A cross-corpus cell whose pipeline shares no label with the gold stops the run (``MatrixError``).
    """
    gold_bins: Dict[str, DocBin] = {}
    records = []
    for (model_path, load_config), model_cells in cells_by_model(cells).items():
        nlp = spacy.load(model_path, config=srsly.json_loads(load_config))
        for cell in model_cells:
            if cell.gold_path not in gold_bins:
                gold_bins[cell.gold_path] = DocBin().from_disk(cell.gold_path)
            gold = list(gold_bins[cell.gold_path].get_docs(nlp.vocab))
            labels = shared_labels(nlp, gold) if cell.shared_labels_only else None
            if cell.shared_labels_only and not labels:
                raise MatrixError(f"{cell.pipeline} shares no label with {cell.gold_path}: drop {cell.test_set} "
                                  "from its test_sets in the matrix config")
            record = evaluation_record(
                nlp, gold, pipeline=cell.pipeline, dataset=cell.test_set, model=cell.model_path,
                gold_path=cell.gold_path, spans_key=cell.spans_key, labels=labels, batch_size=batch_size, gpu_id=gpu_id,
            )
            if cell.load_config != "{}":
                record["load_config"] = srsly.json_loads(cell.load_config)
            cell.output.parent.mkdir(parents=True, exist_ok=True)
            srsly.write_json(cell.output, record)
            records.append((cell, record))
        del nlp
    return records

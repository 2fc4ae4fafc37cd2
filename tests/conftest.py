import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def nlp():
    from medner.tokenizer import blank_biomedical

    return blank_biomedical()


@pytest.fixture(scope="session")
def tiny_pipelines(tmp_path_factory):
    """Tiny versions of every shipped pipeline (``tests/pipelines.py``), built once per session."""
    from pipelines import get_tiny_pipelines

    return get_tiny_pipelines(tmp_path_factory.mktemp("tiny_pipelines"))

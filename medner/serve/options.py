"""The options of ``medner serve`` in one dataclass, so the CLI stays thin and
uvicorn worker processes (``--workers N``) get the same settings through one
environment variable."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List

from ..annotate.long_text import DEFAULT_MAX_BATCH_CHARS, DEFAULT_MAX_CHARS

OPTIONS_ENV = "MEDNER_SERVE_OPTIONS"


@dataclass
class ServeOptions:
    """Everything ``medner serve`` needs; defaults are the documented ones."""

    models: List[str] = field(default_factory=list)  # pipeline names or paths; empty: the shipped default
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # limits
    max_body_bytes: int = 5_000_000
    max_text_chars: int = 1_000_000
    max_texts: int = 256
    request_timeout_s: float = 60.0
    # batching of concurrent requests into nlp.pipe calls
    batch_docs: int = 64
    batch_wait_ms: float = 5.0
    # long texts: the same chunking as `medner annotate`
    max_chars: int = DEFAULT_MAX_CHARS
    max_batch_chars: int = DEFAULT_MAX_BATCH_CHARS
    spans_key: str = "medner"
    # entity labels a request without 'labels' gets (each pipeline: those it has); empty: all
    labels: List[str] = field(default_factory=list)
    # operations
    access_log: bool = True
    graceful_timeout_s: float = 30.0
    keep_alive_s: float = 30.0  # idle keep-alive connections are closed after this (uvicorn's default, 5 s, races busy clients)
    log_level: str = "info"

    def check(self) -> None:
        """Raise ``ValueError`` with one line for the first bad value."""
        positive = ("workers", "max_body_bytes", "max_text_chars", "max_texts", "batch_docs")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be in 1..65535, got {self.port}")
        if self.request_timeout_s <= 0:
            raise ValueError(f"request_timeout_s must be positive, got {self.request_timeout_s}")
        if self.batch_wait_ms < 0:
            raise ValueError(f"batch_wait_ms must not be negative, got {self.batch_wait_ms}")
        if self.log_level.lower() not in ("critical", "error", "warning", "info", "debug", "trace"):
            raise ValueError(f"log_level must be one of debug, info, warning, error, critical, got {self.log_level!r}")
        if len(set(self.models)) != len(self.models):
            raise ValueError(f"a pipeline is given twice: {self.models}")

    def limits(self) -> Dict[str, Any]:
        """The limits a client can hit (shown by ``/info`` and in error messages)."""
        return {
            "max_body_bytes": self.max_body_bytes,
            "max_text_chars": self.max_text_chars,
            "max_texts": self.max_texts,
            "request_timeout_s": self.request_timeout_s,
            "chunk_chars": self.max_chars,
        }

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> "ServeOptions":
        raw = os.environ.get(OPTIONS_ENV)
        if not raw:
            return cls()
        return cls(**json.loads(raw))

"""``medner serve``: an HTTP annotation service and a page, built on the same records as ``medner annotate``.

* :mod:`medner.serve.options` — :class:`ServeOptions`, the one dataclass the CLI fills;
* :mod:`medner.serve.batching` — :class:`Batcher`, which gathers concurrent
  requests into ``nlp.pipe`` calls (bounded wait);
* :mod:`medner.serve.render` — displaCy markup and label colours for the page;
* :mod:`medner.serve.app` — the FastAPI app (``/annotate``, ``/health``,
  ``/info``, ``/``) and :func:`serve`, which runs it under uvicorn.
"""
from .options import ServeOptions

__all__ = ["ServeOptions"]

"""The HTTP service of ``medner serve``: FastAPI routes over :class:`~medner.serve.batching.Batcher`.

Routes: ``POST /annotate`` (one text or a batch; the records of
``medner annotate``, built by the same code), ``GET /health``, ``GET /info``,
``GET /`` (the page, its files under ``/static``), ``/docs`` and
``/openapi.json``. Every error is JSON ``{"error": code, "message": one line}``
with the limit or the field it is about in the message.

Pipelines are loaded once per worker process: before uvicorn starts with one
worker (a bad ``--model`` is one line, not a traceback), in each worker's
lifespan with ``--workers N`` (which get the options through
:data:`~medner.serve.options.OPTIONS_ENV`).
"""
from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..annotate import BadRecord, Item, UnknownLabel, load_pipeline, record_to_item
from ..ner.label_filter import FACTORY as LABEL_FILTER
from ..ner.label_filter import check_labels, default_page_labels, known_labels, parse_labels
from .batching import Batcher
from .options import ServeOptions
from .render import pipeline_colors, pipeline_info, render_entities

STATIC_DIR = Path(__file__).parent / "static"
REQUEST_SOURCE = "request"
access_logger = logging.getLogger("medner.serve.access")
logger = logging.getLogger("medner.serve")

EXAMPLE_TEXT = "The patient was prescribed Warfarin to prevent blood clots."


# --------------------------------------------------------------------------- #
# Request and response shapes (the response models are for the schema only:
# the records are returned exactly as medner annotate writes them)
# --------------------------------------------------------------------------- #
class AnnotateRequest(BaseModel):
    """Give exactly one of ``text``, ``texts`` or ``documents``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"text": EXAMPLE_TEXT},
                {"texts": [EXAMPLE_TEXT, "Aspirin induced renal failure."]},
                {"documents": [{"id": "note-1", "text": EXAMPLE_TEXT, "ward": "3B"}], "include_text": True},
                {"text": EXAMPLE_TEXT, "labels": ["MEDICATION", "DISEASE"]},
            ]
        },
    )

    text: Optional[str] = Field(None, description="One text (its id is 0).")
    texts: Optional[List[Any]] = Field(None, description="Texts; ids are their positions (0, 1, ...).")
    documents: Optional[List[Any]] = Field(
        None,
        description="Objects with 'text' and optionally 'id' (string or integer; default: position); "
        "other fields are copied to the record, as with medner annotate's JSONL input.",
    )
    pipeline: Optional[str] = Field(None, description="A loaded pipeline (GET /info); default: the first.")
    labels: Optional[List[str]] = Field(
        None,
        description="Keep only entities with these labels (GET /info lists a pipeline's labels); each document's "
        "'filtered_out' counts the others per label. [] : every label; default: the service's --labels.",
    )
    include_text: StrictBool = Field(False, description="Copy each text into its record.")
    html: StrictBool = Field(False, description="Add displaCy's entity view of each document as 'html'.")

    @model_validator(mode="after")
    def _one_input(self) -> "AnnotateRequest":
        given = [name for name in ("text", "texts", "documents") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of 'text', 'texts' or 'documents' (got {', '.join(given) or 'none'})")
        return self


class EntityOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    start: int = Field(description="Character offset (Unicode code points) of the first character.")
    end: int = Field(description="Character offset after the last character: text[start:end] == entity text.")
    text: str
    label: str
    source: str = Field(description="Component or span key the entity came from ('ents' without the merge component).")
    score: Optional[float] = None


class RelationOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    head: List[int] = Field(description="[start, end] of the head entity (the chemical or drug).")
    tail: List[int] = Field(description="[start, end] of the tail entity (the disease or effect).")
    label: str = Field(description="The relation, e.g. CID (chemical-induced disease) or ADVERSE_EFFECT.")
    score: Optional[float] = None
    head_id: Optional[str] = Field(None, description="Concept id of the head, for concept-level relations.")
    tail_id: Optional[str] = Field(None, description="Concept id of the tail, for concept-level relations.")


class DocumentError(BaseModel):
    reason: str = Field(description="missing_text, non_string_text, invalid_id, not_an_object or pipeline_error.")
    detail: str


class DocumentOut(BaseModel):
    """A record of medner annotate (id, passthrough fields, entities), or the document's error."""

    model_config = ConfigDict(extra="allow")
    id: Union[str, int]
    entities: Optional[List[EntityOut]] = None
    relations: Optional[List[RelationOut]] = Field(None, description="Present when the pipeline has medner_relations.")
    error: Optional[DocumentError] = None
    html: Optional[str] = None
    filtered_out: Optional[Dict[str, int]] = Field(
        None, description="Entities of labels the request's 'labels' left out, per label (only when there are any).")


class AnnotateResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "pipeline": "clinical",
                    "documents": [
                        {
                            "id": 0,
                            "entities": [
                                {"start": 27, "end": 35, "text": "Warfarin", "label": "MEDICATION", "source": "ents", "score": None}
                            ],
                        }
                    ],
                    "errors": 0,
                }
            ]
        }
    )
    pipeline: str
    documents: List[DocumentOut]
    errors: int = Field(description="Documents that have an 'error' instead of 'entities'.")


class ErrorOut(BaseModel):
    error: str
    message: str


ERROR_RESPONSES = {
    413: {"model": ErrorOut, "description": "Body, a text or the number of texts over the limit (named in the message)."},
    422: {"model": ErrorOut, "description": "Invalid JSON or a field of the wrong type (named in the message)."},
    504: {"model": ErrorOut, "description": "The request took longer than the timeout per request."},
}


# --------------------------------------------------------------------------- #
# Errors and JSON
# --------------------------------------------------------------------------- #
class BodyTooLarge(HTTPException):
    """Raised while a body without Content-Length is read: FastAPI passes an
    ``HTTPException`` from the body reader through (others become a 400)."""

    def __init__(self, message: str):
        super().__init__(status_code=413, detail=message)


class ServiceError(Exception):
    """An error a client caused or can act on: one JSON line with a status."""

    def __init__(self, status: int, error: str, message: str):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def json_bytes(payload: Any) -> bytes:
    """UTF-8 JSON; lone surrogates from the input fall back to ``\\u`` escapes (as in the CLI's JSONL)."""
    text = json.dumps(payload, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(payload, ensure_ascii=True).encode("utf-8")


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json_bytes(payload), status_code=status, media_type="application/json")


def error_response(status: int, error: str, message: str, **extra: Any) -> Response:
    return json_response({"error": error, "message": message, **extra}, status)


def _field_name(loc: Tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    name = ""
    for part in parts:
        name += f"[{part}]" if part.isdigit() and name else (f".{part}" if name else part)
    return name or "body"


def validation_message(errors: List[Dict[str, Any]]) -> str:
    """One line naming each bad field (or where the JSON breaks)."""
    lines = []
    for err in errors:
        if err.get("type") == "json_invalid":
            position = err["loc"][-1] if err.get("loc") else "?"
            lines.append(f"body is not valid JSON at character {position}: {err.get('ctx', {}).get('error', err['msg'])}")
        elif err.get("type") == "model_attributes_type" or (err.get("loc") == ("body",) and err.get("type") in ("dict_type", "model_type")):
            lines.append("body must be a JSON object with 'text', 'texts' or 'documents'")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{_field_name(tuple(err.get('loc', ())))}: {msg}")
    return "; ".join(lines)


# --------------------------------------------------------------------------- #
# Middleware: body size limit, structured access log
# --------------------------------------------------------------------------- #
class BodyLimitMiddleware:
    """413 before reading a body whose Content-Length is over the limit, and
    while reading one (chunked) that grows over it."""

    def __init__(self, app, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    def message(self, size: str) -> str:
        return (f"request body of {size} bytes is over the limit of {self.max_body_bytes:,} bytes "
                "(--max-body-bytes); send fewer or shorter texts per request")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = 0
                if length > self.max_body_bytes:
                    response = error_response(413, "body_too_large", self.message(f"{length:,}"), limit=self.max_body_bytes)
                    return await response(scope, receive, send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.message(f"more than {self.max_body_bytes:,}"))
            return message

        await self.app(scope, limited_receive, send)


class AccessLogMiddleware:
    """One JSON line per request on the ``medner.serve.access`` logger."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500, "bytes": 0}

        async def send_and_record(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "http.response.body":
                status["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            if access_logger.isEnabledFor(logging.INFO):
                client = scope.get("client") or (None, None)
                access_logger.info(json.dumps({
                    "ts": round(time.time(), 3),
                    "event": "access",
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status["code"],
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                    "bytes_out": status["bytes"],
                    "client": f"{client[0]}:{client[1]}" if client[0] else None,
                    "documents": scope.get("state", {}).get("medner_documents"),
                }))


# --------------------------------------------------------------------------- #
# Pipelines
# --------------------------------------------------------------------------- #
@dataclass
class LoadedPipeline:
    name: str
    nlp: Any
    source: Optional[str] = None
    colors: Dict[str, str] = field(default_factory=dict)
    batcher: Optional[Batcher] = None
    labels: List[str] = field(default_factory=list)  # every entity label it can produce
    default_labels: List[str] = field(default_factory=list)  # kept for a request without 'labels'; []: all

    def request_labels(self, labels: Optional[List[str]]) -> List[str]:
        """The labels a request keeps: its own (checked: 422 naming the pipeline's labels) or the default."""
        if labels is None:
            return self.default_labels
        wanted = parse_labels(labels)
        try:
            check_labels(wanted, self.labels, what="labels", whose=f"pipeline {self.name!r}")
        except UnknownLabel as e:
            raise ServiceError(422, "unknown_label", str(e))
        return wanted


def service_labels(pipelines: Dict[str, Any], requested: List[str]) -> Dict[str, Tuple[List[str], List[str]]]:
    """``{name: (labels, default_labels)}`` for the loaded pipelines and ``--labels``.

    A pipeline's own ``medner_label_filter`` is disabled (a request may ask for any label) and its
    labels become the default unless ``--labels`` is given; with ``--labels`` each pipeline keeps
    those it has. Raises :class:`UnknownLabel` (one line) for a label no pipeline has, or a pipeline
    that has none of them.
    """
    result = {}
    for name, nlp in pipelines.items():
        own = []
        for component in nlp.component_names:
            if nlp.get_pipe_meta(component).factory == LABEL_FILTER:
                own += nlp.get_pipe(component).labels
                if component not in nlp.disabled:
                    nlp.disable_pipe(component)
        labels = known_labels(nlp)
        result[name] = (labels, [label for label in requested if label in labels] if requested else parse_labels(own))
    if requested:
        check_labels(requested, {label for labels, _ in result.values() for label in labels}, what="--labels",
                     whose="this pipeline's" if len(result) == 1 else "the served pipelines'")
    for name, (labels, default) in result.items():
        if requested and not default:
            raise UnknownLabel(f"--labels: pipeline {name!r} has none of {', '.join(requested)}; "
                               f"its labels: {', '.join(labels) or '(none)'}")
    return result


def resolve_models(models: List[str]) -> List[Tuple[str, str]]:
    """``(name, what spacy.load gets)`` for each ``--model``, resolved like
    ``medner annotate --model`` (:func:`medner.annotate.pipelines.resolve`; none given:
    the shipped default). Raises :class:`~medner.annotate.pipelines.PipelineNotFound`
    (a ``ValueError``) with one line for a name that is nothing loadable."""
    from ..annotate.pipelines import DEFAULT_PIPELINE, resolve

    return [(name, resolve(name)) for name in (list(models) or [DEFAULT_PIPELINE])]


def load_pipelines(models: List[str]) -> Dict[str, Tuple[Any, str]]:
    """``{name: (nlp, source)}``: each pipeline loaded once, by the CLI's loader."""
    return {name: (load_pipeline(source), source) for name, source in resolve_models(models)}


@dataclass
class ServiceState:
    options: ServeOptions
    pipelines: Dict[str, LoadedPipeline] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    ready: bool = False

    @property
    def default(self) -> str:
        return next(iter(self.pipelines))

    def pick(self, name: Optional[str]) -> LoadedPipeline:
        if name is None:
            return self.pipelines[self.default]
        if name not in self.pipelines:
            raise ServiceError(422, "unknown_pipeline", f"pipeline: {name!r} is not loaded; loaded: {', '.join(self.pipelines)}")
        return self.pipelines[name]


# --------------------------------------------------------------------------- #
# Request -> items
# --------------------------------------------------------------------------- #
def request_items(body: AnnotateRequest) -> List[Union[Item, BadRecord]]:
    """The documents of a request as the CLI's :class:`Item` (or
    :class:`BadRecord` for a bad document, which is reported for itself)."""
    if body.text is not None:
        return [Item(0, body.text, {}, REQUEST_SOURCE, 0)]
    if body.texts is not None:
        items: List[Union[Item, BadRecord]] = []
        for i, text in enumerate(body.texts):
            if isinstance(text, str):
                items.append(Item(i, text, {}, REQUEST_SOURCE, i))
            else:
                items.append(BadRecord(REQUEST_SOURCE, i, "non_string_text", f"texts[{i}] is {type(text).__name__}, not a string", i))
        return items
    items = []
    for i, obj in enumerate(body.documents or []):
        if not isinstance(obj, dict):
            items.append(BadRecord(REQUEST_SOURCE, i, "not_an_object", f"documents[{i}] is {type(obj).__name__}, not an object", i))
            continue
        if "id" not in obj:
            obj = {"id": i, **obj}
        result = record_to_item(obj, REQUEST_SOURCE, i)
        if isinstance(result, BadRecord):
            result.detail = f"documents[{i}]: {result.detail}"
            if result.id is None:  # an id that is not a string or integer: name the document by position
                result.id = i
        items.append(result)
    return items


def check_limits(items: List[Union[Item, BadRecord]], options: ServeOptions) -> None:
    if len(items) > options.max_texts:
        raise ServiceError(413, "too_many_texts", f"request has {len(items):,} texts; the limit is {options.max_texts:,} per request (--max-texts)")
    for i, item in enumerate(items):
        if isinstance(item, Item) and len(item.text) > options.max_text_chars:
            raise ServiceError(
                413,
                "text_too_long",
                f"text {i} (id {item.id!r}) has {len(item.text):,} characters; the limit is "
                f"{options.max_text_chars:,} characters per text (--max-text-chars)",
            )


def bad_record_json(bad: BadRecord) -> Dict[str, Any]:
    return {"id": bad.id, "error": {"reason": bad.reason, "detail": bad.detail}}


# --------------------------------------------------------------------------- #
# The app
# --------------------------------------------------------------------------- #
def create_app(options: ServeOptions, pipelines: Optional[Dict[str, Any]] = None) -> FastAPI:
    """The service. ``pipelines`` (``{name: nlp}`` or ``{name: (nlp, source)}``)
    are used as given; without them, ``options.models`` are loaded at startup."""
    from .. import __version__ as medner_version

    options.check()
    state = ServiceState(options)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        given = pipelines if pipelines is not None else load_pipelines(options.models)
        given = {name: value if isinstance(value, tuple) else (value, None) for name, value in given.items()}
        labels = service_labels({name: nlp for name, (nlp, _) in given.items()}, options.labels)
        for name, (nlp, source) in given.items():
            colors = pipeline_colors(nlp)
            loaded = LoadedPipeline(name, nlp, source, colors, labels=labels[name][0], default_labels=labels[name][1])
            loaded.batcher = Batcher(
                nlp,
                batch_docs=options.batch_docs,
                batch_wait_ms=options.batch_wait_ms,
                max_chars=options.max_chars,
                max_batch_chars=options.max_batch_chars,
                spans_key=options.spans_key,
                render=lambda doc, colors=colors: render_entities(doc, colors=colors, spans_key=options.spans_key),
            )
            loaded.batcher.start()
            state.pipelines[name] = loaded
        state.ready = True
        logger.info(json.dumps({"event": "ready", "pipelines": list(state.pipelines)}))
        try:
            yield
        finally:
            state.ready = False
            for loaded in state.pipelines.values():
                await loaded.batcher.stop()
            logger.info(json.dumps({"event": "stopped"}))

    app = FastAPI(
        title="medner",
        version=medner_version,
        summary="Medical named-entity recognition: annotate text with a medner pipeline.",
        description="The records are those of `medner annotate` (same code). See docs/serve.md.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN; the schema is at /openapi.json
        redoc_url=None,
    )
    app.state.medner = state
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=options.max_body_bytes)
    if options.access_log:
        app.add_middleware(AccessLogMiddleware)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError):
        return error_response(exc.status, exc.error, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        return error_response(422, "invalid_request", validation_message(errors),
                              fields=["body" if e.get("type") == "json_invalid" else _field_name(tuple(e.get("loc", ()))) for e in errors])

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        error = "body_too_large" if isinstance(exc, BodyTooLarge) else "http_error"
        return error_response(exc.status_code, error, str(exc.detail))

    @app.post("/annotate", response_model=AnnotateResponse, responses=ERROR_RESPONSES,
              summary="Annotate one text or a batch")
    async def annotate(body: AnnotateRequest, request: Request):
        """Entities per document, in request order: the records of `medner annotate`.
        A bad document gets `error` instead of `entities`; the others are annotated."""
        loaded = state.pick(body.pipeline)
        labels = loaded.request_labels(body.labels)
        items = request_items(body)
        check_limits(items, options)
        request.scope.setdefault("state", {})["medner_documents"] = len(items)
        good = [it for it in items if isinstance(it, Item)]
        futures = loaded.batcher.submit(good, include_text=body.include_text, html=body.html, labels=labels)
        try:
            results = await asyncio.wait_for(asyncio.gather(*futures), timeout=options.request_timeout_s)
        except asyncio.TimeoutError:
            for future in futures:
                future.cancel()
            raise ServiceError(504, "timeout", f"annotation took longer than the limit of {options.request_timeout_s:g} s per request (--request-timeout); send fewer or shorter texts")
        by_position = {it.line: result for it, result in zip(good, results)}
        documents = []
        for position, item in enumerate(items):
            result = item if isinstance(item, BadRecord) else by_position[position]
            documents.append(bad_record_json(result) if isinstance(result, BadRecord) else result)
        n_errors = sum(1 for d in documents if "error" in d)
        return json_response({"pipeline": loaded.name, "documents": documents, "errors": n_errors})

    @app.get("/health", summary="Liveness and what this worker has done")
    async def health():
        return {
            "status": "ok" if state.ready else "starting",
            "pipelines": {name: {"queued": p.batcher.queued, **p.batcher.stats.to_dict()} for name, p in state.pipelines.items()},
            "uptime_s": round(time.time() - state.started, 1),
        }

    @app.get("/info", summary="Loaded pipelines: version, labels, colours, components, scores; the limits")
    async def info():
        return {
            "medner_version": medner_version,
            "default": state.default if state.pipelines else None,
            "pipelines": [
                # default_labels: what a request without 'labels' keeps ([]: all); page_labels: checked on the page
                {**pipeline_info(p.name, p.nlp, p.source), "default_labels": p.default_labels,
                 "page_labels": p.default_labels or default_page_labels(p.labels)}
                for p in state.pipelines.values()
            ],
            "limits": options.limits(),
        }

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def app_from_env() -> FastAPI:
    """uvicorn factory for ``--workers N``: each worker process builds the app
    (and loads its pipelines) from :data:`~medner.serve.options.OPTIONS_ENV`."""
    options = ServeOptions.from_env()
    configure_logging(options.log_level)  # worker processes are spawned: set up their own logging
    return create_app(options)


class _CurrentStderrHandler(logging.StreamHandler):
    """A StreamHandler on whatever ``sys.stderr`` is when a record is written, not the one at
    set-up: a service started in-process (tests, notebooks) outlives a replaced, closed stderr."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it; the property always reads sys.stderr
        pass


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr for the access log and service events."""
    handler = _CurrentStderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("medner.serve", "medner.serve.access"):
        log = logging.getLogger(name)
        log.handlers[:] = [handler] if name == "medner.serve" else []
        log.setLevel(level.upper())
    logging.getLogger("medner.serve").propagate = False


def serve(options: ServeOptions) -> None:
    """Run the service under uvicorn until SIGINT/SIGTERM; in-flight requests
    are finished (up to ``graceful_timeout_s``) before the pipelines are released."""
    import os

    import uvicorn

    from .options import OPTIONS_ENV

    options.check()
    configure_logging(options.log_level)
    common = dict(
        host=options.host,
        port=options.port,
        log_level=options.log_level,
        access_log=False,  # ours is structured (medner.serve.access)
        timeout_graceful_shutdown=options.graceful_timeout_s,
        timeout_keep_alive=options.keep_alive_s,
    )
    if options.workers == 1:
        pipelines = load_pipelines(options.models)
        service_labels({name: nlp for name, (nlp, _) in pipelines.items()}, options.labels)  # bad --labels: one line here
        app = create_app(options, pipelines)
        uvicorn.run(app, **common)
    else:
        resolve_models(options.models)  # a bad name fails here, once, not in every worker
        if options.labels:  # and bad --labels: the pipelines loaded once here to check them
            service_labels({name: nlp for name, (nlp, _) in load_pipelines(options.models).items()}, options.labels)
        os.environ[OPTIONS_ENV] = options.to_env()
        uvicorn.run("medner.serve.app:app_from_env", factory=True, workers=options.workers, **common)

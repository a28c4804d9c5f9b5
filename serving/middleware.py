"""The service's front door (an ASGI middleware): request ids, API key, body size, media type,
JSON depth, readiness and the model-aware checks of request bodies, all before BentoML parses or
batches anything; and on the way out, one error shape for every refusal.

BentoML itself has no authentication and no request-size limit; refusing here also keeps a bad
request out of an adaptive batch, where it would fail the other requests batched with it.
Every response carries ``X-Request-ID``; every refusal is a JSON body
``{"error": ..., "detail": [{"loc", "msg", "type"}], "request_id": ...}`` with the same id as the
log line that records it. Server-side trouble answers 503 with a reason, never 500, and error
bodies never show server paths, SQL or commands (those go to the log).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import numpy as np
from pydantic_core import from_json
from starlette.responses import JSONResponse

from scoring.config import ServingConfig
from serving.errors import (
    REQUEST_ID,
    REQUEST_LANG,
    Problem,
    error_body,
    error_response,
    request_lang,
    scrub,
)
from serving.state import ServiceState
from serving.validation import check_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("serving.requests")

HEALTH_PATHS = frozenset({"/livez", "/healthz", "/readyz"})
"""Probes answer without the API key (the only endpoints that do)."""
MODEL_PATHS = frozenset({"/predict", "/predict_by_id", "/explain"})
"""Endpoints that need loaded champions; 503 with the reason until there are some."""
JSON_TYPES = frozenset({"application/json", ""})
_LIST = frozenset(
    {
        "asof",
        "account_manager_id",
        "segment",
        "rfm_segment",
        "min_probability",
        "limit",
        "offset",
        "format",
        "sort",
    }
)
QUERY_PARAMETERS: dict[str, frozenset[str]] = {
    "/at_risk": _LIST,
    "/win_back": _LIST,
    "/scorecards": frozenset({"period", "team", "manager", "format"}),
    "/models": frozenset(),
    "/customers/{customer_id}": frozenset({"asof"}),
    "/readyz": frozenset(),
    "/livez": frozenset(),
    "/healthz": frozenset(),
}
"""The query parameters each GET endpoint knows; any other is refused (400), not ignored."""
CUSTOMER_PREFIX = "/customers/"
CUSTOMER_PATH = "/customers/{customer_id}"
MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects a request body may have (a record is 3 deep)."""
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_OPEN = np.frombuffer(b"[{", dtype=np.uint8)
_CLOSE = np.frombuffer(b"]}", dtype=np.uint8)
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
GENERIC_503 = "the service could not answer this request; the server log has the details"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _authorized(scope: Scope, api_key: str) -> bool:
    given = _header(scope, b"x-api-key")
    if given is None:
        auth = _header(scope, b"authorization") or ""
        scheme, _, token = auth.partition(" ")
        given = token.strip() if scheme.lower() == "bearer" else None
    return given is not None and hmac.compare_digest(given.encode(), api_key.encode())


def _unknown_parameters(scope: Scope, path: str) -> list[str]:
    known = QUERY_PARAMETERS.get(CUSTOMER_PATH if path.startswith(CUSTOMER_PREFIX) else path)
    if known is None:
        return []
    names = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return sorted(n for n in names if n not in known and n != "lang")  # lang: every GET


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (strings ignored; vectorised)."""
    bare = np.frombuffer(_STRING.sub(b'""', body), dtype=np.uint8)
    steps = np.isin(bare, _OPEN).astype(np.int32) - np.isin(bare, _CLOSE).astype(np.int32)
    return int(np.cumsum(steps).max(initial=0))


class BodyTimeout(Exception):
    """The request body did not arrive in time."""


def _deadline(receive: Receive, seconds: float) -> Receive:
    """A receive callable that raises :class:`BodyTimeout` when the body is not complete
    ``seconds`` after it was made, however the sender paces its chunks; once the body is in, it
    is ``receive`` itself (waiting for a disconnect has no deadline)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    done = False

    async def timed() -> Message:
        nonlocal done
        if done:
            return await receive()
        try:
            message = await asyncio.wait_for(receive(), max(end - loop.time(), 0.0))
        except TimeoutError:
            raise BodyTimeout from None
        done = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    return timed


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


DISCARD_FACTOR = 2
"""A refused body is read and dropped up to this many times the body limit, so a client still
sending it reads the JSON reason; past that the connection is closed on it."""


async def _discard(receive: Receive, limit: int) -> None:
    """Read and drop the request body, up to ``limit`` bytes, before a refusal is sent, so a
    client still sending it reads the JSON reason instead of a broken pipe."""
    size = 0
    while size <= limit:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive callable that yields the buffered body once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _normalised(status: int, body: bytes, content_type: str, scope: Scope) -> tuple[int, dict]:
    """Any error response below as (status, the one error body); 5xx becomes 503."""
    parsed: Any = None
    if "json" in content_type:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
    if isinstance(parsed, list) and len(parsed) == 1 and isinstance(parsed[0], dict):
        parsed = parsed[0]  # BentoML wraps some 4xx bodies in a list
    if status == 404 and not isinstance(parsed, dict):
        parsed = {"error": f"no such endpoint: {scope['method']} {scope['path']}"}
    elif status == 405 and not isinstance(parsed, dict):
        parsed = {"error": f"method not allowed: {scope['method']} {scope['path']}"}
    if not isinstance(parsed, dict):
        text = body.decode("utf-8", "replace").strip()[:500]
        parsed = {"error": text or f"HTTP {status}"}
    error = parsed.get("error")
    if not isinstance(error, str):
        error = str(parsed.get("detail") or error or f"HTTP {status}")
    detail = parsed.get("detail")
    problems = [d for d in detail if isinstance(d, dict)] if isinstance(detail, list) else []
    if status >= 500 and status != 503:
        status, error, problems = 503, GENERIC_503, []
    clean = [
        {
            "loc": [x if isinstance(x, int) else str(x) for x in p.get("loc", [])],
            "msg": scrub(str(p.get("msg", ""))),
            "type": str(p.get("type", "value_error")),
        }
        for p in problems
    ]
    return status, {**error_body(scrub(error)), "detail": clean}


def _respond(scope: Scope, send: Send, request_id: str) -> Send:
    """Add ``X-Request-ID`` to every response; give every error response the one error shape
    (with the request id), 503 for server-side trouble, and log it."""
    held: Message | None = None
    chunks: list[bytes] = []
    rid = request_id.encode("latin-1")

    async def wrapped(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start":
            headers = [
                (k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"
            ]
            message = {**message, "headers": [*headers, (b"x-request-id", rid)]}
            if message["status"] >= 400:
                held = message
                return
            await send(message)
            return
        if held is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        content_type = next(
            (v.decode("latin-1") for k, v in held["headers"] if k.lower() == b"content-type"), ""
        )
        raw = b"".join(chunks)
        status, body = _normalised(held["status"], raw, content_type, scope)
        log.warning(
            "request_id=%s %s %s -> %d: %s%s",
            request_id,
            scope["method"],
            scope["path"],
            status,
            body["error"],
            "" if raw.startswith(b'{"error"') else f" (answered as: {raw[:300]!r})",
        )
        encoded = json.dumps(body, ensure_ascii=False).encode("utf-8")
        keep = [
            (k, v)
            for k, v in held["headers"]
            if k.lower() not in (b"content-length", b"content-type")
        ]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    *keep,
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(encoded)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": encoded})

    return wrapped


class RequestGuard:
    """ASGI middleware; ``state`` returns the running service (:func:`serving.service.current_service`)."""

    def __init__(self, app: ASGIApp, state: Callable[[], ServiceState]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id") or ""
        request_id = given if REQUEST_ID_PATTERN.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        lang_token = REQUEST_LANG.set(request_lang(scope))
        send = _respond(scope, send, request_id)
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            response, receive = await self._check(scope, receive)
            if response is not None:
                await response(scope, receive, tracking)
            else:
                await self.app(scope, receive, tracking)
        except Exception:
            log.exception("request_id=%s %s %s failed", request_id, scope["method"], scope["path"])
            if not started:
                await error_response(503, GENERIC_503)(scope, receive, tracking)
        finally:
            REQUEST_ID.reset(token)
            REQUEST_LANG.reset(lang_token)

    async def _check(self, scope: Scope, receive: Receive) -> tuple[JSONResponse | None, Receive]:
        path = scope["path"].rstrip("/") or "/"
        try:
            svc = self.state()
        except Exception:  # no service instance yet: the server is still starting
            return error_response(503, "the service is starting"), receive
        if path not in HEALTH_PATHS and svc.api_key and not _authorized(scope, svc.api_key):
            # before the query is looked at: without the key a caller learns nothing of the API
            return error_response(401, "missing or wrong API key (header X-API-Key)"), receive
        unknown = _unknown_parameters(scope, path)
        if unknown and scope["method"] in ("GET", "HEAD"):
            problems = [
                Problem(("query", n), "unknown query parameter", "extra_forbidden") for n in unknown
            ]
            return error_response(400, "invalid query parameters", problems), receive
        if path in HEALTH_PATHS:
            if scope["method"] not in ("GET", "HEAD"):
                return None, receive  # the router answers 405
            return (readiness(svc) if path == "/readyz" else None), receive
        if scope["method"] != "POST":
            return None, receive
        return await self._check_post(scope, receive, path, svc)

    async def _check_post(
        self, scope: Scope, receive: Receive, path: str, svc: ServiceState
    ) -> tuple[JSONResponse | None, Receive]:
        cfg = svc.config
        try:
            return await self._check_body(scope, _deadline(receive, cfg.body_timeout_s), path, svc)
        except BodyTimeout:
            return error_response(
                408, f"the request body did not arrive within {cfg.body_timeout_s:g} s"
            ), receive

    async def _check_body(
        self, scope: Scope, receive: Receive, path: str, svc: ServiceState
    ) -> tuple[JSONResponse | None, Receive]:
        cfg = svc.config
        media = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if media not in JSON_TYPES:
            await _discard(receive, DISCARD_FACTOR * cfg.max_body_bytes)
            return error_response(
                415, f"content type {media!r} is not accepted; send application/json"
            ), receive
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cfg.max_body_bytes:
            await _discard(receive, DISCARD_FACTOR * cfg.max_body_bytes)
            return self._too_large(cfg), receive
        body = await _read_body(receive, cfg.max_body_bytes)
        if body is None:
            await _discard(receive, DISCARD_FACTOR * cfg.max_body_bytes)
            return self._too_large(cfg), receive
        replay = _replay(body, receive)
        # a body cannot nest deeper than it has brackets: most bodies need no closer look
        openers = body.count(b"[") + body.count(b"{")
        depth = json_depth(body) if openers > MAX_JSON_DEPTH else openers
        if depth > MAX_JSON_DEPTH:
            return error_response(
                400,
                f"the JSON body nests {depth} levels deep; at most {MAX_JSON_DEPTH} are allowed",
                [Problem(("body",), "nested too deeply", "json_too_deep")],
            ), replay
        if path not in MODEL_PATHS:
            return None, replay
        champions = svc.models.current
        if champions is None:
            return error_response(503, f"not ready: {svc.models.problem}"), replay
        try:
            parsed = from_json(body) if body else None
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None, replay  # the schema validation reports where the JSON breaks
        problems = check_body(parsed, champions, cfg.max_batch_size)
        if problems:
            n = len(problems)
            return error_response(
                400, f"{n} problem{'s' if n > 1 else ''} with the request", problems
            ), replay
        return None, replay

    @staticmethod
    def _too_large(cfg: ServingConfig) -> JSONResponse:
        return error_response(
            413, f"request body is larger than the limit of {cfg.max_body_bytes:,} bytes"
        )


def readiness(svc: ServiceState) -> JSONResponse:
    """``/readyz``: 200 when champions are loaded and the store reads, else 503 listing why;
    a refused champion move (mismatched pair) is named either way."""
    problems: list[Problem] = []
    warnings: list[str] = []
    if svc.models.current is None:
        problems.append(Problem(("models",), str(svc.models.problem), "not_ready"))
    elif svc.models.problem:
        warnings.append(svc.models.problem)
    store_problem = svc.store.problem()
    if store_problem:
        problems.append(Problem(("store",), store_problem, "store_unavailable"))
    if problems:
        reasons = "; ".join(p.msg for p in problems)
        return error_response(503, f"not ready: {reasons}", problems)
    return JSONResponse({"status": "ready", "warnings": warnings, "request_id": REQUEST_ID.get()})

"""The service's front door (an ASGI middleware): API key, body size, media type, readiness and
the model-aware checks of request bodies, all before BentoML parses or batches anything.

BentoML itself has no authentication and no request-size limit; refusing here also keeps a bad
request out of an adaptive batch, where it would fail the other requests batched with it.
Every refusal is a JSON body ``{"error": ..., "detail": [{"loc", "msg", "type"}]}``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

from starlette.responses import JSONResponse

from serving.champions import ModelHolder
from serving.config import ServingConfig
from serving.errors import error_response
from serving.validation import check_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEALTH_PATHS = frozenset({"/livez", "/healthz", "/readyz"})
"""Probes answer without the API key (the only endpoints that do)."""
MODEL_PATHS = frozenset({"/predict", "/predict_by_id", "/explain"})
"""Endpoints that need loaded champions; 503 with the reason until there are some."""
JSON_TYPES = frozenset({"application/json", ""})


class ServiceState(Protocol):
    """What the guard needs from the running service instance."""

    config: ServingConfig
    models: ModelHolder
    api_key: str | None


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


def _json_errors(scope: Scope, send: Send) -> Send:
    """Turn the router's plain-text 404 and 405 into the JSON error body every refusal has."""
    replaced = False

    async def wrapped(message: Message) -> None:
        nonlocal replaced
        if message["type"] == "http.response.start" and message["status"] in (404, 405):
            headers = dict(message.get("headers", ()))
            if headers.get(b"content-type", b"").startswith(b"text/plain"):
                replaced = True
                reason = "no such endpoint" if message["status"] == 404 else "method not allowed"
                body = error_response(
                    message["status"], f"{reason}: {scope['method']} {scope['path']}"
                )
                extra = [(k, v) for k, v in message.get("headers", ()) if k == b"allow"]
                await send(
                    {
                        "type": "http.response.start",
                        "status": message["status"],
                        "headers": body.raw_headers + extra,
                    }
                )
                await send({"type": "http.response.body", "body": body.body})
                return
        if replaced:  # the original plain-text body: already answered
            return
        await send(message)

    return wrapped


class RequestGuard:
    """ASGI middleware; ``state`` returns the running service (``bentoml.get_current_service``)."""

    def __init__(self, app: ASGIApp, state: Callable[[], ServiceState]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response, receive = await self._check(scope, receive)
        if response is not None:
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, _json_errors(scope, send))

    async def _check(self, scope: Scope, receive: Receive) -> tuple[JSONResponse | None, Receive]:
        path = scope["path"].rstrip("/") or "/"
        try:
            svc = self.state()
        except Exception:  # no service instance yet: the server is still starting
            return error_response(503, "the service is starting"), receive
        if path in HEALTH_PATHS:
            if path == "/readyz" and svc.models.current is None:
                return error_response(503, f"not ready: {svc.models.problem}"), receive
            return None, receive
        if svc.api_key and not _authorized(scope, svc.api_key):
            return error_response(401, "missing or wrong API key (header X-API-Key)"), receive
        if scope["method"] != "POST":
            return None, receive
        return await self._check_post(scope, receive, path, svc)

    async def _check_post(
        self, scope: Scope, receive: Receive, path: str, svc: ServiceState
    ) -> tuple[JSONResponse | None, Receive]:
        cfg = svc.config
        media = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if media not in JSON_TYPES:
            return error_response(
                415, f"content type {media!r} is not accepted; send application/json"
            ), receive
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cfg.max_body_bytes:
            return self._too_large(cfg), receive
        body = await _read_body(receive, cfg.max_body_bytes)
        if body is None:
            return self._too_large(cfg), receive
        replay = _replay(body, receive)
        if path not in MODEL_PATHS:
            return None, replay
        champions = svc.models.current
        if champions is None:
            return error_response(503, f"not ready: {svc.models.problem}"), replay
        try:
            parsed = json.loads(body) if body else None
        except (ValueError, UnicodeDecodeError):
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

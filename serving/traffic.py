"""BentoML's request metrics with bounded labels: the ``endpoint`` label is the matched route's
template (``/ui/customers/{customer_id}``), never the raw path.

BentoML labels ``bentoml_service_request_*`` with the request path, so every customer id, and every
random path a scanner sends, became a new series (3,000 random paths made ``/metrics`` 12 MB).
Here the label is read from what the router matched once the answer is out: a matched route gives
its template, anything else that was answered gives ``other``, and requests refused before routing
(401 without a key, 405, 404 on no route) create no series at all. ``install`` puts this class in
place of BentoML's before the service's app is built.
"""

from __future__ import annotations

from timeit import default_timer
from typing import Any

from bentoml._internal.context import server_context
from bentoml._internal.server.http import instruments
from starlette.types import Message, Receive, Scope, Send

OTHER = "other"
"""The one label value of every answered request no route matched."""
REFUSED = frozenset({401, 405})
"""Statuses the request guard or the router sends before any route runs."""
ALL = "all"
"""The endpoint label of the in-progress gauge, set before the route is known."""


def route_label(scope: Scope, path: str, status: int) -> str | None:
    """The ``endpoint`` label of an answered request, or None when it must not count.

    ``scope`` is the request's scope after the app answered (routers record what matched in it),
    ``path`` the request path before routing.
    """
    if status in REFUSED:
        return None
    route = scope.get("route")  # FastAPI records the route it matched
    template = getattr(route, "path_format", None)
    if isinstance(template, str):
        return (scope.get("root_path") or "").rstrip("/") + template
    if scope.get("endpoint") is None:  # no route matched: the router's 404 or a redirect
        return None if status == 404 else OTHER
    params: dict[str, Any] = scope.get("path_params") or {}
    if not params:  # a route without parameters, a mounted app (static files) or its 404
        return None if status == 404 else path
    label = path
    for name, value in params.items():
        text = str(value)
        head, found, tail = label.rpartition(text)
        if found:
            label = f"{head}{{{name}}}{tail}"
    return label


class RouteTrafficMetrics(instruments.RunnerTrafficMetricsMiddleware):
    """BentoML's traffic metrics middleware, labelled by route template (see the module)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/metrics":
            await super().__call__(scope, receive, send)
            return
        if not self._is_setup:
            self._setup()
        names = {
            "service_name": server_context.bento_name,
            "service_version": server_context.bento_version,
            "runner_name": server_context.service_name,
        }
        path = scope["path"]
        if not path.startswith(tuple(self.skip_paths)):
            self.metrics_last_request_timestamp.labels(**names).set_to_current_time()
        start = default_timer()
        status = 0

        async def noting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            with self.metrics_request_in_progress.labels(endpoint=ALL, **names).track_inprogress():
                await self.app(scope, receive, noting)
        finally:
            label = route_label(scope, path, status) if status else None
            if label is not None:
                labels = {"endpoint": label, "http_response_code": status, **names}
                self.metrics_request_total.labels(**labels).inc()
                self.metrics_request_duration.labels(**labels).observe(
                    max(default_timer() - start, 0)
                )


def install() -> None:
    """Make BentoML build :class:`RouteTrafficMetrics` where it would build its own middleware
    (it looks the class up when it builds the service's app, after this module is imported)."""
    instruments.RunnerTrafficMetricsMiddleware = RouteTrafficMetrics  # type: ignore[misc]

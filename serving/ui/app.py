"""The retention workspace (a Starlette app the service serves under ``/ui/``): its URLs, the
gate every page passes (who asks, in which language, CSRF token, refusals and store trouble as
pages) and :class:`WorkspaceGate`, which puts it in front of the API.

One module per page: :mod:`~serving.ui.lists` (``/ui/``, ``/ui/win-back``, ``/ui/export.csv``),
:mod:`~serving.ui.customer` (``/ui/customers/{id}``, its contacts, ``/ui/contacts.csv``),
:mod:`~serving.ui.managers` (``/ui/managers``, ``/ui/managers/{id}``),
:mod:`~serving.ui.campaign` (``/ui/campaign``, ``/ui/campaign.csv``),
:mod:`~serving.ui.monitoring` (``/ui/monitoring``) and :mod:`~serving.ui.signin`
(``/ui/login``, ``/ui/logout``); what they share is :mod:`~serving.ui.context`.

Who may see what is :mod:`scoring.store.users`'s: with no API key and no users, a loopback client
of a loopback service gets lead rights (development, as the API without a key); otherwise a
session (or a trusted proxy's header, when ``CHURN_UI_TRUSTED_USER_HEADER`` names one). A
manager sees only their own book. Sessions authorise ``/ui/`` only; the JSON API keeps its key.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from scoring.store.predictions import StoreError, StoreUnavailable
from scoring.store.users import Principal, UserStore
from serving.launch import is_loopback
from serving.state import ServiceState
from serving.ui import monitoring
from serving.ui.campaign import CampaignPage
from serving.ui.context import (
    CSRF_COOKIE,
    HERE,
    LANG_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    Context,
    PageError,
    Site,
    client_host,
    in_thread,
    request_lang,
)
from serving.ui.customer import CustomerPage
from serving.ui.lists import Lists
from serving.ui.managers import ManagersPage
from serving.ui.signin import SignIn

log = logging.getLogger(__name__)

TRUSTED_HEADER_ENV = "CHURN_UI_TRUSTED_USER_HEADER"
"""Names a header a trusted reverse proxy sets to the signed-in user's name (off when unset)."""
UNAVAILABLE_PAGE = (
    "<!doctype html><title>Unavailable</title><p>The workspace could not answer this request; "
    "the server log has the details.</p>"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Page = Callable[[Context], Response]


class Workspace:
    """The pages behind the gate: who asks, in which language, and what a refusal looks like."""

    def __init__(self, service: Callable[[], ServiceState]) -> None:
        self.service = service
        self.site = Site(service)
        self.lists = Lists()
        self.customer = CustomerPage()
        self.managers = ManagersPage(self.site)
        self.campaign = CampaignPage(self.site)
        self.signin = SignIn(self.site, service)
        self.trusted_header = (os.environ.get(TRUSTED_HEADER_ENV) or "").strip().lower() or None

    def app(self) -> Starlette:
        """The workspace as an ASGI app with its paths at the root (mount it at ``/ui``)."""
        page = self.page
        return Starlette(
            routes=[
                Route("/", page(self.lists.at_risk)),
                Route("/win-back", page(self.lists.win_back)),
                Route("/export.csv", page(self.lists.export)),
                Route(
                    "/customers/{customer_id:path}/contacts",
                    page(self.customer.log_contact),
                    methods=["POST"],
                ),
                Route("/customers/{customer_id:path}", page(self.customer.customer)),
                Route("/contacts.csv", page(self.customer.export_contacts)),
                Route("/managers", page(self.managers.managers)),
                Route(
                    "/managers/{manager_id:path}/plans",
                    page(self.managers.submit_plan),
                    methods=["POST"],
                ),
                Route("/managers/{manager_id:path}", page(self.managers.manager)),
                Route("/campaign", page(self.campaign.campaign)),
                Route("/campaign.csv", page(self.campaign.campaign_csv)),
                Route("/monitoring", page(monitoring.monitoring)),
                Route("/login", self.signin.login, methods=["GET", "POST"]),
                Route("/logout", self.signin.logout, methods=["POST"]),
                Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
            ]
        )

    def principal(self, request: Request, svc: ServiceState, users: UserStore) -> Principal | None:
        """Who is asking (None: nobody signed in)."""
        if self.trusted_header:
            named = request.headers.get(self.trusted_header)
            user = users.user(named) if named else None
            if user is not None:
                csrf = request.cookies.get(CSRF_COOKIE) or ""
                return Principal(user.name, user.role, user.manager_id, csrf, "proxy")
        session = users.session(request.cookies.get(SESSION_COOKIE))
        if session is not None:
            return session
        if self.open_mode(request, svc, users):
            csrf = request.cookies.get(CSRF_COOKIE) or ""
            return Principal("local", "lead", None, csrf, "open")
        return None

    def open_mode(self, request: Request, svc: ServiceState, users: UserStore) -> bool:
        """No API key, no users, a loopback service and a loopback client: development mode."""
        return (
            not svc.api_key
            and is_loopback(svc.config.host)
            and is_loopback(client_host(request))
            and not users.any_users()
        )

    def page(self, handler: Page) -> Callable[[Request], Awaitable[Response]]:
        """A signed-in page: who asks, in which language; refusals and store trouble as pages
        (503 with the reason, never a traceback)."""

        async def endpoint(request: Request) -> Response:
            form = None
            if request.method == "POST":
                form = {k: str(v) for k, v in (await request.form()).items()}
            return await in_thread(self._serve, request, handler, form)

        return endpoint

    def _serve(
        self,
        request: Request,
        handler: Page,
        form: dict[str, str] | None = None,
    ) -> Response:
        started = time.perf_counter()
        principal: Principal | None = None
        lang, chosen = request_lang(request)
        new_csrf = None
        error_page = self.site.error_page
        try:
            svc = self.service()
            users = self.site.users(svc)
            principal = self.principal(request, svc, users)
            if principal is not None and principal.mode != "session" and not principal.csrf:
                new_csrf = secrets.token_urlsafe(32)  # a double-submit token for the forms
                principal = replace(principal, csrf=new_csrf)
            if principal is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response: Response = RedirectResponse(
                    f"{PREFIX}/login?{urlencode({'next': target})}", status_code=303
                )
            else:
                ctx = Context(request, svc, users, principal, lang, self.site, form)
                response = handler(ctx)
        except PageError as exc:
            response = error_page(request, exc, principal)
        except StoreUnavailable as exc:
            log.warning("workspace: store unavailable: %s", exc)
            response = error_page(request, PageError(503, "unavailable", exc.public), principal)
        except StoreError as exc:
            response = error_page(request, PageError(404, "not_found", exc.public), principal)
        except Exception:
            log.exception("workspace: %s %s failed", request.method, request.url.path)
            message = "the workspace could not answer this request; the server log has the details"
            response = error_page(request, PageError(503, "unavailable", message), principal)
        if chosen:
            response.set_cookie(LANG_COOKIE, lang, path=PREFIX, samesite="lax", max_age=31536000)
        if new_csrf is not None:
            response.set_cookie(
                CSRF_COOKIE, new_csrf, path=PREFIX, httponly=True, samesite="strict"
            )
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1e3:.1f}"
        return response


def build_workspace(service: Callable[[], ServiceState]) -> Starlette:
    """The workspace app with its paths at the root, to mount at ``/ui`` (``service`` returns
    the running service instance: config, models, store, api_key)."""
    return Workspace(service).app()


class WorkspaceGate:
    """ASGI middleware that answers ``/ui`` and everything under it with the workspace and
    passes every other request on. Added before the API's request guard, it keeps the API's
    key, JSON-only and error-shape rules off the browser pages, which have their own."""

    def __init__(self, app: ASGIApp, state: Callable[[], ServiceState]) -> None:
        self.app = app
        self.workspace = Starlette(
            routes=[
                Route(PREFIX, lambda _: RedirectResponse(f"{PREFIX}/", status_code=307)),
                Mount(PREFIX, build_workspace(state)),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(f"{PREFIX}/")):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.workspace(scope, receive, tracking)
        except Exception:
            log.exception("workspace: %s %s failed", scope.get("method"), path)
            if not started:
                await HTMLResponse(UNAVAILABLE_PAGE, status_code=503)(scope, receive, send)

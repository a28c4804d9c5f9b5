"""Sign-in and sign-out, ``/ui/login`` and ``/ui/logout``: a password form that opens a
session (CSRF-protected by a double-submit cookie, audited), and the post that closes it."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from core.lang import catalogue
from scoring.store.users import tokens_match
from serving.state import ServiceState
from serving.ui.context import (
    CSRF_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    PageError,
    Site,
    client_host,
    in_thread,
    request_lang,
    same_origin,
)

t = catalogue("workspace").t

log = logging.getLogger(__name__)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of the workspace, never another site."""
    if target and target.startswith(f"{PREFIX}/") and not target.startswith("//"):
        return target
    return f"{PREFIX}/"


class SignIn:
    """The sign-in form and sign-out; open to everyone (they are how one gets a session)."""

    def __init__(self, site: Site, service: Callable[[], ServiceState]) -> None:
        self.site = site
        self.service = service

    async def login(self, request: Request) -> Response:
        """``GET``: the form; ``POST``: check the password and open a session."""
        form = await request.form() if request.method == "POST" else None
        fields = {k: str(v) for k, v in form.items()} if form is not None else {}
        return await in_thread(self._login, request, fields)

    def _login(self, request: Request, form: dict[str, str]) -> Response:
        lang, _ = request_lang(request)
        try:
            svc = self.service()
            users = self.site.users(svc)
        except Exception:
            log.exception("workspace: sign-in page failed")
            message = "the workspace could not answer this request; the server log has the details"
            return self.site.error_page(request, PageError(503, "unavailable", message), None)
        next_url = safe_next(form.get("next") or request.query_params.get("next"))
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        values: dict[str, Any] = {
            "next": next_url,
            "csrf": csrf,
            "principal": None,
            "error": None,
            "name": "",
        }
        if request.method == "GET":
            return self.site.render("login.html", lang, cookies={CSRF_COOKIE: csrf}, **values)
        if not same_origin(request) or not tokens_match(
            form.get("csrf"), request.cookies.get(CSRF_COOKIE)
        ):
            users.audit(
                "sign_in", "csrf", user=form.get("name", "")[:100], client=client_host(request)
            )
            return self.site.error_page(request, PageError(403, "forbidden", t("csrf", lang)), None)
        name = form.get("name", "")[:100]
        user = users.check_password(name, form.get("password", "")) if name else None
        if user is None:
            users.audit("sign_in", "failed", user=name, client=client_host(request))
            fresh = secrets.token_urlsafe(32)
            return self.site.render(
                "login.html",
                lang,
                status=401,
                cookies={CSRF_COOKIE: fresh},
                **{**values, "csrf": fresh, "error": t("bad_sign_in", lang), "name": name},
            )
        token, _ = users.open_session(user)
        users.audit("sign_in", "ok", user=user.name, role=user.role, client=client_host(request))
        response = RedirectResponse(next_url, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        response.delete_cookie(CSRF_COOKIE, path=PREFIX)
        return response

    async def logout(self, request: Request) -> Response:
        """Close the session (its CSRF token required) and go to the sign-in form."""
        form = await request.form()
        return await in_thread(self._logout, request, {k: str(v) for k, v in form.items()})

    def _logout(self, request: Request, form: dict[str, str]) -> Response:
        lang, _ = request_lang(request)
        svc = self.service()
        users = self.site.users(svc)
        token = request.cookies.get(SESSION_COOKIE)
        principal = users.session(token)
        if principal is None:
            return RedirectResponse(f"{PREFIX}/login", status_code=303)
        if not same_origin(request) or not tokens_match(form.get("csrf"), principal.csrf):
            users.audit("sign_out", "csrf", user=principal.name, client=client_host(request))
            forbidden = PageError(403, "forbidden", t("csrf", lang))
            return self.site.error_page(request, forbidden, principal)
        users.close_session(token)
        users.audit(
            "sign_out", "ok", user=principal.name, role=principal.role, client=client_host(request)
        )
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

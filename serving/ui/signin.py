"""Sign-in and sign-out, ``/ui/login`` and ``/ui/logout``: a password form that opens a
session (CSRF-protected by a double-submit cookie, throttled, audited), and the post that
closes it.

Guessing is slowed twice: failed sign-ins are counted in the store per account and address
(:mod:`scoring.store.throttle`), and a key that must wait is answered 429 with ``Retry-After``
before any password is checked; the checks themselves run in a few low-priority threads off the
event loop (:class:`PasswordChecks`), so a flood of sign-ins cannot starve the API served by the
same worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from core.lang import catalogue
from scoring.store.throttle import SignInThrottle, Wait
from scoring.store.users import User, UserStore, tokens_match
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

CHECK_NICE = 19
"""Nice value of the password-check threads: they get the CPU the API's threads (0) leave."""
T = TypeVar("T")
MAX_REMEMBERED = 10_000
"""Throttled keys a worker remembers having audited (then it forgets them all)."""


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of the workspace, never another site."""
    if target and target.startswith(f"{PREFIX}/") and not target.startswith("//"):
        return target
    return f"{PREFIX}/"


@dataclass(frozen=True)
class Attempt:
    """A sign-in post that passed the CSRF and throttling checks, waiting for its password
    check."""

    users: UserStore
    throttle: SignInThrottle
    name: str
    client: str
    next_url: str
    values: dict[str, Any]


def _low_priority() -> None:
    """Run the calling thread, and the threads argon2 starts from it, at a low CPU priority
    (Linux keeps a nice value per thread), so the API's threads come first."""
    with contextlib.suppress(AttributeError, OSError):  # elsewhere: the bound alone
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHECK_NICE)


class PasswordChecks:
    """Password checks (argon2: tens of milliseconds of CPU each) in ``concurrent`` threads of
    their own at a low CPU priority, off the event loop, with ``waiting`` more queued, so a
    flood of sign-ins cannot take the worker's threads and CPU from the API; past that a
    sign-in is answered busy."""

    def __init__(self, concurrent: int, waiting: int) -> None:
        self.concurrent = concurrent
        self.waiting = waiting
        self.pending = 0
        self._pool = ThreadPoolExecutor(
            concurrent, thread_name_prefix="password-check", initializer=_low_priority
        )

    async def run(self, check: Callable[[], T]) -> tuple[bool, T | None]:
        """Whether ``check`` ran (in a check thread) and its result; (False, None) when too many
        checks are pending (only the event loop's thread counts ``pending``)."""
        if self.pending >= self.concurrent + self.waiting:
            return False, None
        self.pending += 1
        try:
            return True, await asyncio.get_running_loop().run_in_executor(self._pool, check)
        finally:
            self.pending -= 1


class SignIn:
    """The sign-in form and sign-out; open to everyone (they are how one gets a session)."""

    def __init__(self, site: Site, service: Callable[[], ServiceState]) -> None:
        self.site = site
        self.service = service
        self._lock = threading.Lock()
        self._throttles: dict[int, SignInThrottle] = {}
        self._audited: dict[str, datetime | None] = {}
        self.checks: PasswordChecks | None = None

    def throttle(self, svc: ServiceState) -> SignInThrottle:
        """The failed sign-ins of the service's store."""
        with self._lock:
            found = self._throttles.get(id(svc.store))
            if found is None:
                found = SignInThrottle(svc.store.engine, svc.config.signin)
                self._throttles[id(svc.store)] = found
            return found

    async def login(self, request: Request) -> Response:
        """``GET``: the form; ``POST``: check the password (throttled) and open a session."""
        form = await request.form() if request.method == "POST" else None
        fields = {k: str(v) for k, v in form.items()} if form is not None else {}
        prepared = await run_in_threadpool(self._prepare, request, fields)
        if isinstance(prepared, Response):
            return prepared
        if self.checks is None:
            cfg = prepared.throttle.config
            self.checks = PasswordChecks(cfg.concurrent_checks, cfg.waiting_checks)
        password = fields.get("password", "")

        def check() -> User | Wait | None:  # throttled meanwhile: no need to hash
            wait = prepared.throttle.wait(prepared.name, prepared.client)
            if wait.seconds > 0:
                return wait
            return prepared.users.check_password(prepared.name, password)

        ran, found = await self.checks.run(check)
        return await in_thread(self._answer, request, prepared, found if ran else "busy")

    def _prepare(self, request: Request, form: dict[str, str]) -> Response | Attempt:
        """The form (``GET``), a refusal (bad CSRF token, a throttled key) or the attempt to
        check."""
        lang, _ = request_lang(request)
        try:
            svc = self.service()
            users = self.site.users(svc)
            throttle = self.throttle(svc)
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
        name, client = form.get("name", "")[:100], client_host(request)
        if not same_origin(request) or not tokens_match(
            form.get("csrf"), request.cookies.get(CSRF_COOKIE)
        ):
            users.audit("sign_in", "csrf", user=name, client=client)
            return self.site.error_page(request, PageError(403, "forbidden", t("csrf", lang)), None)
        values["name"] = name
        if not name:
            return self._refused(request, values, users, throttle.failed(name, client))
        wait = throttle.wait(name, client)
        if wait.seconds > 0:
            return self._throttled(request, values, users, wait)
        return Attempt(users, throttle, name, client, next_url, values)

    def _throttled(
        self, request: Request, values: dict[str, Any], users: UserStore, wait: Wait
    ) -> Response:
        """429 for a key that must wait, audited once per key and wait in this worker (not
        once per refused post of a flood)."""
        if self._first_refusal(wait):
            users.audit(
                "sign_in",
                "locked" if wait.locked else "throttled",
                user=values["name"],
                target=f"{wait.key.split(':')[0]}: retry in {math.ceil(wait.seconds)} s",
                client=client_host(request),
            )
        return self._wait_page(request, values, wait)

    def _first_refusal(self, wait: Wait) -> bool:
        """Whether this worker has not yet refused ``wait``'s key for this wait (the audit log
        gets one entry per key and wait, not one per refused post of a flood)."""
        with self._lock:
            if self._audited.get(wait.key) == wait.until:
                return False
            if len(self._audited) >= MAX_REMEMBERED:
                self._audited.clear()
            self._audited[wait.key] = wait.until
            return True

    def _wait_page(self, request: Request, values: dict[str, Any], wait: Wait) -> Response:
        """429: the sign-in form again with why and how long to wait (``Retry-After``)."""
        lang, _ = request_lang(request)
        seconds = max(1, math.ceil(wait.seconds))
        if wait.locked:
            error = t("sign_in_locked", lang, minutes=math.ceil(seconds / 60))
        elif wait.key:
            error = t("sign_in_wait", lang, seconds=seconds)
        else:
            error = t("sign_in_busy", lang)
        fresh = secrets.token_urlsafe(32)
        response = self.site.render(
            "login.html",
            lang,
            status=429,
            cookies={CSRF_COOKIE: fresh},
            **{**values, "csrf": fresh, "error": error},
        )
        response.headers["Retry-After"] = str(seconds)
        return response

    def _refused(
        self, request: Request, values: dict[str, Any], users: UserStore, earned: Wait
    ) -> Response:
        """401: the sign-in form again, the name kept (``Retry-After`` when the failure earned
        a wait)."""
        lang, _ = request_lang(request)
        target = f"{earned.key.split(':')[0]}: wait {earned.seconds:g} s" if earned.key else None
        users.audit(
            "sign_in", "failed", user=values["name"], target=target, client=client_host(request)
        )
        fresh = secrets.token_urlsafe(32)
        response = self.site.render(
            "login.html",
            lang,
            status=401,
            cookies={CSRF_COOKIE: fresh},
            **{**values, "csrf": fresh, "error": t("bad_sign_in", lang)},
        )
        if earned.seconds > 0:
            response.headers["Retry-After"] = str(max(1, math.ceil(earned.seconds)))
        return response

    def _answer(
        self, request: Request, attempt: Attempt, found: User | Wait | str | None
    ) -> Response:
        """After the password check: the session (303), a refusal (401), a key throttled while
        the check waited or too many checks pending (429)."""
        users, throttle = attempt.users, attempt.throttle
        if found == "busy":
            users.audit("sign_in", "busy", user=attempt.name, client=attempt.client)
            return self._wait_page(request, attempt.values, Wait(1.0))
        if isinstance(found, Wait):
            return self._throttled(request, attempt.values, users, found)
        if not isinstance(found, User):
            earned = throttle.failed(attempt.name, attempt.client)
            return self._refused(request, attempt.values, users, earned)
        user = found
        throttle.succeeded(user.name, attempt.client)
        token, _ = users.open_session(user)
        users.audit("sign_in", "ok", user=user.name, role=user.role, client=attempt.client)
        response = RedirectResponse(attempt.next_url, status_code=303)
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

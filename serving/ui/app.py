"""The retention workspace's pages (a Starlette app the service serves under ``/ui/``).

- ``/ui/`` and ``/ui/win-back``: the at-risk and win-back lists, filtered by account manager,
  segment, risk band and lifecycle, sortable and paged, rendered on the server; the default order
  and filters give ``GET /at_risk``'s (``GET /win_back``'s) customers in the API's order;
- ``/ui/export.csv``: the filtered list as the API's CSV (every row, not one page), audited;
- ``/ui/customers/{id}``: profile, lifecycle, score history, reasons with a SHAP waterfall, a
  timeline of recent purchases, contacts and complaints, contract end;
- ``/ui/login``, ``/ui/logout``: sign-in and sign-out (CSRF-protected, audited).

Who may see what is :mod:`serving.ui.auth`'s: with no API key and no users, a loopback client
of a loopback service gets lead rights (development, as the API without a key); otherwise a
session (or a trusted proxy's header, when ``CHURN_UI_TRUSTED_USER_HEADER`` names one). A
manager sees only their own book. Sessions authorise ``/ui/`` only; the JSON API keeps its key.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlencode

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from core.bundle import BIAS_COLUMN
from core.errors import ChurnError
from serving.batch.store import StoreError, StoreUnavailable
from serving.launch import is_loopback
from serving.lists import AT_RISK, LIST_LIFECYCLES, WIN_BACK, present
from serving.reasons import Lang
from serving.ui.auth import Principal, UserStore, tokens_match
from serving.ui.customer import Timelines, events, feature_label, top_reasons, waterfall
from serving.ui.i18n import LANGS, category, t
from serving.ui.queries import (
    SORT_COLUMNS,
    ListSelection,
    SortKey,
    choices,
    customer_history,
    features_row,
    list_rows,
    scoring_dates,
)

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
PREFIX = "/ui"
SESSION_COOKIE = "churn_session"
CSRF_COOKIE = "churn_csrf"
LANG_COOKIE = "churn_lang"
TRUSTED_HEADER_ENV = "CHURN_UI_TRUSTED_USER_HEADER"
"""Names a header a trusted reverse proxy sets to the signed-in user's name (off when unset)."""
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
LIST_PATHS = {AT_RISK: "/", WIN_BACK: "/win-back"}
LIFECYCLE_CHOICES = {AT_RISK: ("active", "lapsing"), WIN_BACK: ()}
MAX_FILTER = 200
UNAVAILABLE_PAGE = (
    "<!doctype html><title>Unavailable</title><p>The workspace could not answer this request; "
    "the server log has the details.</p>"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class PageError(Exception):
    """A refusal shown as a page: status, title key and message."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


@dataclass(frozen=True)
class Context:
    """One request as the pages see it."""

    request: Request
    svc: Any
    users: UserStore
    principal: Principal
    lang: Lang


def _lang(request: Request) -> tuple[Lang, bool]:
    """The page language and whether the request chose it (then the cookie remembers it)."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked, True  # type: ignore[return-value]  # checked against LANGS
    kept = request.cookies.get(LANG_COOKIE)
    return (kept if kept in LANGS else "en"), False  # type: ignore[return-value]  # as above


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of the workspace, never another site."""
    if target and target.startswith(f"{PREFIX}/") and not target.startswith("//"):
        return target
    return f"{PREFIX}/"


def _money(x: object) -> str:
    return "" if x is None or pd.isna(x) else f"{float(x):,.0f}"  # type: ignore[arg-type]


def _pct(x: object) -> str:
    return "" if x is None or pd.isna(x) else f"{float(x):.1%}"  # type: ignore[arg-type]


class Workspace:
    """The pages and their shared state (template environment, caches, user stores)."""

    def __init__(self, service: Callable[[], Any]) -> None:
        self.service = service
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(money=_money, pct=_pct, category=category, prefix=PREFIX)
        self.timelines = Timelines()
        self._lock = threading.Lock()
        self._users: dict[int, UserStore] = {}
        self._choices: dict[tuple[int, str], dict[str, list[str]]] = {}
        self.trusted_header = (os.environ.get(TRUSTED_HEADER_ENV) or "").strip().lower() or None

    # ---- plumbing -------------------------------------------------------------------------------

    def app(self) -> Starlette:
        """The workspace as an ASGI app with its paths at the root (mount it at ``/ui``)."""
        return Starlette(
            routes=[
                Route("/", self.page(self.at_risk)),
                Route("/win-back", self.page(self.win_back)),
                Route("/export.csv", self.page(self.export)),
                Route("/customers/{customer_id:path}", self.page(self.customer)),
                Route("/login", self.login, methods=["GET", "POST"]),
                Route("/logout", self.logout, methods=["POST"]),
                Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
            ]
        )

    def users(self, svc: Any) -> UserStore:
        with self._lock:
            found = self._users.get(id(svc.store))
            if found is None:
                found = self._users[id(svc.store)] = UserStore(svc.store.engine)
            return found

    def render(
        self,
        template_name: str,
        lang: Lang,
        /,
        status: int = 200,
        cookies: dict | None = None,
        **values: Any,
    ) -> HTMLResponse:
        template = self.env.get_template(template_name)
        body = template.render(lang=lang, t=lambda key, **kw: t(key, lang, **kw), **values)
        response = HTMLResponse(body, status_code=status)
        self._secure(response)
        for key, value in (cookies or {}).items():
            response.set_cookie(key, value, path=PREFIX, httponly=True, samesite="strict")
        return response

    @staticmethod
    def _secure(response: Response) -> None:
        response.headers["Content-Security-Policy"] = POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"

    def error_page(self, request: Request, exc: PageError, principal: Principal | None) -> Response:
        lang, _ = _lang(request)
        return self.render(
            "error.html",
            lang,
            status=exc.status,
            title=t(exc.title, lang),
            message=exc.message,
            principal=principal,
        )

    def principal(self, request: Request, svc: Any, users: UserStore) -> Principal | None:
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

    def open_mode(self, request: Request, svc: Any, users: UserStore) -> bool:
        """No API key, no users, a loopback service and a loopback client: development mode."""
        return (
            not svc.api_key
            and is_loopback(svc.config.host)
            and is_loopback(_client(request))
            and not users.any_users()
        )

    def page(
        self, handler: Callable[[Context], Response]
    ) -> Callable[[Request], Awaitable[Response]]:
        """A signed-in page: who asks, in which language; refusals and store trouble as pages
        (503 with the reason, never a traceback)."""

        async def endpoint(request: Request) -> Response:
            return await _in_thread(self._serve, request, handler)

        return endpoint

    def _serve(self, request: Request, handler: Callable[[Context], Response]) -> Response:
        started = time.perf_counter()
        principal: Principal | None = None
        lang, chosen = _lang(request)
        try:
            svc = self.service()
            users = self.users(svc)
            principal = self.principal(request, svc, users)
            if principal is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response: Response = RedirectResponse(
                    f"{PREFIX}/login?{urlencode({'next': target})}", status_code=303
                )
            else:
                response = handler(Context(request, svc, users, principal, lang))
        except PageError as exc:
            response = self.error_page(request, exc, principal)
        except StoreUnavailable as exc:
            log.warning("workspace: store unavailable: %s", exc)
            response = self.error_page(
                request, PageError(503, "unavailable", exc.public), principal
            )
        except StoreError as exc:
            response = self.error_page(request, PageError(404, "not_found", exc.public), principal)
        except Exception:
            log.exception("workspace: %s %s failed", request.method, request.url.path)
            message = "the workspace could not answer this request; the server log has the details"
            response = self.error_page(request, PageError(503, "unavailable", message), principal)
        if chosen:
            response.set_cookie(LANG_COOKIE, lang, path=PREFIX, samesite="lax", max_age=31536000)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1e3:.1f}"
        return response

    # ---- the lists ------------------------------------------------------------------------------

    def at_risk(self, ctx: Context) -> Response:
        return self.list_page(ctx, AT_RISK)

    def win_back(self, ctx: Context) -> Response:
        return self.list_page(ctx, WIN_BACK)

    def selection(self, ctx: Context, name: str, paged: bool) -> tuple[ListSelection, dict]:
        """The list selection the query string asks for; 400 naming the parameter when it is
        unusable, 403 when a manager asks for another manager's book."""
        q = ctx.request.query_params
        lang = ctx.lang
        known = {"manager", "segment", "band", "lifecycle", "sort", "dir", "page", "asof", "lang"}
        if not paged:
            known.add("list")
        unknown = sorted(set(q) - known)
        if unknown:
            raise PageError(400, "bad_request", f"unknown query parameter: {unknown[0]}")
        params = {k: v for k, v in q.items() if k in known and k != "lang" and v != ""}
        for key, value in params.items():
            if len(value) > MAX_FILTER:
                raise PageError(400, "bad_request", f"{key}: longer than {MAX_FILTER} characters")
        manager = params.get("manager")
        book = ctx.principal.book
        if book is not None:
            if manager is not None and manager != book:
                self.refuse(ctx, "filter", f"manager={manager}")
                raise PageError(403, "forbidden", t("other_book", lang, manager=book))
            manager = book
        band = params.get("band")
        if band is not None and band not in ("high", "medium", "low"):
            raise PageError(400, "bad_request", f"band: {band!r} is not high, medium or low")
        lifecycle = LIST_LIFECYCLES[name]
        wanted = params.get("lifecycle")
        if wanted is not None:
            if wanted not in LIFECYCLE_CHOICES[name]:
                allowed = ", ".join(LIFECYCLE_CHOICES[name]) or "none on this list"
                raise PageError(
                    400, "bad_request", f"lifecycle: {wanted!r} is not one of {allowed}"
                )
            lifecycle = (wanted,)
        sort = params.get("sort", "value_at_risk")
        if sort not in SORT_COLUMNS:
            raise PageError(
                400, "bad_request", f"sort: {sort!r} is not one of {', '.join(SORT_COLUMNS)}"
            )
        direction = params.get("dir", "desc")
        if direction not in ("asc", "desc"):
            raise PageError(400, "bad_request", f"dir: {direction!r} is not asc or desc")
        page = params.get("page", "1")
        if not page.isdigit() or not 1 <= int(page) <= 100_000:
            raise PageError(400, "bad_request", f"page: {page!r} is not a page number")
        asof = params.get("asof")
        if asof is not None and asof not in scoring_dates(ctx.svc.store):
            raise PageError(404, "not_found", f"asof: nothing was scored as of {asof!r}")
        size = ctx.svc.config.at_risk_page_size
        sel = ListSelection(
            lifecycle=lifecycle,
            asof=asof,
            account_manager_id=manager,
            segment=params.get("segment"),
            risk_band=band,
            sort=sort if sort in get_args(SortKey) else "value_at_risk",  # type: ignore[arg-type]
            descending=direction == "desc",
            limit=size if paged else None,
            offset=(int(page) - 1) * size if paged else 0,
        )
        return sel, params

    def refuse(self, ctx: Context, what: str, target: str) -> None:
        """Audit an attempt to reach another manager's customers."""
        p = ctx.principal
        ctx.users.audit(
            "denied", what, user=p.name, role=p.role, target=target, client=_client(ctx.request)
        )

    def choices(self, svc: Any, asof: str, scored_at: object) -> dict[str, list[str]]:
        key = (id(svc.store), f"{asof}@{scored_at}")
        with self._lock:
            found = self._choices.get(key)
        if found is None:
            found = choices(svc.store, asof)
            with self._lock:
                self._choices = {key: found}
        return found

    def list_page(self, ctx: Context, name: str) -> Response:
        sel, params = self.selection(ctx, name, paged=True)
        svc = ctx.svc
        run, total, rows = list_rows(svc.store, sel)
        shown = present(rows, run.horizon_days, svc.config.lists.reasons)
        h = f"_{run.horizon_days}d"
        records = [
            {
                "rank": r["rank"],
                "customer_id": r["customer_id"],
                "manager": r["account_manager_id"] or "",
                "segment": r["segment"] or "",
                "lifecycle": r["lifecycle_status"],
                "probability": r[f"churn_probability{h}"],
                "value": r[f"value_if_retained{h}"],
                "value_at_risk": r[f"expected_value_at_risk{h}"],
                "band": r["risk_band"],
                "days": None
                if pd.isna(r["days_since_last_purchase"])
                else r["days_since_last_purchase"],
                "reasons": [
                    r[f"reason_{i}"]
                    for i in range(1, svc.config.lists.reasons + 1)
                    if r.get(f"reason_{i}")
                ],
                "action": r["recommended_action"] or "",
            }
            for r in shown.to_dict("records")
        ]
        opts = self.choices(svc, run.asof, run.scored_at)
        base = f"{PREFIX}{LIST_PATHS[name]}" if name == WIN_BACK else f"{PREFIX}/"

        def link(**changes: object) -> str:
            merged = {**params, **{k: str(v) for k, v in changes.items() if v is not None}}
            merged = {k: v for k, v in merged.items() if k not in changes or changes[k] is not None}
            return f"{base}?{urlencode(merged)}" if merged else base

        page = sel.offset // (sel.limit or 1) + 1
        export = {**params, "list": name}
        export.pop("page", None)
        return self.render(
            "list.html",
            ctx.lang,
            principal=ctx.principal,
            list_name=name,
            run=run,
            total=total,
            rows=records,
            first=sel.offset + 1,
            last=sel.offset + len(records),
            params=params,
            sel=sel,
            options=opts,
            lifecycles=LIFECYCLE_CHOICES[name],
            sorts=list(SORT_COLUMNS),
            link=link,
            previous=link(page=page - 1) if page > 1 else None,
            next=link(page=page + 1) if sel.offset + len(records) < total else None,
            export_url=f"{PREFIX}/export.csv?{urlencode(export)}",
            lang_url=lambda code: link(lang=code),
        )

    def export(self, ctx: Context) -> Response:
        name = ctx.request.query_params.get("list", AT_RISK)
        if name not in LIST_LIFECYCLES:
            raise PageError(400, "bad_request", f"list: {name!r} is not at_risk or win_back")
        sel, _ = self.selection(ctx, name, paged=False)
        run, total, rows = list_rows(ctx.svc.store, sel)
        shown = present(rows, run.horizon_days, ctx.svc.config.lists.reasons)
        p = ctx.principal
        ctx.users.audit(
            "export",
            "ok",
            user=p.name,
            role=p.role,
            target=f"{name} {ctx.request.url.query} ({total} rows)",
            client=_client(ctx.request),
        )
        response = Response(
            shown.to_csv(index=False),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}_{run.asof}.csv"',
                "X-Total-Count": str(total),
            },
        )
        self._secure(response)
        return response

    # ---- the customer page ----------------------------------------------------------------------

    def customer(self, ctx: Context) -> Response:
        svc, lang = ctx.svc, ctx.lang
        customer_id = ctx.request.path_params["customer_id"]
        unknown = PageError(404, "not_found", t("unknown_customer", lang, id=customer_id))
        if len(customer_id) > MAX_FILTER:
            raise unknown
        dates = scoring_dates(svc.store)
        if not dates:
            raise PageError(404, "not_found", t("nothing_scored", lang))
        asked = ctx.request.query_params.get("asof")
        if asked is not None and asked not in dates:
            raise PageError(404, "not_found", f"asof: nothing was scored as of {asked!r}")
        history = customer_history(svc.store, customer_id, dates)
        if history.empty:
            raise unknown
        at = history[history["asof"] == asked] if asked else history.tail(1)
        if at.empty:
            raise unknown
        row = at.iloc[0].to_dict()
        if not ctx.principal.may_see(row["account_manager_id"]):
            self.refuse(ctx, "customer", customer_id)
            raise unknown
        run = svc.store.run(row["asof"])
        current = present(
            at.assign(rank=1).drop(columns="asof").assign(asof=row["asof"]),
            run.horizon_days,
            svc.config.lists.reasons,
        ).iloc[0]
        h = f"_{run.horizon_days}d"
        explanation = self.explain(ctx, customer_id, row["asof"])
        stored_reasons = [
            current[f"reason_{i}"]
            for i in range(1, svc.config.lists.reasons + 1)
            if current.get(f"reason_{i}")
        ]
        profile, timeline, data_note = self.timeline(customer_id, run.source, row["asof"], lang)
        return self.render(
            "customer.html",
            lang,
            principal=ctx.principal,
            customer_id=customer_id,
            row=row,
            current=current,
            probability=current[f"churn_probability{h}"],
            value=current[f"value_if_retained{h}"],
            value_at_risk=current[f"expected_value_at_risk{h}"],
            horizon=run.horizon_days,
            history=history.to_dict("records"),
            explanation=explanation,
            stored_reasons=stored_reasons,
            profile=profile,
            timeline=timeline,
            data_note=data_note,
            dates=dates,
            list_url=f"{PREFIX}/win-back" if row["lifecycle_status"] == "lapsed" else f"{PREFIX}/",
            lang_url=lambda code: f"{PREFIX}/customers/{customer_id}?{urlencode({'lang': code})}",
        )

    def explain(self, ctx: Context, customer_id: str, asof: str) -> dict[str, Any]:
        """The champion's reasons and waterfall for the stored features (a note instead when
        no champion is loaded or the features lack what it needs)."""
        champions = ctx.svc.models.current
        if champions is None:
            return {"note": t("no_model", ctx.lang)}
        frame = features_row(ctx.svc.store, customer_id, asof)
        if frame.empty or any(f not in frame.columns for f in champions.feature_names):
            return {"note": t("no_features", ctx.lang)}
        contrib = champions.churn.contributions(frame).iloc[0]
        base = float(contrib[BIAS_COLUMN])
        features = contrib.drop(index=BIAS_COLUMN)
        values = frame.iloc[0]
        reasons = top_reasons(features, values, ctx.svc.config.top_k, ctx.lang)
        return {
            "reasons": reasons,
            "waterfall": waterfall(
                features, base, lambda f: feature_label(f, values[f], ctx.lang), ctx.lang
            ),
            "version": champions.churn_version,
        }

    def timeline(
        self, customer_id: str, source: str, asof: str, lang: Lang
    ) -> tuple[dict[str, object], list, str | None]:
        """The customers-table row and recent events from the data folder the scoring read."""
        folder = Path(source) if source else None
        if folder is None or not folder.is_dir():
            return {}, [], t("no_data", lang)
        try:
            profile, parts = self.timelines.customer(folder, customer_id)
        except (ChurnError, OSError, ValueError) as exc:
            log.warning("workspace: data folder of %s unreadable: %s", asof, exc)
            return {}, [], t("no_data", lang)
        return profile, events(parts, asof, lang), None

    # ---- sign-in --------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        form = await request.form() if request.method == "POST" else None
        fields = {k: str(v) for k, v in form.items()} if form is not None else {}
        return await _in_thread(self._login, request, fields)

    def _login(self, request: Request, form: dict[str, str]) -> Response:
        lang, _ = _lang(request)
        try:
            svc = self.service()
            users = self.users(svc)
        except Exception:
            log.exception("workspace: sign-in page failed")
            message = "the workspace could not answer this request; the server log has the details"
            return self.error_page(request, PageError(503, "unavailable", message), None)
        next_url = _safe_next(form.get("next") or request.query_params.get("next"))
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        values: dict[str, Any] = {
            "next": next_url,
            "csrf": csrf,
            "principal": None,
            "error": None,
            "name": "",
        }
        if request.method == "GET":
            return self.render("login.html", lang, cookies={CSRF_COOKIE: csrf}, **values)
        if not _same_origin(request) or not tokens_match(
            form.get("csrf"), request.cookies.get(CSRF_COOKIE)
        ):
            users.audit("sign_in", "csrf", user=form.get("name", "")[:100], client=_client(request))
            return self.error_page(request, PageError(403, "forbidden", t("csrf", lang)), None)
        name = form.get("name", "")[:100]
        user = users.check_password(name, form.get("password", "")) if name else None
        if user is None:
            users.audit("sign_in", "failed", user=name, client=_client(request))
            fresh = secrets.token_urlsafe(32)
            return self.render(
                "login.html",
                lang,
                status=401,
                cookies={CSRF_COOKIE: fresh},
                **{**values, "csrf": fresh, "error": t("bad_sign_in", lang), "name": name},
            )
        token, _ = users.open_session(user)
        users.audit("sign_in", "ok", user=user.name, role=user.role, client=_client(request))
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
        form = await request.form()
        return await _in_thread(self._logout, request, {k: str(v) for k, v in form.items()})

    def _logout(self, request: Request, form: dict[str, str]) -> Response:
        lang, _ = _lang(request)
        svc = self.service()
        users = self.users(svc)
        token = request.cookies.get(SESSION_COOKIE)
        principal = users.session(token)
        if principal is None:
            return RedirectResponse(f"{PREFIX}/login", status_code=303)
        if not _same_origin(request) or not tokens_match(form.get("csrf"), principal.csrf):
            users.audit("sign_out", "csrf", user=principal.name, client=_client(request))
            return self.error_page(request, PageError(403, "forbidden", t("csrf", lang)), principal)
        users.close_session(token)
        users.audit(
            "sign_out", "ok", user=principal.name, role=principal.role, client=_client(request)
        )
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response


def _same_origin(request: Request) -> bool:
    """A form post's Origin (when the browser sends one) is this server."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


async def _in_thread(func: Callable[..., Response], *args: Any) -> Response:
    """Run a blocking page (database reads, pandas) off the event loop."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(func, *args)


def build_workspace(service: Callable[[], Any]) -> Starlette:
    """The workspace app with its paths at the root, to mount at ``/ui`` (``service`` returns
    the running service instance: config, models, store, api_key)."""
    return Workspace(service).app()


class WorkspaceGate:
    """ASGI middleware that answers ``/ui`` and everything under it with the workspace and
    passes every other request on. Added before the API's request guard, it keeps the API's
    key, JSON-only and error-shape rules off the browser pages, which have their own."""

    def __init__(self, app: ASGIApp, state: Callable[[], Any]) -> None:
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

"""The retention workspace's pages (a Starlette app the service serves under ``/ui/``).

- ``/ui/`` and ``/ui/win-back``: the at-risk and win-back lists, filtered by account manager,
  segment, risk band and lifecycle, sortable and paged, rendered on the server; the default order
  and filters give ``GET /at_risk``'s (``GET /win_back``'s) customers in the API's order;
- ``/ui/export.csv``: the filtered list as the API's CSV (every row, not one page), audited;
- ``/ui/customers/{id}``: profile, lifecycle, score history, reasons with a SHAP waterfall, a
  timeline of recent purchases, contacts and complaints, contract end;
- ``/ui/customers/{id}/contacts``: log a retention contact and its outcome (a form on the customer
  page; validated, CSRF-protected, audited); ``/ui/contacts.csv``: the logged contacts;
- ``/ui/managers`` and ``/ui/managers/{id}``: each book's risk and the KPI scorecards (score,
  grade, rank, commission) of the latest month the data can judge;
- ``/ui/campaign`` and ``/ui/campaign.csv``: the campaign builder (``churn campaign``'s selection
  for a capacity per manager and a rule), its preview and its CSV;
- ``/ui/monitoring``: the latest ``churn monitor`` result;
- ``/ui/login``, ``/ui/logout``: sign-in and sign-out (CSRF-protected, audited).

Who may see what is :mod:`scoring.store.users`'s: with no API key and no users, a loopback client
of a loopback service gets lead rights (development, as the API without a key); otherwise a
session (or a trusted proxy's header, when ``CHURN_UI_TRUSTED_USER_HEADER`` names one). A
manager sees only their own book. Sessions authorise ``/ui/`` only; the JSON API keeps its key.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args
from urllib.parse import quote, urlencode

import pandas as pd
from jinja2 import Environment, FileSystemLoader, Undefined, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from core.bundle import BIAS_COLUMN
from core.csv_out import to_csv_text
from core.errors import ChurnError
from core.lang import Lang
from kpi.campaign_builder import (
    AVAILABLE,
    DEFAULT_STRATEGY,
    NEEDS_UPLIFT,
    CampaignAsk,
    CampaignBuilder,
)
from kpi.config import KpiConfig, KpiError, load_kpi_config
from kpi.inputs import stored_reasons
from kpi.periods import parse_period
from kpi.scorecard import COMPONENT_METRICS
from monitoring.run import latest_path
from scoring.config import CONFIG_ENV
from scoring.lists import AT_RISK, LIST_LIFECYCLES, WIN_BACK, present
from scoring.store.contacts import (
    CHANNEL_CHOICES,
    OFFER_CHOICES,
    ContactForm,
    ContactStore,
    check_form,
    contract_table,
)
from scoring.store.predictions import StoreError, StoreUnavailable
from scoring.store.users import Principal, UserStore, tokens_match
from scoring.store.workspace import (
    SORT_COLUMNS,
    ListSelection,
    SortKey,
    choices,
    customer_history,
    features_row,
    list_rows,
    scoring_dates,
)
from serving.errors import scrub
from serving.launch import is_loopback
from serving.ui.customer import Timelines, events, feature_label, top_reasons, waterfall
from serving.ui.i18n import LANGS, STRINGS, category, t
from serving.ui.managers import ScorecardSource, book_risk

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
    form: dict[str, str] | None = None

    def audit(self, action: str, outcome: str, target: str) -> None:
        """Record what the signed-in user did to ``target``, from which client."""
        p = self.principal
        self.users.audit(
            action, outcome, user=p.name, role=p.role, target=target, client=_client(self.request)
        )


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


def _missing(x: object) -> bool:
    """None, NaN or a template value that is not there."""
    return x is None or isinstance(x, Undefined) or bool(pd.isna(x))


def _money(x: object) -> str:
    return "" if _missing(x) else f"{float(x):,.0f}"  # type: ignore[arg-type]


def _pct(x: object) -> str:
    return "" if _missing(x) else f"{float(x):.1%}"  # type: ignore[arg-type]


def _num(x: object, digits: int = 2) -> str:
    return "" if _missing(x) else f"{float(x):,.{digits}f}"  # type: ignore[arg-type]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A record with missing values as None (templates test ``is none``)."""
    return {
        k: None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT else v
        for k, v in row.items()
    }


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
        self.env.globals.update(money=_money, pct=_pct, num=_num, category=category, prefix=PREFIX)
        self.timelines = Timelines()
        self.scorecards = ScorecardSource()
        self.campaigns = CampaignBuilder(self.scorecards.datasets)
        self._lock = threading.Lock()
        self._users: dict[int, UserStore] = {}
        self._contacts: dict[int, ContactStore] = {}
        self._kpi: KpiConfig | KpiError | None = None
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
                Route(
                    "/customers/{customer_id:path}/contacts",
                    self.page(self.log_contact),
                    methods=["POST"],
                ),
                Route("/customers/{customer_id:path}", self.page(self.customer)),
                Route("/contacts.csv", self.page(self.export_contacts)),
                Route("/managers", self.page(self.managers)),
                Route("/managers/{manager_id:path}", self.page(self.manager)),
                Route("/campaign", self.page(self.campaign)),
                Route("/campaign.csv", self.page(self.campaign_csv)),
                Route("/monitoring", self.page(self.monitoring)),
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

    def contacts(self, svc: Any) -> ContactStore:
        with self._lock:
            found = self._contacts.get(id(svc.store))
            if found is None:
                found = self._contacts[id(svc.store)] = ContactStore(svc.store.engine)
            return found

    def kpi_config(self) -> KpiConfig:
        """The service's KPI configuration (its config file's ``kpi:`` section), read once."""
        with self._lock:
            if self._kpi is None:
                try:
                    self._kpi = load_kpi_config(os.environ.get(CONFIG_ENV) or None)
                except KpiError as exc:
                    self._kpi = exc
            found = self._kpi
        if isinstance(found, KpiError):
            raise PageError(
                503,
                "unavailable",
                "the service's KPI configuration is invalid: " + scrub(str(found)),
            )
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
            form = None
            if request.method == "POST":
                form = {k: str(v) for k, v in (await request.form()).items()}
            return await _in_thread(self._serve, request, handler, form)

        return endpoint

    def _serve(
        self,
        request: Request,
        handler: Callable[[Context], Response],
        form: dict[str, str] | None = None,
    ) -> Response:
        started = time.perf_counter()
        principal: Principal | None = None
        lang, chosen = _lang(request)
        new_csrf = None
        try:
            svc = self.service()
            users = self.users(svc)
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
                response = handler(Context(request, svc, users, principal, lang, form))
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
        if new_csrf is not None:
            response.set_cookie(
                CSRF_COOKIE, new_csrf, path=PREFIX, httponly=True, samesite="strict"
            )
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
        ctx.audit("denied", what, target)

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
        ctx.audit("export", "ok", f"{name} {ctx.request.url.query} ({total} rows)")
        response = Response(
            to_csv_text(shown),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}_{run.asof}.csv"',
                "X-Total-Count": str(total),
            },
        )
        self._secure(response)
        return response

    # ---- the customer page ----------------------------------------------------------------------

    def customer(
        self,
        ctx: Context,
        contact: ContactForm | None = None,
        problems: list[tuple[str, str]] | None = None,
        status: int = 200,
    ) -> Response:
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
        logged = self.contacts(svc).frame(customer_id=customer_id)
        saved = ctx.request.query_params.get("logged")
        return self.render(
            "customer.html",
            lang,
            status=status,
            contact=contact or ContactForm(ts=f"{_today():%Y-%m-%d}"),
            problems=problems or [],
            saved=saved if status == 200 and saved in set(logged["contact_id"]) else None,
            logged=[_plain(r) for r in logged.iloc[::-1].to_dict("records")],
            channels=CHANNEL_CHOICES,
            offers=OFFER_CHOICES,
            outcomes=contract_table().column("outcome").allowed or (),
            contact_url=f"{PREFIX}/customers/{quote(customer_id, safe='')}/contacts",
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

    # ---- retention contacts ---------------------------------------------------------------------

    def log_contact(self, ctx: Context) -> Response:
        """Store a retention contact of a customer the principal may see; a refused field shows
        the customer page again (422) with what was typed and why."""
        svc, lang, p = ctx.svc, ctx.lang, ctx.principal
        customer_id = ctx.request.path_params["customer_id"]
        form = ctx.form or {}
        if not _same_origin(ctx.request) or not tokens_match(form.get("csrf"), p.csrf):
            ctx.audit("contact", "csrf", customer_id)
            raise PageError(403, "forbidden", t("csrf", lang))
        unknown = PageError(404, "not_found", t("unknown_customer", lang, id=customer_id))
        dates = scoring_dates(svc.store)
        history = (
            customer_history(svc.store, customer_id, dates)
            if dates and len(customer_id) <= MAX_FILTER
            else pd.DataFrame()
        )
        if history.empty:
            raise unknown
        manager = history.iloc[-1]["account_manager_id"]
        if not p.may_see(manager):
            self.refuse(ctx, "contact", customer_id)
            raise unknown
        typed = ContactForm.from_fields(form)
        row, problems = check_form(typed, _today() + timedelta(days=1))
        if problems:
            fields = ", ".join(dict.fromkeys(f for f, _ in problems))
            ctx.audit("contact", "invalid", f"{customer_id}: {fields}")
            return self.customer(ctx, typed, problems, status=422)
        contact_id = self.contacts(svc).add(row, customer_id, manager, p.name)
        ctx.audit("contact", "ok", f"{customer_id} {contact_id}")
        back = f"{PREFIX}/customers/{quote(customer_id, safe='')}?"
        return RedirectResponse(back + urlencode({"logged": contact_id}) + "#contacts", 303)

    def export_contacts(self, ctx: Context) -> Response:
        """The logged contacts (a manager's: their book's) as the contract's ``contacts`` CSV."""
        unknown = sorted(set(ctx.request.query_params) - {"lang"})
        if unknown:
            raise PageError(400, "bad_request", f"unknown query parameter: {unknown[0]}")
        p = ctx.principal
        frame = self.contacts(ctx.svc).frame(manager=p.book)
        ctx.audit("export", "ok", f"contacts ({len(frame)} rows)")
        return self.csv(frame, "contacts.csv")

    def csv(self, frame: pd.DataFrame, name: str) -> Response:
        response = Response(
            to_csv_text(frame),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "X-Total-Count": str(len(frame)),
            },
        )
        self._secure(response)
        return response

    # ---- managers -------------------------------------------------------------------------------

    def _only(self, ctx: Context, known: set[str]) -> dict[str, str]:
        """The query parameters (400 naming an unknown or overlong one)."""
        q = ctx.request.query_params
        unknown = sorted(set(q) - known - {"lang"})
        if unknown:
            raise PageError(400, "bad_request", f"unknown query parameter: {unknown[0]}")
        for key, value in q.items():
            if len(value) > MAX_FILTER:
                raise PageError(400, "bad_request", f"{key}: longer than {MAX_FILTER} characters")
        return {k: v for k, v in q.items() if k != "lang" and v != ""}

    def _kpi_view(self, ctx: Context) -> tuple[Any, Any, Any, KpiConfig]:
        """The latest scoring, the asked (or default) period's scorecards and the config."""
        params = self._only(ctx, {"period"})
        cfg = self.kpi_config()
        run = ctx.svc.store.run()
        if "period" in params:
            try:
                period = parse_period(params["period"])
            except KpiError as exc:
                raise PageError(400, "bad_request", f"period: {exc}") from None
        else:
            period = self.scorecards.default_period(run, cfg)
        return run, self.scorecards.scorecards(ctx.svc.store, period, cfg), period, cfg

    def managers(self, ctx: Context) -> Response:
        """Every manager's (a manager: their own) scorecard and book risk."""
        run, cards, period, _ = self._kpi_view(ctx)
        risk = book_risk(ctx.svc.store, run)
        scored = cards.managers()
        ids = sorted(set(risk.index) | set(scored.index))
        book = ctx.principal.book
        if book is not None:
            ids = [book]
        cards_by_id = scored.to_dict("index")
        risk_by_id = risk.to_dict("index")
        rows = [
            {
                "id": mid,
                "card": _plain(cards_by_id.get(mid, {})),
                "risk": _plain(risk_by_id.get(mid, {})),
            }
            for mid in ids
        ]
        rows.sort(
            key=lambda r: (r["card"].get("rank") is None, r["card"].get("rank") or 0, r["id"])
        )
        return self.render(
            "managers.html",
            ctx.lang,
            principal=ctx.principal,
            nav="managers",
            run=run,
            cards=cards,
            period=period.label,
            rows=rows,
            lang_url=lambda code: (
                f"{PREFIX}/managers?{urlencode({'period': period.label, 'lang': code})}"
            ),
        )

    def manager(self, ctx: Context) -> Response:
        """One manager's scorecard (components, commission), team and book."""
        mid = ctx.request.path_params["manager_id"]
        book = ctx.principal.book
        if book is not None and mid != book:
            self.refuse(ctx, "manager", mid)
            raise PageError(403, "forbidden", t("other_book", ctx.lang, manager=book))
        run, cards, period, cfg = self._kpi_view(ctx)
        risk = book_risk(ctx.svc.store, run)
        scored = cards.managers()
        if mid not in risk.index and mid not in scored.index:
            raise PageError(404, "not_found", t("unknown_manager", ctx.lang, id=mid))
        card = _plain(scored.loc[mid].to_dict()) if mid in scored.index else {}
        weights = dict(cfg.scorecard.components)
        components = [
            {
                "name": name,
                "measure": card.get(metric),
                "points": card.get(f"points_{name}"),
                "weight": weights[name].weight,
            }
            for name, metric in COMPONENT_METRICS.items()
            if name in weights
        ]
        sel = ListSelection(lifecycle=LIST_LIFECYCLES[AT_RISK], account_manager_id=mid, limit=10)
        _, total, top = list_rows(ctx.svc.store, sel)
        h = f"_{run.horizon_days}d"
        shown = present(top, run.horizon_days, 0) if len(top) else top
        customers = [
            {
                "customer_id": r["customer_id"],
                "probability": r[f"churn_probability{h}"],
                "value_at_risk": r[f"expected_value_at_risk{h}"],
                "band": r["risk_band"],
                "action": r["recommended_action"] or "",
            }
            for r in shown.to_dict("records")
        ]
        return self.render(
            "manager.html",
            ctx.lang,
            principal=ctx.principal,
            nav="managers",
            mid=mid,
            run=run,
            cards=cards,
            period=period.label,
            card=card,
            team=_plain(cards.team(card.get("team")) or {}),
            risk=_plain(risk.to_dict("index").get(mid, {})),
            components=components,
            component_names={k for k in STRINGS if k.startswith("comp_")},
            customers=customers,
            total=total,
            list_url=f"{PREFIX}/?{urlencode({'manager': mid})}",
            lang_url=lambda code: (
                f"{PREFIX}/managers/{quote(mid, safe='')}?"
                + urlencode({"period": period.label, "lang": code})
            ),
        )

    # ---- campaign builder -----------------------------------------------------------------------

    def campaign_ask(self, ctx: Context) -> tuple[CampaignAsk, KpiConfig, list[str]]:
        """The builder's inputs from the query string (400 naming a bad one)."""
        params = self._only(ctx, {"asof", "capacity", "by", "cost", "success_rate"})
        cfg = self.kpi_config()
        dates = scoring_dates(ctx.svc.store)
        if not dates:
            raise PageError(404, "not_found", t("nothing_scored", ctx.lang))
        asof = params.get("asof", dates[0])
        if asof not in dates:
            raise PageError(404, "not_found", f"asof: nothing was scored as of {asof!r}")
        capacity = params.get("capacity", str(cfg.campaign.capacity_per_manager))
        if not capacity.isdigit() or int(capacity) > 100_000:
            raise PageError(400, "bad_request", f"capacity: {capacity!r} is not 0 to 100000")
        by = params.get("by", DEFAULT_STRATEGY)
        if by in NEEDS_UPLIFT:
            raise PageError(400, "bad_request", t("by_uplift_cli", ctx.lang))
        if by not in AVAILABLE:
            raise PageError(400, "bad_request", f"by: {by!r} is not one of {', '.join(AVAILABLE)}")
        numbers: dict[str, float | None] = {}
        for key, top in (("cost", math.inf), ("success_rate", 1.0)):
            text = params.get(key)
            if text is None:
                numbers[key] = None
                continue
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not (0 <= value <= top) or math.isinf(value):
                limit = "a number from 0 to 1" if top == 1 else "a number 0 or more"
                raise PageError(400, "bad_request", f"{key}: {text!r} is not {limit}")
            numbers[key] = value
        ask = CampaignAsk(asof, int(capacity), by, numbers["cost"], numbers["success_rate"])
        return ask, cfg, dates

    def build(self, ctx: Context) -> tuple[Any, KpiConfig, list[str]]:
        ask, cfg, dates = self.campaign_ask(ctx)
        try:
            built = self.campaigns.build(ctx.svc.store, ask, cfg, ctx.principal.book)
        except KpiError as exc:
            if isinstance(exc.__cause__, StoreError | StoreUnavailable):
                raise exc.__cause__ from None
            raise PageError(422, "bad_request", scrub(str(exc))) from None
        return built, cfg, dates

    def campaign(self, ctx: Context) -> Response:
        """The builder's form and the preview of its selection."""
        built, cfg, dates = self.build(ctx)
        ask = built.ask
        query = {
            k: v
            for k, v in {
                "asof": ask.asof,
                "capacity": ask.capacity,
                "by": ask.by,
                "cost": ask.cost,
                "success_rate": ask.success_rate,
            }.items()
            if v is not None
        }
        chosen = built.chosen
        preview = [_plain(r) for r in chosen.head(50).to_dict("records")]
        return self.render(
            "campaign.html",
            ctx.lang,
            principal=ctx.principal,
            nav="campaign",
            ask=ask,
            dates=dates,
            strategies=list(AVAILABLE),
            chosen=preview,
            total=len(chosen),
            saved_value=float(chosen["expected_saved_value"].sum()),
            per_manager=[
                {"id": mid, **_plain(r)} for mid, r in built.per_manager().to_dict("index").items()
            ],
            savings=[_plain(r) for r in built.savings.to_dict("records")],
            notes=built.notes,
            config_capacity=cfg.campaign.capacity_per_manager,
            export_url=f"{PREFIX}/campaign.csv?{urlencode(query)}",
            lang_url=lambda code: f"{PREFIX}/campaign?{urlencode({**query, 'lang': code})}",
        )

    def campaign_csv(self, ctx: Context) -> Response:
        """The whole selection as ``churn campaign`` writes it (reasons by the champion, when
        one is loaded), audited."""
        built, _, _ = self.build(ctx)
        chosen = built.chosen.copy()
        champions = ctx.svc.models.current
        if champions is not None and len(chosen):
            try:
                found = stored_reasons(
                    ctx.svc.store,
                    pd.Timestamp(built.ask.asof),
                    chosen["customer_id"],
                    champions.churn,
                )
                chosen["reasons"] = found.to_numpy()
            except (ChurnError, KeyError, ValueError) as exc:
                log.warning("workspace: campaign reasons unavailable: %s", exc)
        ctx.audit("export", "ok", f"campaign {ctx.request.url.query} ({len(chosen)} rows)")
        return self.csv(chosen, f"campaign_{built.ask.asof}_{built.ask.by}.csv")

    # ---- monitoring -----------------------------------------------------------------------------

    def monitoring(self, ctx: Context) -> Response:
        """The latest ``churn monitor`` result: alerts, estimated and realized ROC-AUC, drift."""
        self._only(ctx, set())
        path = latest_path()
        result: dict[str, Any] | None = None
        note = None
        if not path.is_file():
            note = t("no_monitor", ctx.lang)
        else:
            try:
                result = json.loads(path.read_text("utf-8"))
                if not isinstance(result, dict) or "asof" not in result:
                    raise ValueError("not a monitoring result")
            except (OSError, ValueError) as exc:
                log.warning("workspace: monitoring result unreadable: %s", exc)
                result, note = None, t("bad_monitor", ctx.lang)
        features = (result or {}).get("features") or []
        drifted = sorted(
            (f for f in features if f.get("drifted")),
            key=lambda f: -((f.get("value") or 0.0) / (f.get("threshold") or 1.0)),
        )
        return self.render(
            "monitoring.html",
            ctx.lang,
            principal=ctx.principal,
            nav="monitoring",
            result=result,
            note=note,
            drifted=drifted,
            n_features=len(features),
            lang_url=lambda code: f"{PREFIX}/monitoring?{urlencode({'lang': code})}",
        )

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


def _today() -> Any:
    """Today's date (UTC)."""
    return datetime.now(UTC).date()


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

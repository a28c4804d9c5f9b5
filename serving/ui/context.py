"""What every workspace page gets: the :class:`Context` of a request, :class:`PageError` for a
refusal shown as a page, and the :class:`Site` (templates, security headers, the stores and
caches pages share), with the query, CSRF and formatting helpers they have in common."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, Undefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from core.csv_out import to_csv_text
from core.errors import ChurnError
from core.lang import LANGS, Lang, catalogue, show_date, show_days
from core.money import format_money
from features.shown import category
from kpi.config import KpiConfig, KpiError
from kpi.inputs import DatasetCache
from scoring.store.errors import StoreError, StoreUnavailable
from scoring.store.users import Principal, UserStore
from scoring.store.workspace import has_managers
from serving.errors import scrub
from serving.state import ServiceState

t = catalogue("workspace").t

HERE = Path(__file__).resolve().parent
PREFIX = "/ui"
SESSION_COOKIE = "churn_session"
CSRF_COOKIE = "churn_csrf"
LANG_COOKIE = "churn_lang"
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
MAX_FILTER = 200


class PageError(Exception):
    """A refusal shown as a page: status, title key and message."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def secure(response: Response) -> None:
    """The headers every workspace answer carries (no framing, no caching, this site only)."""
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"


def request_lang(request: Request) -> tuple[Lang, bool]:
    """The page language and whether the request chose it (then the cookie remembers it)."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked, True  # type: ignore[return-value]  # checked against LANGS
    kept = request.cookies.get(LANG_COOKIE)
    return (kept if kept in LANGS else "en"), False  # type: ignore[return-value]  # as above


def client_host(request: Request) -> str:
    """The client's address, as the audit log records it."""
    return request.client.host if request.client else ""


def same_origin(request: Request) -> bool:
    """A form post's Origin (when the browser sends one) is this server."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def _plain_day(value: object) -> date | str | None:
    """A date cell (text, timestamp or date) as :func:`core.lang.show_date` takes it."""
    if value is None or _missing(value):
        return None
    if isinstance(value, datetime | date):
        return value if not isinstance(value, datetime) else value.date()
    if hasattr(value, "date"):
        return value.date()  # a pandas Timestamp
    return str(value)


def _missing(x: object) -> bool:
    """None, NaN or a template value that is not there."""
    return x is None or isinstance(x, Undefined) or bool(pd.isna(x))


def _money(x: object, digits: int = 0) -> str:
    return "" if _missing(x) else f"{float(x):,.{digits}f}"  # type: ignore[arg-type]


def _pct(x: object) -> str:
    return "" if _missing(x) else f"{float(x):.1%}"  # type: ignore[arg-type]


def _num(x: object, digits: int = 2) -> str:
    return "" if _missing(x) else f"{float(x):,.{digits}f}"  # type: ignore[arg-type]


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """A record with missing values as None (templates test ``is none``)."""
    return {
        k: None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT else v
        for k, v in row.items()
    }


def csv_response(frame: pd.DataFrame, name: str) -> Response:
    """``frame`` as a CSV download named ``name``, its row count in ``X-Total-Count``."""
    response = Response(
        to_csv_text(frame),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Total-Count": str(len(frame)),
        },
    )
    secure(response)
    return response


def last_contact_words(n: object, lang: Lang) -> str:
    """When a row's customer was last contacted, in words: ``n`` whole days before the scoring
    date (0: on it or after it), missing for never."""
    if _missing(n):
        return t("never_contacted", lang)
    d = int(float(n))  # type: ignore[arg-type]
    key = "contacted_since" if d == 0 else "contacted_one_day" if d == 1 else "contacted_days"
    return t(key, lang, n=d)


class Site:
    """What the pages share: the template environment, the user stores and the KPI
    configuration (one per service store, read once) and the cache of loaded data sets."""

    def __init__(self, service: Callable[[], ServiceState]) -> None:
        self.service = service
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(money=_money, pct=_pct, num=_num, category=category, prefix=PREFIX)
        self.datasets = DatasetCache()
        self._lock = threading.Lock()
        self._users: dict[int, UserStore] = {}

    def users(self, svc: ServiceState) -> UserStore:
        """The users, sessions and audit log of the service's store."""
        with self._lock:
            found = self._users.get(id(svc.store))
            if found is None:
                found = self._users[id(svc.store)] = UserStore(svc.store.engine)
            return found

    def kpi_config(self, svc: ServiceState) -> KpiConfig:
        """The service's KPI configuration (its config file's ``kpi:`` section, read when the
        service started); 503 when that section is invalid."""
        found = svc.kpi
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
        cookies: dict[str, str] | None = None,
        **values: Any,
    ) -> HTMLResponse:
        """A template rendered in ``lang``, with the security headers and ``cookies`` set."""
        template = self.env.get_template(template_name)
        body = template.render(
            lang=lang,
            t=lambda key, **kw: t(key, lang, **kw),
            day=lambda value: show_date(_plain_day(value), lang),
            days=lambda n: "" if _missing(n) else show_days(float(n), lang),
            contacted_text=lambda n: last_contact_words(n, lang),
            **values,
        )
        response = HTMLResponse(body, status_code=status)
        secure(response)
        for key, value in (cookies or {}).items():
            response.set_cookie(key, value, path=PREFIX, httponly=True, samesite="strict")
        return response

    def error_page(self, request: Request, exc: PageError, principal: Principal | None) -> Response:
        """A refusal as the error page in the request's language."""
        lang, _ = request_lang(request)
        return self.render(
            "error.html",
            lang,
            status=exc.status,
            title=t(exc.title, lang),
            message=exc.message,
            principal=principal,
        )


@dataclass(frozen=True)
class Context:
    """One signed-in request as the pages see it."""

    request: Request
    svc: ServiceState
    users: UserStore
    principal: Principal
    lang: Lang
    site: Site
    form: dict[str, str] | None = None

    def audit(self, action: str, outcome: str, target: str) -> None:
        """Record what the signed-in user did to ``target``, from which client."""
        p = self.principal
        self.users.audit(
            action,
            outcome,
            user=p.name,
            role=p.role,
            target=target,
            client=client_host(self.request),
        )

    def refuse(self, what: str, target: str) -> None:
        """Audit an attempt to reach another manager's customers."""
        self.audit("denied", what, target)

    @property
    def currency(self) -> str | None:
        """The book's currency (``serving.currency``; None: amounts without a sign)."""
        return self.svc.config.currency

    def money(self, x: object, digits: int = 0) -> str:
        """An amount as the pages show it, in the book's currency."""
        return format_money(x, self.currency, digits) if not _missing(x) else ""

    def has_managers(self) -> bool:
        """Whether the latest scoring's customers have account managers (True when nothing is
        scored yet or the store cannot say: the managers' views stay)."""
        try:
            return has_managers(self.svc.store, self.svc.store.run().asof)
        except (StoreError, StoreUnavailable, ChurnError):
            return True

    def render(self, template_name: str, /, status: int = 200, **values: Any) -> HTMLResponse:
        """A page for the signed-in user in the request's language, amounts in the book's
        currency."""
        values.setdefault("money", self.money)
        values.setdefault("has_managers", self.has_managers())
        return self.site.render(
            template_name, self.lang, status=status, principal=self.principal, **values
        )

    def params(self, known: set[str]) -> dict[str, str]:
        """The query parameters (400 naming an unknown or overlong one)."""
        q = self.request.query_params
        unknown = sorted(set(q) - known - {"lang"})
        if unknown:
            raise PageError(400, "bad_request", f"unknown query parameter: {unknown[0]}")
        for key, value in q.items():
            if len(value) > MAX_FILTER:
                raise PageError(400, "bad_request", f"{key}: longer than {MAX_FILTER} characters")
        return {k: v for k, v in q.items() if k != "lang" and v != ""}


async def in_thread(func: Callable[..., Response], *args: Any) -> Response:
    """Run a blocking page (database reads, pandas) off the event loop."""
    return await run_in_threadpool(func, *args)

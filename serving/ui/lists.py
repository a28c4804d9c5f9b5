"""The list pages: ``/ui/`` (at risk) and ``/ui/win-back``, filtered by account manager,
segment, risk band, RFM segment and lifecycle, sortable and paged, in ``GET /at_risk``'s (``GET /win_back``'s)
order by default; and ``/ui/export.csv``, the filtered list as the API's CSV (every row), audited.
A manager's filters are held to their own book."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlencode

import pandas as pd
from starlette.responses import Response

from core.csv_out import to_csv_text
from core.errors import ChurnError
from core.lang import catalogue
from core.money import money_pattern
from features.pipeline.segments import RFM_SEGMENTS
from scoring.contacted import (
    CONTACT_DETAILS,
    DAYS_SINCE_CONTACT,
    MAX_SKIP_DAYS,
    contact_details,
    contacted_within,
    last_contacts,
    with_contacts,
)
from scoring.lists import AT_RISK, LIST_LIFECYCLES, WIN_BACK, named_values, present
from scoring.store.contacts import ContactStore
from scoring.store.predictions import ScoringRun
from scoring.store.workspace import (
    SORT_COLUMNS,
    ListSelection,
    SortKey,
    choices,
    list_rows,
    scoring_dates,
)
from serving.state import ServiceState
from serving.ui.context import MAX_FILTER, PREFIX, Context, PageError, secure

t = catalogue("workspace").t

log = logging.getLogger(__name__)

LIST_PATHS = {AT_RISK: "/", WIN_BACK: "/win-back"}
LIFECYCLE_CHOICES = {AT_RISK: ("active", "lapsing"), WIN_BACK: ()}
DEFAULT_SORT = {AT_RISK: "benefit", WIN_BACK: "value_at_risk"}
"""Each list's default order: whom to call first (benefit of a contact), whom to win back."""


class Lists:
    """The two lists and their export; caches the filter choices of the latest scoring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._choices: dict[tuple[int, str], dict[str, list[str]]] = {}
        self._logged: dict[int, ContactStore] = {}

    def at_risk(self, ctx: Context) -> Response:
        """Active and lapsing customers, highest expected benefit of a contact first."""
        return self.list_page(ctx, AT_RISK)

    def win_back(self, ctx: Context) -> Response:
        """Lapsed customers to win back."""
        return self.list_page(ctx, WIN_BACK)

    def selection(
        self, ctx: Context, name: str, paged: bool
    ) -> tuple[ListSelection, dict[str, str]]:
        """The list selection the query string asks for; 400 naming the parameter when it is
        unusable, 403 when a manager asks for another manager's book."""
        q = ctx.request.query_params
        lang = ctx.lang
        known = {"manager", "segment", "band", "rfm", "lifecycle", "sort", "dir", "page", "asof"}
        known.add("skip_contacted")
        known.add("lang")
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
                ctx.refuse("filter", f"manager={manager}")
                raise PageError(403, "forbidden", t("other_book", lang, manager=book))
            manager = book
        band = params.get("band")
        if band is not None and band not in ("high", "medium", "low"):
            raise PageError(400, "bad_request", f"band: {band!r} is not high, medium or low")
        rfm = params.get("rfm")
        if rfm is not None and rfm not in RFM_SEGMENTS:
            raise PageError(400, "bad_request", f"rfm: {rfm!r} is not an RFM segment")
        lifecycle = LIST_LIFECYCLES[name]
        wanted = params.get("lifecycle")
        if wanted is not None:
            if wanted not in LIFECYCLE_CHOICES[name]:
                allowed = ", ".join(LIFECYCLE_CHOICES[name]) or "none on this list"
                raise PageError(
                    400, "bad_request", f"lifecycle: {wanted!r} is not one of {allowed}"
                )
            lifecycle = (wanted,)
        sort = params.get("sort", DEFAULT_SORT[name])
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
        skip = params.get("skip_contacted", "0")
        if not skip.isdigit() or int(skip) > MAX_SKIP_DAYS:
            raise PageError(
                400, "bad_request", f"skip_contacted: {skip!r} is not 0 to {MAX_SKIP_DAYS} days"
            )
        exclude: frozenset[str] = frozenset()
        if int(skip):
            run = ctx.svc.store.run(asof)
            exclude = contacted_within(self.contacts(ctx, run)[0], run.asof, int(skip))
        size = ctx.svc.config.at_risk_page_size
        sel = ListSelection(
            lifecycle=lifecycle,
            asof=asof,
            account_manager_id=manager,
            segment=params.get("segment"),
            risk_band=band,
            rfm_segment=rfm,
            sort=sort if sort in get_args(SortKey) else DEFAULT_SORT[name],  # type: ignore[arg-type]
            descending=direction == "desc",
            limit=size if paged else None,
            offset=(int(page) - 1) * size if paged else 0,
            exclude=exclude,
        )
        return sel, params

    def contacts(self, ctx: Context, run: ScoringRun) -> tuple[pd.Series, pd.DataFrame]:
        """Each customer's last contact (the data folder's contacts table and the contacts
        logged in the workspace) and the customers table's contact columns (name, phone, email)
        that the data has; without a readable data folder, the logged contacts only."""
        store = ctx.svc.store
        with self._lock:
            logged_store = self._logged.get(id(store))
            if logged_store is None:
                logged_store = self._logged[id(store)] = ContactStore(store.engine)
        logged = logged_store.frame(manager=ctx.principal.book)
        folder = Path(run.source) if run.source else None
        if folder is None or not folder.is_dir():
            return last_contacts(logged), pd.DataFrame()
        try:
            ds = ctx.site.datasets(folder)
        except (ChurnError, OSError, ValueError) as exc:
            log.warning("workspace: data folder of %s unreadable: %s", run.asof, exc)
            return last_contacts(logged), pd.DataFrame()
        return last_contacts(ds.table("contacts"), logged), contact_details(ds.tables["customers"])

    def choices(self, svc: ServiceState, asof: str, scored_at: object) -> dict[str, list[str]]:
        """The filters' choices of one scoring (computed once per scoring)."""
        key = (id(svc.store), f"{asof}@{scored_at}")
        with self._lock:
            found = self._choices.get(key)
        if found is None:
            found = choices(svc.store, asof)
            with self._lock:
                self._choices = {key: found}
        return found

    def list_page(self, ctx: Context, name: str) -> Response:
        """One page of the list ``name`` with its filters, sort and paging links."""
        sel, params = self.selection(ctx, name, paged=True)
        svc = ctx.svc
        run, total, rows = list_rows(svc.store, sel)
        money = money_pattern(svc.config.currency)
        shown = present(rows, run.horizon_days, svc.config.lists.reasons, ctx.lang, money)
        last, details = self.contacts(ctx, run)
        shown = with_contacts(shown, run.asof, last, details)
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
                "benefit": None if pd.isna(r["benefit"]) else r["benefit"],
                "why": r["why_listed"],
                "band": r["risk_band"],
                "rfm_segment": r["rfm_segment"] if isinstance(r["rfm_segment"], str) else None,
                "days": None
                if pd.isna(r["days_since_last_purchase"])
                else r["days_since_last_purchase"],
                "reasons": [
                    r[f"reason_{i}"]
                    for i in range(1, svc.config.lists.reasons + 1)
                    if r.get(f"reason_{i}")
                ],
                "action": r["recommended_action"] or "",
                "contacted": None if pd.isna(r[DAYS_SINCE_CONTACT]) else r[DAYS_SINCE_CONTACT],
                "details": [
                    (c, r[c]) for c in CONTACT_DETAILS if c in r and isinstance(r[c], str) and r[c]
                ],
            }
            for r in shown.to_dict("records")
        ]
        opts = self.choices(svc, run.asof, run.scored_at)
        base = f"{PREFIX}{LIST_PATHS[name]}" if name == WIN_BACK else f"{PREFIX}/"

        def link(**changes: object) -> str:
            merged: dict[str, Any] = {
                **params,
                **{k: str(v) for k, v in changes.items() if v is not None},
            }
            merged = {k: v for k, v in merged.items() if k not in changes or changes[k] is not None}
            return f"{base}?{urlencode(merged)}" if merged else base

        page = sel.offset // (sel.limit or 1) + 1
        export = {**params, "list": name}
        export.pop("page", None)
        return ctx.render(
            "list.html",
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
            rfm_segments=RFM_SEGMENTS,
            sorts=list(SORT_COLUMNS),
            link=link,
            previous=link(page=page - 1) if page > 1 else None,
            next=link(page=page + 1) if sel.offset + len(records) < total else None,
            export_url=f"{PREFIX}/export.csv?{urlencode(export)}",
            lang_url=lambda code: link(lang=code),
        )

    def export(self, ctx: Context) -> Response:
        """The filtered list, every row, as the API's CSV; audited."""
        name = ctx.request.query_params.get("list", AT_RISK)
        if name not in LIST_LIFECYCLES:
            raise PageError(400, "bad_request", f"list: {name!r} is not at_risk or win_back")
        sel, _ = self.selection(ctx, name, paged=False)
        run, total, rows = list_rows(ctx.svc.store, sel)
        shown = present(
            rows, run.horizon_days, ctx.svc.config.lists.reasons, ctx.lang
        )  # the API's CSV
        shown = named_values(shown, ctx.lang)
        ctx.audit("export", "ok", f"{name} {ctx.request.url.query} ({total} rows)")
        response = Response(
            to_csv_text(shown),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}_{run.asof}.csv"',
                "X-Total-Count": str(total),
            },
        )
        secure(response)
        return response

"""The improvement plans on a manager's page (document 000: 提交整改方案): the plans the manager
owes or handed in, and ``POST /ui/managers/{id}/plans``, where a lead records a submitted plan
(CSRF-protected, audited, refused fields shown again as the contact form does).

Plans are issued when a month's scorecards are shown (:func:`issue_for`), as ``churn kpi`` does.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import pandas as pd
from starlette.responses import RedirectResponse, Response

from kpi.config import KpiConfig
from kpi.periods import Period
from kpi.plans import issue_plans
from scoring.store.plans import MAX_PLAN_TEXT, PlanError, PlanStore
from scoring.store.users import tokens_match
from serving.state import ServiceState
from serving.ui.context import PREFIX, Context, PageError, plain, same_origin
from serving.ui.i18n import t


def _today():  # -> datetime.date
    return datetime.now(UTC).date()


class Plans:
    """The improvement plans of each service store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stores: dict[int, PlanStore] = {}

    def store(self, svc: ServiceState) -> PlanStore:
        with self._lock:
            found = self._stores.get(id(svc.store))
            if found is None:
                found = self._stores[id(svc.store)] = PlanStore(svc.store.engine)
            return found

    def issue_for(
        self, svc: ServiceState, period: Period, frame: pd.DataFrame | None, cfg: KpiConfig
    ) -> None:
        """Issue the plans a month's scorecards call for (nothing for a quarter or year)."""
        if frame is not None and period.kind == "month":
            issue_plans(self.store(svc), frame, cfg.ranking, _today())

    def of(self, svc: ServiceState, manager: str) -> list[dict[str, Any]]:
        """The manager's plans, latest month first, with their status."""
        rows = self.store(svc).frame(_today(), manager=manager)
        return [plain(r) for r in rows.to_dict("records")]

    def view(
        self,
        ctx: Context,
        manager: str,
        typed: dict[str, str] | None = None,
        problem: str | None = None,
    ) -> dict[str, Any]:
        """What the manager page's plans section shows."""
        plans = self.of(ctx.svc, manager)
        return {
            "plans": plans,
            "plan_open": [p["period"] for p in plans if p["status"] != "submitted"],
            "may_submit": ctx.principal.role == "lead",
            "plan_url": f"{PREFIX}/managers/{quote(manager, safe='')}/plans",
            "plan_typed": typed or {},
            "plan_problem": problem,
            "plan_saved": ctx.request.query_params.get("plan"),
            "plan_max": MAX_PLAN_TEXT,
        }

    def submit(self, ctx: Context, page: Any) -> Response:
        """Record the plan a manager handed in (leads only); a refused one shows the page again
        (422) with what was typed and why."""
        lang, p = ctx.lang, ctx.principal
        mid = ctx.request.path_params["manager_id"]
        form = ctx.form or {}
        if not same_origin(ctx.request) or not tokens_match(form.get("csrf"), p.csrf):
            ctx.audit("plan", "csrf", mid)
            raise PageError(403, "forbidden", t("csrf", lang))
        if p.role != "lead":
            ctx.refuse("plan", mid)
            raise PageError(403, "forbidden", t("plan_leads_only", lang))
        period, text = form.get("period", "").strip(), form.get("text", "")
        try:
            self.store(ctx.svc).submit(mid, period, text, p.name)
        except PlanError as exc:
            ctx.audit("plan", "invalid", f"{mid} {period}")
            typed = {"period": period, "text": text}
            return page.manager(ctx, status=422, plan_form=(typed, str(exc)))
        ctx.audit("plan", "ok", f"{mid} {period}")
        back = f"{PREFIX}/managers/{quote(mid, safe='')}?"
        return RedirectResponse(back + urlencode({"plan": period}) + "#plans", 303)

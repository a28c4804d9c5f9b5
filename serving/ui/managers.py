"""The managers' pages, ``/ui/managers`` and ``/ui/managers/{id}``: each book's risk at the
latest scoring and the KPI scorecards (score, grade, rank, commission) of the latest month the
data can judge (or the ``?period=`` asked). A manager sees only their own.

Scorecards come from :mod:`kpi.inputs` exactly as ``GET /scorecards`` and ``churn kpi``
compute them (the predictions stored at the month's first day, judged with the data folder that
scoring read); a month the store lacks is a note naming the ``churn score`` date to run, not an
error. The book's risk is one grouped query over the latest scoring's predictions.
"""

from __future__ import annotations

import threading
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pandas as pd
from starlette.responses import Response

from core.errors import ChurnError
from kpi.config import KpiConfig, KpiError
from kpi.inputs import DatasetCache, MissingPredictionsError, period_inputs
from kpi.periods import Period, latest_complete_month, parse_period
from kpi.portfolio import MANAGER
from kpi.scorecard import COMPONENT_METRICS, scorecard
from kpi.trends import TREND_MEASURES, TrendCache, Trends, line_chart
from scoring.lists import AT_RISK, LIST_LIFECYCLES, present
from scoring.store.predictions import PredictionStore, ScoringRun
from scoring.store.workspace import ListSelection, book_risk_rows, list_rows, run_stamps
from serving.errors import scrub
from serving.ui.context import PREFIX, Context, PageError, Site, plain
from serving.ui.i18n import STRINGS, t
from serving.ui.plans import Plans

AT_RISK_STATUSES = ("active", "lapsing")


def book_risk(store: PredictionStore, run: ScoringRun) -> pd.DataFrame:
    """Per account manager at ``run``: customers scored, customers on the at-risk list (active
    or lapsing), of them in the high band, their mean P(churn), value if retained and expected
    value at risk. Indexed by ``account_manager_id``."""
    frame = book_risk_rows(store, run.asof, AT_RISK_STATUSES)
    frame[MANAGER] = frame[MANAGER].astype("str")
    counts = ["customers", "at_risk", "high"]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    return frame.set_index(MANAGER).sort_index()


@dataclass(frozen=True)
class Scorecards:
    """The scorecards of a period (None with a note when they cannot be computed)."""

    period: str
    frame: pd.DataFrame | None
    note: str | None = None
    scored: tuple[str, ...] = ()

    def managers(self) -> pd.DataFrame:
        """Manager rows indexed by ``account_manager_id`` (empty without scorecards)."""
        if self.frame is None:
            return pd.DataFrame()
        rows = self.frame[self.frame["level"] == "manager"]
        return rows.set_index(rows[MANAGER].astype("str"))

    def team(self, name: object) -> dict[str, Any] | None:
        """The row of team ``name`` (None without one)."""
        if self.frame is None or name is None:
            return None
        rows = self.frame[(self.frame["level"] == "team") & (self.frame["team"] == name)]
        return None if rows.empty else rows.iloc[0].to_dict()


def _stamp(when: object) -> str:
    """A scoring time as naive UTC text (the store gives it with or without a time zone)."""
    stamp = pd.Timestamp(str(when))
    return str(stamp.tz_convert(None) if stamp.tzinfo is not None else stamp)


class ScorecardSource:
    """Scorecards from the store, computed once per period, scoring runs and data set."""

    def __init__(self, datasets: DatasetCache) -> None:
        self.datasets = datasets
        self._lock = threading.Lock()
        self._cards: dict[tuple[Any, ...], tuple[object, pd.DataFrame]] = {}

    def default_period(self, run: ScoringRun, cfg: KpiConfig) -> Period:
        """The latest month whose outcome window the latest scoring's data covers."""
        folder = Path(run.source) if run.source else None
        as_of = pd.Timestamp(run.asof)
        if folder is not None and folder.is_dir():
            with suppress(ChurnError, OSError):  # unreadable data: the scorecards will say why
                as_of = self.datasets(folder).as_of
        start = latest_complete_month(as_of, cfg.outcome.horizon_days)
        return parse_period(f"{start:%Y-%m}")

    def _cached(self, store: PredictionStore, period: Period) -> Scorecards | None:
        """The scorecards computed before when the period's scoring runs and their data set are
        unchanged (one small query of the runs and a look at the folder's files)."""
        wanted = [f"{m:%Y-%m-%d}" for m in period.months]
        runs = run_stamps(store, wanted)
        sources = {source for _, source in runs.values()}
        if len(runs) != len(wanted) or len(sources) != 1 or not Path(next(iter(sources))).is_dir():
            return None
        key = (store.url, period.label, tuple((d, _stamp(runs[d][0])) for d in wanted))
        with self._lock:
            hit = self._cards.get(key)
        if hit is None or hit[0] is not self.datasets(Path(next(iter(sources)))):
            return None
        return Scorecards(period.label, hit[1], None, tuple(wanted))

    def scorecards(self, store: PredictionStore, period: Period, cfg: KpiConfig) -> Scorecards:
        """The period's scorecards, or a note saying what is missing (no server paths)."""
        with suppress(ChurnError, OSError):
            found = self._cached(store, period)
            if found is not None:
                return found
        try:
            inputs = period_inputs(store, period, cfg.outcome, load=self.datasets)
        except MissingPredictionsError:
            dates = ", ".join(f"{m:%Y-%m-%d}" for m in period.months)
            note = (
                f"No scorecards for {period.label}: they need the predictions made at {dates} "
                f"(churn score --asof {period.months[0]:%Y-%m-%d})."
            )
            return Scorecards(period.label, None, note)
        except KpiError as exc:
            return Scorecards(
                period.label, None, f"No scorecards for {period.label}: " + scrub(str(exc))
            )
        try:
            frame = scorecard(inputs.dataset, inputs.stored.predictions, period, cfg)
        except KpiError as exc:
            note = f"No scorecards for {period.label}: " + scrub(str(exc))
            return Scorecards(period.label, None, note)
        stamps = tuple((r.asof, _stamp(r.scored_at)) for r in inputs.stored.runs)
        key = (store.url, period.label, stamps)
        with self._lock:
            self._cards = {key: (inputs.dataset, frame)}
        return Scorecards(period.label, frame, None, inputs.stored.asof)


class ManagersPage:
    """Every manager's scorecard and book risk, and one manager's in detail."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.scorecards = ScorecardSource(site.datasets)
        self.plans = Plans()
        self.trends = TrendCache(site.datasets)

    def _kpi_view(self, ctx: Context) -> tuple[ScoringRun, Scorecards, Period, KpiConfig]:
        """The latest scoring, the asked (or default) period's scorecards and the config."""
        params = ctx.params({"period", "plan"})
        cfg = self.site.kpi_config(ctx.svc)
        run = ctx.svc.store.run()
        if "period" in params:
            try:
                period = parse_period(params["period"])
            except KpiError as exc:
                raise PageError(400, "bad_request", f"period: {exc}") from None
        else:
            period = self.scorecards.default_period(run, cfg)
        cards = self.scorecards.scorecards(ctx.svc.store, period, cfg)
        self.plans.issue_for(ctx.svc, period, cards.frame, cfg)
        return run, cards, period, cfg

    def managers(self, ctx: Context) -> Response:
        """Every manager's (a manager: their own) scorecard and book risk; a book without
        account managers gets a page that says what is missing and what would enable it."""
        if not ctx.has_managers():
            run = ctx.svc.store.run()
            return ctx.render(
                "managers.html",
                nav="managers",
                run=run,
                cards=Scorecards("", None, t("no_managers", ctx.lang)),
                period="",
                rows=[],
                no_managers=True,
                lang_url=lambda code: f"{PREFIX}/managers?{urlencode({'lang': code})}",
            )
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
                "card": plain(cards_by_id.get(mid, {})),
                "risk": plain(risk_by_id.get(mid, {})),
            }
            for mid in ids
        ]
        rows.sort(
            key=lambda r: (r["card"].get("rank") is None, r["card"].get("rank") or 0, r["id"])
        )
        return ctx.render(
            "managers.html",
            nav="managers",
            run=run,
            cards=cards,
            period=period.label,
            rows=rows,
            lang_url=lambda code: (
                f"{PREFIX}/managers?{urlencode({'period': period.label, 'lang': code})}"
            ),
        )

    def submit_plan(self, ctx: Context) -> Response:
        """``POST /ui/managers/{id}/plans``: a lead records a submitted improvement plan."""
        return self.plans.submit(ctx, self)

    def manager(
        self,
        ctx: Context,
        status: int = 200,
        plan_form: tuple[dict[str, str], str] | None = None,
    ) -> Response:
        """One manager's scorecard (components, commission), plans, trends, team and book."""
        mid = ctx.request.path_params["manager_id"]
        book = ctx.principal.book
        if book is not None and mid != book:
            ctx.refuse("manager", mid)
            raise PageError(403, "forbidden", t("other_book", ctx.lang, manager=book))
        run, cards, period, cfg = self._kpi_view(ctx)
        risk = book_risk(ctx.svc.store, run)
        scored = cards.managers()
        if mid not in risk.index and mid not in scored.index:
            raise PageError(404, "not_found", t("unknown_manager", ctx.lang, id=mid))
        card = plain(scored.loc[mid].to_dict()) if mid in scored.index else {}
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
        typed, problem = plan_form or ({}, None)
        trends = self.trends(ctx.svc.store, period.months[-1], cfg)
        return ctx.render(
            "manager.html",
            status=status,
            **self.plans.view(ctx, mid, typed, problem),
            trends=trend_charts(trends, mid, card.get("team")),
            trend_missing=", ".join(trends.missing),
            nav="managers",
            mid=mid,
            run=run,
            cards=cards,
            period=period.label,
            card=card,
            team=plain(cards.team(card.get("team")) or {}),
            risk=plain(risk.to_dict("index").get(mid, {})),
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


def trend_charts(trends: Trends, manager: str, team: object) -> list[dict[str, Any]]:
    """One small chart per trend measure: the manager's months and, dashed, the team's."""
    mine, theirs = trends.of(manager), trends.of_team(team)
    labels = list(trends.months)
    out = []
    for measure in TREND_MEASURES:
        values = mine[measure].astype(float).tolist()
        if all(v != v for v in values):
            continue
        base = theirs[measure].astype(float).tolist() if team is not None else None
        chart = line_chart(values, labels, share=measure != "score", baseline=base)
        out.append({"measure": measure, "chart": chart})
    return out

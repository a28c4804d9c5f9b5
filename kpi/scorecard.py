"""The 100-point scorecard of account managers and teams (business rules 5 to 8): component points,
score, grade, monthly ranking with its flags, commission; a quarter or year is the mean of months.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from features.dataset import Dataset
from kpi.activity import SERVICE_COUNTS, activity_ratios, sales_metrics, service_metrics
from kpi.assessment import (
    annual_assessment,
    big_customers,
    probation,
    with_big_customers,
    with_survey,
)
from kpi.campaign_results import RESULT_COLUMNS, period_results
from kpi.commission import commission
from kpi.config import Components, GradeBand, KpiConfig, KpiError, RankingConfig
from kpi.indicators import INDICATOR_COUNTS, indicator_counts, indicator_rates
from kpi.periods import Period, month_end, month_label, parse_period, quarter_start
from kpi.portfolio import (
    MANAGER,
    VALUE_SUMS,
    active_portfolio,
    portfolio_metrics,
    retention_ratios,
)

COMPONENT_METRICS = {
    "risk_adjusted_retention": "risk_adjusted_retention",
    "value_weighted_retention": "value_weighted_retention",
    "satisfaction": "satisfaction",
    "complaint_rate": "complaints_per_100",
    "resolution_time": "mean_resolution_days",
    "sales_vs_quota": "sales_vs_quota",
}
NO_CUSTOMERS = "no customers at the period start: not scored"
PROBATION = "on probation (试用期): not ranked"
# Flows and money add up over the months of a quarter or year; every other figure is averaged.
SUM_COLUMNS = (
    "churned", "complaints", "new_customers", "sales", "monthly_quota", "renewals", "upsells",
    "retention_sales", "sales_commission", "satisfaction_bonus", "retention_commission",
    "commission", "ranking_adjustment", "payout", "first_place", "last_place", "improvement_plan",
    *INDICATOR_COUNTS,
)  # fmt: skip
MONEY = ("sales_commission", "satisfaction_bonus", "retention_commission", "commission", "payout")
TEAM_SUMS = (
    "portfolio_start", "churned", "customers_without_prediction", *VALUE_SUMS, "complaints", *SERVICE_COUNTS, "sales",
    "monthly_quota", "new_customers", "renewals", "upsells", "retention_sales",
    "ranking_adjustment", *MONEY, *INDICATOR_COUNTS,
)  # fmt: skip


def component_points(metrics: pd.DataFrame, components: Components) -> pd.DataFrame:
    """Points 0..100 of each component: linear from ``zero_at`` to ``full_at``, clipped; a
    missing metric gives missing points."""
    cols = {}
    for name, rule in components:
        x = metrics[COMPONENT_METRICS[name]].astype(float)
        cols[f"points_{name}"] = 100 * ((x - rule.zero_at) / (rule.full_at - rule.zero_at)).clip(
            0, 1
        )
    return pd.DataFrame(cols, index=metrics.index)


def _weights(components: Components) -> pd.Series:
    return pd.Series({f"points_{name}": rule.weight for name, rule in components})


def total_score(points: pd.DataFrame, components: Components) -> pd.Series:
    """Weighted mean of the available component points, 0..100, rounded to 2 decimals: weights
    of missing components are spread over the others (so the weights used still add to 100)."""
    w = _weights(components)
    available = points.notna().mul(w).sum(axis=1)
    score = points.fillna(0.0).mul(w).sum(axis=1) / available.where(available > 0)
    return score.clip(0, 100).round(2)


def missing_components(points: pd.DataFrame, components: Components) -> pd.Series:
    """Names of the weighted components without data, comma-separated ("" when none)."""
    w = _weights(components)
    gone = points.isna() & (w > 0).to_numpy()
    names = pd.Index([c.removeprefix("points_") for c in points.columns])
    return gone.apply(lambda row: ", ".join(names[row.to_numpy()]), axis=1).astype("str")


def grade(score: pd.Series, bands: Sequence[GradeBand]) -> pd.Series:
    """Grade band of each score: ``min <= score < max``; the band ending at 100 includes 100."""
    s = score.to_numpy(dtype=float)
    conditions = [(s >= b.min) & ((s < b.max) | ((b.max == 100) & (s == 100))) for b in bands]
    labels = np.select(conditions, [b.grade for b in bands], default="")
    return pd.Series(labels, index=score.index, dtype="str").where(score.notna())


def rank_managers(
    score: pd.Series, cfg: RankingConfig, on_probation: pd.Series | None = None
) -> pd.DataFrame:
    """Monthly rank (1 = best; ties share the place), first and last place, improvement-plan flag
    for the bottom ``improvement_plan_bottom``, and the bonus (+) or deduction (-) (business rule 7).
    Unscored managers and managers ``on_probation`` (document 000) are not ranked; below
    ``min_ranked`` ranked managers nobody is flagged."""
    scored = score.dropna()
    if on_probation is not None:
        scored = scored[~on_probation.reindex(scored.index, fill_value=False).astype(bool)]
    out = pd.DataFrame(index=score.index)
    out["rank"] = scored.rank(method="min", ascending=False).reindex(score.index)
    from_bottom = scored.rank(method="min", ascending=True).reindex(score.index)
    ranked = len(scored) >= cfg.min_ranked
    out["first_place"] = ranked & (out["rank"] == 1)
    out["last_place"] = ranked & (from_bottom == 1)
    out["improvement_plan"] = ranked & (from_bottom <= cfg.improvement_plan_bottom)
    out["ranking_adjustment"] = (
        cfg.first_place_bonus * out["first_place"] - cfg.last_place_deduction * out["last_place"]
    ).astype(float)
    return out


def _join_notes(*notes: pd.Series) -> pd.Series:
    frame = pd.concat([n.fillna("").astype("str") for n in notes], axis=1)
    return frame.apply(lambda row: "; ".join(t for t in row if t), axis=1).astype("str")


def _score(frame: pd.DataFrame, cfg: KpiConfig) -> pd.DataFrame:
    components = cfg.scorecard.components
    points = component_points(frame, components)
    out = frame.join(points)
    out["score"] = total_score(points, components).where(out["portfolio_start"] > 0)
    out["grade"] = grade(out["score"], cfg.scorecard.grades)
    gone = missing_components(points, components)
    gone = ("missing: " + gone).where(gone != "", "")
    empty = pd.Series(np.where(out["portfolio_start"] > 0, "", NO_CUSTOMERS), index=out.index)
    out["notes"] = _join_notes(out["notes"], empty, gone.where(out["portfolio_start"] > 0, ""))
    return out


def _teams(managers: pd.DataFrame, cfg: KpiConfig) -> pd.DataFrame:
    """Team rows: managers' counts and sums pooled and ratios recomputed from them; the score is
    the mean of its scored managers' scores (document 000: the department average), the score
    of the pooled figures kept as ``pooled_score``."""
    grouped = managers[managers["team"].notna()].groupby("team")
    sums = grouped[list(TEAM_SUMS)].sum(min_count=1)
    sums["notes"] = grouped["notes"].agg(lambda s: "; ".join(dict.fromkeys(t for t in s if t)))
    teams = _score(indicator_rates(activity_ratios(retention_ratios(sums))), cfg)
    teams["pooled_score"] = teams["score"]
    teams["score"] = grouped["score"].mean().reindex(teams.index).round(2)
    teams["grade"] = grade(teams["score"], cfg.scorecard.grades)
    teams = teams.reset_index()
    teams["notes"] = teams["notes"].str.replace(NO_CUSTOMERS, "", regex=False).str.strip("; ")
    teams["satisfaction_source"] = (
        grouped["satisfaction_source"].first().reindex(teams["team"]).to_numpy()
    )
    return teams.assign(
        level="team", first_place=False, last_place=False, improvement_plan=False, probation=False
    )


def month_scorecard(
    ds: Dataset, predictions: pd.DataFrame, start: pd.Timestamp, cfg: KpiConfig
) -> pd.DataFrame:
    """Scorecard of the month starting ``start``: one row per manager, then one per team."""
    end = month_end(start)
    port = portfolio_metrics(ds, predictions, start, cfg.outcome)
    service = service_metrics(ds, start, end, port.index, cfg.scorecard, quarter_start(start))
    sales = sales_metrics(ds, start, end, cfg.commission)
    book = active_portfolio(ds, start, cfg.outcome)
    crm = indicator_counts(ds, start, end, book, port.index, cfg.campaign.cost_per_contact)
    frame = sales.drop(columns="notes").join(port).join(service.drop(columns="notes"))
    frame = frame.join(crm.drop(columns="notes"))
    frame = with_survey(frame, ds, quarter_start(start), end, cfg.scorecard)
    trial = probation(ds, start, frame.index, cfg.ranking)
    frame["probation"] = trial
    on_trial = pd.Series(np.where(trial, PROBATION, ""), index=frame.index)
    frame["notes"] = _join_notes(sales["notes"], service["notes"], crm["notes"], on_trial)
    managers = _score(indicator_rates(activity_ratios(frame)), cfg)
    if cfg.big_customers.enabled:  # document 000's optional item, off by default
        managers = managers.join(big_customers(ds, start, end, managers.index, cfg.big_customers))
        managers["score"] = with_big_customers(managers, cfg.big_customers)
        managers["grade"] = grade(managers["score"], cfg.scorecard.grades)
    managers = managers.join(rank_managers(managers["score"], cfg.ranking, trial))
    managers = managers.join(commission(managers, cfg.commission))
    managers["payout"] = (managers["commission"] + managers["ranking_adjustment"]).clip(lower=0)
    managers = managers.reset_index().assign(level="manager")
    return pd.concat([managers, _teams(managers, cfg)], ignore_index=True)


def _mean_of_months(months: pd.DataFrame, cfg: KpiConfig) -> pd.DataFrame:
    """A quarter or year: flows and money summed, everything else (the score included) averaged
    over the months; grade of the mean score; rank by it; flags count the months flagged."""
    key = months[MANAGER].fillna("").astype("str") + "|" + months["team"].fillna("").astype("str")
    months = months.assign(_key=key)
    for flag in ("first_place", "last_place", "improvement_plan", "probation"):
        months[flag] = months[flag].astype(float)
    grouped = months.groupby(["level", "_key"], sort=False)
    numeric = [c for c in months.select_dtypes("number").columns if c not in SUM_COLUMNS]
    out = grouped[numeric].mean().join(grouped[list(SUM_COLUMNS)].sum(min_count=1))
    out["months_scored"] = grouped["score"].count()
    first = grouped[[MANAGER, "team", "satisfaction_source"]].first()
    out["notes"] = grouped["notes"].agg(lambda s: "; ".join(dict.fromkeys(t for t in s if t)))
    out = first.join(out).reset_index(level="level").reset_index(drop=True)
    out = indicator_rates(out)  # pooled over the months, not a mean of monthly rates
    out["score"] = out["score"].round(2)
    out["grade"] = grade(out["score"], cfg.scorecard.grades)
    # on probation in every month of the period: listed, not ranked
    out["probation"] = out["probation"] >= 1
    is_manager = (out["level"] == "manager") & ~out["probation"]
    out["rank"] = out["score"].where(is_manager).rank(method="min", ascending=False)
    return out


def _with_annual(out: pd.DataFrame, ds: Dataset, year: int, cfg: KpiConfig) -> pd.DataFrame:
    """A year's rows with the annual assessment of each manager (document 000, 年度考核):
    ``ability``, ``attitude``, ``performance`` (the mean monthly score) and ``annual_score``
    and ``annual_grade``; team rows get the mean of their managers' annual scores."""
    managers = out["level"] == "manager"
    perf = out.loc[managers].set_index(out.loc[managers, MANAGER].astype("str"))["score"]
    annual, note = annual_assessment(ds, year, perf, cfg.annual)
    out = out.copy()
    keys = out[MANAGER].astype("str")
    for col in annual.columns:
        out[col] = keys.map(annual[col]).where(managers)
    team_mean = out.loc[managers].groupby("team")["annual_score"].mean()
    teams = out["level"] == "team"
    out.loc[teams, "annual_score"] = out.loc[teams, "team"].map(team_mean).round(2)
    out["annual_grade"] = grade(out["annual_score"], cfg.scorecard.grades)
    if note:
        out["notes"] = _join_notes(out["notes"], pd.Series(note, index=out.index).where(managers))
    return out


def _order(frame: pd.DataFrame) -> pd.DataFrame:
    lead = ["period", "level", MANAGER, "team", "score", "grade", "rank"]
    rest = [c for c in frame.columns if c not in lead and not c.startswith("_") and c != "notes"]
    return frame[[*lead, *rest, "notes"]]


def with_campaign_results(card: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """The scorecards with each manager's and team's campaign results (``kpi.campaign_results``)
    beside the score, before ``notes``; they add no points."""
    managers = card["level"] == "manager"
    mine = results.set_index(MANAGER)
    cols = {c: card[MANAGER].map(mine[c]).where(managers) for c in RESULT_COLUMNS}
    added = card.assign(**cols)
    team_of = card.loc[managers].set_index(MANAGER)["team"]
    per = results.assign(team=results[MANAGER].map(team_of))
    per = per.assign(
        churn_t=per["churn_rate_contacted"].fillna(0) * per["contacted"],
        churn_c=per["churn_rate_control"].fillna(0) * per["control"],
    )
    sums = per.groupby("team", observed=True)[
        [
            "contacted",
            "control",
            "churn_t",
            "churn_c",
            "contacted_value",
            "incremental_retained_value",
        ]
    ].sum(min_count=1)
    sums["churn_rate_contacted"] = sums["churn_t"] / sums["contacted"].where(sums["contacted"] > 0)
    sums["churn_rate_control"] = sums["churn_c"] / sums["control"].where(sums["control"] > 0)
    teams = card["level"] == "team"
    for c in RESULT_COLUMNS:
        added.loc[teams, c] = card.loc[teams, "team"].map(sums[c]).to_numpy()
    order = [c for c in added.columns if c != "notes"] + ["notes"]
    return added[order]


def scorecard(
    ds: Dataset,
    predictions: pd.DataFrame,
    period: str | Period,
    cfg: KpiConfig | None = None,
    managers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Scorecards of a month, quarter or year for every manager and team (or, when ``managers``
    is given, those managers and their teams; each must have customers in the period)."""
    cfg = cfg or KpiConfig()
    p = parse_period(period) if isinstance(period, str) else period
    months = [
        month_scorecard(ds, predictions, m, cfg).assign(month=month_label(m)) for m in p.months
    ]
    out = months[0] if p.kind == "month" else _mean_of_months(pd.concat(months), cfg)
    if p.kind == "year":
        out = _with_annual(out, ds, int(p.label), cfg)
    out = _order(out.drop(columns="month", errors="ignore").assign(period=p.label))
    if "contacts" in ds.tables:
        out = with_campaign_results(out, period_results(ds, p, cfg.outcome))
    if managers is None:
        return out
    mine = out[out["level"] == "manager"].set_index(MANAGER)
    unknown = [m for m in managers if m not in mine.index]
    if unknown:
        known = ", ".join(mine.index[:20])
        raise KpiError(f"unknown account manager(s) {', '.join(unknown)}; known: {known}")
    empty = [m for m in managers if not mine.loc[m, "portfolio_start"] > 0]
    if empty:
        raise KpiError(
            f"account manager(s) {', '.join(empty)} have no customers at the start of "
            f"{p.label}, so there is nothing to score"
        )
    teams = set(mine.loc[list(managers), "team"].dropna())
    keep = out[MANAGER].isin(managers) | ((out["level"] == "team") & out["team"].isin(teams))
    return out[keep].reset_index(drop=True)

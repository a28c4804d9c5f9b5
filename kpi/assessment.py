"""The assessment rules of document 000 (客服绩效考核方案) and document 003's survey beside the
100-point scorecard: probation (试用期), the satisfaction bonus from a survey (客户满意度奖励) and
the annual assessment (年度考核: 德、勤、能、绩). Pure functions over the data set's tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.dataset import Dataset
from kpi.config import AnnualConfig, BigCustomerConfig, KpiError, RankingConfig, ScorecardConfig
from kpi.portfolio import MANAGER, assigned_customers

SURVEY, COMPLAINTS = "survey", "complaint ratings"
"""Where the satisfaction bonus's share comes from (``satisfaction_source``)."""


def probation(ds: Dataset, start: pd.Timestamp, index: pd.Index, cfg: RankingConfig) -> pd.Series:
    """Whether each manager of ``index`` is on probation in the period starting ``start``:
    hired less than ``cfg.probation_months`` months before it (or after it). Without a
    ``hire_date`` column, or with ``probation_months: 0``, nobody is."""
    out = pd.Series(False, index=index, dtype=bool)
    managers = ds.table("account_managers")
    if cfg.probation_months == 0 or managers is None or "hire_date" not in managers.columns:
        return out
    hired = managers.set_index(managers[MANAGER].astype("str"))["hire_date"]
    hired = hired[~hired.index.duplicated(keep="first")].reindex(index)
    since = start - pd.DateOffset(months=cfg.probation_months)
    return (hired > since).fillna(False).astype(bool)


def survey_counts(
    ds: Dataset,
    survey_start: pd.Timestamp,
    end: pd.Timestamp,
    index: pd.Index,
    cfg: ScorecardConfig,
) -> pd.DataFrame | None:
    """Answers and satisfied answers of each manager's customers in ``[survey_start, end)``
    (``_rated_q``, ``_satisfied_q``) from the ``surveys`` table; None without one. An answer is
    satisfied when ``satisfied`` is 1, or, with it empty, when ``score`` is at least
    ``cfg.satisfied_min_score``."""
    surveys = ds.table("surveys")
    if surveys is None:
        return None
    owners = assigned_customers(ds).set_index("customer_id")[MANAGER]
    frame = surveys[(surveys["ts"] >= survey_start) & (surveys["ts"] < end)]
    keys = frame["customer_id"].astype("str").map(owners)
    flag = frame["satisfied"] if "satisfied" in frame.columns else pd.Series(np.nan, frame.index)
    if "score" in frame.columns:
        flag = flag.fillna(
            (frame["score"] >= cfg.satisfied_min_score).where(frame["score"].notna())
        )
    answered = flag.notna()
    out = pd.DataFrame(index=index)
    out["_rated_q"] = answered.astype(float).groupby(keys).sum().reindex(index, fill_value=0.0)
    happy = (flag == 1) & answered
    out["_satisfied_q"] = happy.astype(float).groupby(keys).sum().reindex(index, fill_value=0.0)
    return out


def with_survey(
    frame: pd.DataFrame,
    ds: Dataset,
    survey_start: pd.Timestamp,
    end: pd.Timestamp,
    cfg: ScorecardConfig,
) -> pd.DataFrame:
    """``frame`` (per manager) with the quarter's satisfaction counts taken from the survey when
    the data set has one, and ``satisfaction_source`` saying which source decided the bonus."""
    found = survey_counts(ds, survey_start, end, frame.index, cfg)
    out = frame.copy()
    if found is None:
        out["satisfaction_source"] = COMPLAINTS
        return out
    out[["_rated_q", "_satisfied_q"]] = found[["_rated_q", "_satisfied_q"]]
    out["satisfaction_source"] = SURVEY
    return out


def _transactions(ds: Dataset) -> pd.DataFrame:
    tx = ds.table("transactions")
    if tx is None:
        raise KpiError("the big-customer item needs the transactions table")
    return tx


def base_month(ds: Dataset, cfg: BigCustomerConfig) -> pd.Timestamp:
    """The big-customer item's base month: the configured one, else the first full month of
    the transactions (the month of the first one when it falls on the 1st)."""
    if cfg.base_month is not None:
        return pd.Timestamp(f"{cfg.base_month}-01")
    first = pd.Timestamp(_transactions(ds)["ts"].min()).normalize()
    start = first.to_period("M").to_timestamp()
    return start if first == start else start + pd.offsets.MonthBegin(1)


def big_customers(
    ds: Dataset, start: pd.Timestamp, end: pd.Timestamp, index: pd.Index, cfg: BigCustomerConfig
) -> pd.DataFrame:
    """Per manager of ``index``: the base-month and this month's revenue of the big customers
    (the ``cfg.top_n`` with the most revenue in the base month) the manager looks after, and
    ``points_big_customers``: 100 when this month's is at least ``1 + cfg.growth`` times the
    base month's, 0 when not, missing for a manager with no big customer."""
    base = base_month(ds, cfg)
    tx = _transactions(ds)
    base_end = base + pd.offsets.MonthBegin(1)
    in_base = tx[(tx["ts"] >= base) & (tx["ts"] < base_end)]
    by_customer = in_base.groupby(in_base["customer_id"].astype("str"))["amount"].sum()
    top = by_customer.sort_values(ascending=False, kind="stable").head(cfg.top_n)
    top = top[top > 0]
    owners = assigned_customers(ds).set_index("customer_id")[MANAGER]
    mine = pd.Series(top.index.map(owners), index=top.index).dropna()
    month = tx[(tx["ts"] >= start) & (tx["ts"] < end)]
    month = month[month["customer_id"].astype("str").isin(mine.index)]
    now = month.groupby(month["customer_id"].astype("str"))["amount"].sum()
    out = pd.DataFrame(index=index)
    out["big_customers"] = mine.groupby(mine).size().reindex(index).astype(float)
    base_rev = top.reindex(mine.index).groupby(mine).sum()
    now_rev = now.reindex(mine.index, fill_value=0.0).groupby(mine).sum()
    out["big_customer_base_revenue"] = base_rev.reindex(index)
    out["big_customer_revenue"] = now_rev.reindex(index)
    earned = out["big_customer_revenue"] >= (1 + cfg.growth) * out["big_customer_base_revenue"]
    out["points_big_customers"] = (100.0 * earned).where(out["big_customers"] > 0)
    return out


def with_big_customers(frame: pd.DataFrame, cfg: BigCustomerConfig) -> pd.Series:
    """The score with the big-customer item: ``(100 - weight)`` % of the score plus the item's
    share for a manager with big customers; unchanged for the others."""
    w = cfg.weight / 100
    points = frame["points_big_customers"]
    mixed = ((1 - w) * frame["score"] + w * points).round(2)
    return mixed.where(points.notna() & frame["score"].notna(), frame["score"])


REVIEW_COLUMNS = ("ability", "attitude", "performance", "annual_score", "annual_grade")


def annual_assessment(
    ds: Dataset, year: int, performance: pd.Series, cfg: AnnualConfig
) -> tuple[pd.DataFrame, str]:
    """The annual assessment of each manager of ``performance`` (the mean of the year's monthly
    scores, 绩, indexed by manager): ``ability`` (能) and ``attitude`` (德、勤) from the
    ``manager_reviews`` row of ``year`` (the last one given), and ``annual_score``, the weighted
    mean with ``cfg``'s weights of the parts present (a missing part's weight is spread over the
    others, as the scorecard's). Returns the frame and a note ("" when every part was there)."""
    out = pd.DataFrame(index=performance.index)
    out["performance"] = performance.astype(float)
    reviews = ds.table("manager_reviews")
    if reviews is None:
        out["ability"] = out["attitude"] = np.nan
        note = "no manager_reviews table: the annual score is the mean of the monthly scores"
    else:
        rows = reviews[reviews["year"] == year].drop_duplicates(MANAGER, keep="last")
        rows = rows.set_index(rows[MANAGER].astype("str"))
        for col in ("ability", "attitude"):
            have = col in rows.columns
            out[col] = rows[col].reindex(out.index).astype(float) if have else np.nan
        missing = out.index[out[["ability", "attitude"]].isna().any(axis=1)]
        note = (
            f"no review of {year} for {', '.join(map(str, missing[:10]))}" if len(missing) else ""
        )
    weights = pd.Series(
        {"performance": cfg.performance_weight, "ability": cfg.ability_weight,
         "attitude": cfg.attitude_weight}
    )  # fmt: skip
    parts = out[list(weights.index)]
    used = parts.notna().mul(weights).sum(axis=1)
    score = parts.fillna(0.0).mul(weights).sum(axis=1) / used.where(used > 0)
    out["annual_score"] = score.clip(0, 100).round(2).where(out["performance"].notna())
    return out, note


def check_year(period_label: str) -> int:
    """The year of a ``YYYY`` period label; KpiError for a month or quarter."""
    if len(period_label) != 4 or not period_label.isdigit():
        raise KpiError(f"the annual assessment is of a year (YYYY), not {period_label}")
    return int(period_label)

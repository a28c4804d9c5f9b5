"""Per-manager retention over one month: the portfolio at the start, who churned, and the value kept
against the value the predictions made at the start expected to keep (docs/business-rules.md, retention-weighted
scoring). Head counts cover the whole portfolio; value figures cover customers with a prediction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.config import LabelConfig
from features.dataset import Dataset
from features.pipeline.cutoffs import timestamp_days, to_days
from features.pipeline.labels import churn_basis
from features.pipeline.population import active_mask, prepare_customers
from features.pipeline.rfm import is_refund
from kpi.config import KpiError, OutcomeConfig, RetentionWeights
from kpi.periods import month_end

MANAGER = "account_manager_id"
PREDICTION_COLUMNS = ("churn_probability", "predicted_value")
VALUE_SUMS = (
    "starting_value", "expected_retained_value", "retained_value",
    "weight_start", "weight_expected_retained", "weight_retained",
)  # fmt: skip
_DAY = pd.Timedelta(days=1)


def _ids(values: pd.Series | pd.Index, limit: int = 10) -> str:
    return ", ".join(map(str, list(dict.fromkeys(values))[:limit]))


def _list_names(columns: pd.Index) -> dict[str, str]:
    """The at-risk and win-back lists name scores after the horizon (``churn_probability_90d``,
    ``value_if_retained_90d``): map them to the predictions' own names."""
    out = {}
    for col in map(str, columns):
        for prefix, name in (
            ("churn_probability_", "churn_probability"),
            ("value_if_retained_", "predicted_value"),
        ):
            if col.startswith(prefix) and col.endswith("d") and name not in columns:
                out[col] = name
    return out


def prepare_predictions(
    predictions: pd.DataFrame, as_of: pd.Timestamp | None = None, keep: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Check a predictions frame and index it by ``customer_id``.

    When the frame has an ``as_of`` column (several scoring dates), only the rows made at ``as_of``
    are kept. An optional ``reasons`` column, and the columns in ``keep``, are carried along.
    """
    frame = predictions.rename(columns=_list_names(predictions.columns))
    if "customer_id" in frame.columns:
        frame = frame.set_index("customer_id")
    elif frame.index.name != "customer_id":
        raise KpiError("predictions need a customer_id column (or index)")
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise KpiError(
            f"predictions lack column(s) {', '.join(missing)}; found: {', '.join(frame.columns)}"
        )
    if "as_of" in frame.columns and as_of is not None:
        dates = pd.to_datetime(frame["as_of"]).dt.normalize()
        if not (dates == as_of).any():
            found = _ids(sorted(dates.dt.strftime("%Y-%m-%d").unique()))
            raise KpiError(f"predictions have no rows made at {as_of:%Y-%m-%d} (found: {found})")
        frame = frame[(dates == as_of).to_numpy()]
    frame = frame.copy()
    frame.index = frame.index.astype("str").rename("customer_id")
    dup = frame.index.duplicated()
    if dup.any():
        raise KpiError(f"predictions repeat customer_id(s) {_ids(frame.index[dup])}")
    p = pd.to_numeric(frame["churn_probability"], errors="coerce")
    bad = ~p.between(0, 1)
    if bad.any():
        raise KpiError(
            f"predictions: churn_probability must be a number from 0 to 1; customer(s) "
            f"{_ids(frame.index[bad])} have {_ids(frame['churn_probability'][bad].astype(str))}"
        )
    v = pd.to_numeric(frame["predicted_value"], errors="coerce")
    bad = ~(np.isfinite(v) & (v >= 0))
    if bad.any():
        raise KpiError(
            f"predictions: predicted_value must be a finite number >= 0; customer(s) "
            f"{_ids(frame.index[bad])} have {_ids(frame['predicted_value'][bad].astype(str))}"
        )
    frame["churn_probability"], frame["predicted_value"] = p.astype(float), v.astype(float)
    carried = [c for c in ("reasons", *keep) if c in frame.columns and c not in PREDICTION_COLUMNS]
    return frame[[*PREDICTION_COLUMNS, *carried]]


def assigned_customers(ds: Dataset) -> pd.DataFrame:
    """Customers with an account manager (customer_id, account_manager_id, dates)."""
    customers = ds.table("customers")
    if customers is None or MANAGER not in customers.columns:
        raise KpiError(
            "the customers table has no account_manager_id column; KPI scorecards and "
            "campaigns need each customer's account manager"
        )
    frame = customers[customers[MANAGER].notna()].copy()
    frame["customer_id"] = frame["customer_id"].astype("str")
    frame[MANAGER] = frame[MANAGER].astype("str")
    return frame


def manager_roster(ds: Dataset) -> pd.DataFrame:
    """Every account manager (from the managers table and the customers), with team and quota."""
    ids = assigned_customers(ds)[MANAGER]
    managers = ds.table("account_managers")
    roster = pd.DataFrame(index=pd.Index([], dtype="str", name=MANAGER))
    if managers is not None:
        roster = managers.assign(**{MANAGER: managers[MANAGER].astype("str")}).set_index(MANAGER)
    roster = roster.reindex(roster.index.union(pd.Index(ids.unique(), dtype="str")))
    roster.index.name = MANAGER
    for col in ("team", "monthly_quota"):
        if col not in roster.columns:
            roster[col] = np.nan
    return roster[["team", "monthly_quota"]].sort_index()


def outcome_window(ds: Dataset, start: pd.Timestamp, cfg: OutcomeConfig) -> pd.Timestamp:
    """Exclusive end of the outcome window from ``start``; it must lie within the data."""
    end = start + pd.Timedelta(days=cfg.horizon_days) if cfg.horizon_days else month_end(start)
    data_end = ds.as_of + _DAY
    if end > data_end:
        raise KpiError(
            f"no data for the period starting {start:%Y-%m-%d}: its outcome window runs to "
            f"{end - _DAY:%Y-%m-%d} but the data runs to {ds.as_of:%Y-%m-%d} (as-of date)"
        )
    return end


def active_portfolio(ds: Dataset, start: pd.Timestamp, cfg: OutcomeConfig) -> pd.DataFrame:
    """Assigned customers active at ``start`` (``features.pipeline.population``: signed up before, not
    cancelled before, and a contract on file or a purchase or signup in ``active_window_days``),
    with ``contractual``: whether churn is judged by cancellation (``features.pipeline.labels``)."""
    assigned = assigned_customers(ds)  # refuses a data set without managers
    customers = ds.tables["customers"]  # a required table
    arrays = prepare_customers(ds)
    basis = churn_basis(arrays, LabelConfig(churn_definition=cfg.churn_definition))
    tx = ds.tables["transactions"]  # a required table
    before = tx[tx["ts"] < start]
    last = before.groupby(before["customer_id"].astype("str"))["ts"].max().reindex(arrays.index)
    last_days = to_days(pd.to_datetime(last), "last purchase")
    active = active_mask(
        arrays, basis.exempt_from_activity, last_days, timestamp_days(start), cfg.population
    )
    book = assigned.loc[active[customers.index.get_indexer(assigned.index)]]
    book = book[["customer_id", MANAGER, "signup_date"]].assign(
        contractual=basis.label_contractual[customers.index.get_indexer(book.index)]
    )
    return book.reset_index(drop=True)


def churned_between(
    ds: Dataset, book: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> np.ndarray:
    """Whether each portfolio customer churned in ``[start, end)``: cancelled (contractual) or
    no purchase at all, refunds not counting (non-contractual), the rule of
    ``features.pipeline.labels``."""
    customers = ds.tables["customers"].set_index("customer_id")  # a required table
    ids = book["customer_id"].to_numpy()
    if "cancelled_at" in customers.columns:
        when = customers["cancelled_at"].reindex(ids)
        cancelled = ((when >= start) & (when < end)).to_numpy()
    else:
        cancelled = np.zeros(len(ids), dtype=bool)
    tx = ds.tables["transactions"]
    bought = (tx["ts"] >= start).to_numpy() & (tx["ts"] < end).to_numpy() & ~is_refund(tx)
    buyers = tx.loc[bought, "customer_id"].astype("str")
    inactive = ~book["customer_id"].isin(buyers).to_numpy()
    return np.where(book["contractual"].to_numpy(), cancelled, inactive)


def _window_probability(p: pd.Series, window_days: int, cfg: OutcomeConfig) -> pd.Series:
    if cfg.prediction_horizon_days is None or cfg.prediction_horizon_days == window_days:
        return p
    return 1 - (1 - p) ** (window_days / cfg.prediction_horizon_days)


def retention_weights(value: np.ndarray, cfg: RetentionWeights) -> np.ndarray:
    """Each customer's weight in the retention ratios, from their predicted value (NaN without
    a prediction); the cap of ``capped_value`` is the quantile over every value given, so pass
    the whole book of the period start, not one manager's."""
    v = np.asarray(value, dtype=float)
    if cfg.method == "value":
        return v
    if cfg.method == "log_value":
        return np.log1p(v)
    if cfg.method == "head_count":
        return np.where(np.isnan(v), np.nan, 1.0)
    known = v[~np.isnan(v)]
    cap = np.quantile(known, cfg.cap_quantile) if len(known) else np.nan
    return np.minimum(v, cap)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).astype(float)


def portfolio_metrics(
    ds: Dataset, predictions: pd.DataFrame, start: pd.Timestamp, cfg: OutcomeConfig
) -> pd.DataFrame:
    """Retention figures per manager for the month starting ``start`` (managers with an empty
    portfolio get zero counts and missing ratios)."""
    end = outcome_window(ds, start, cfg)
    book = active_portfolio(ds, start, cfg)
    if book.empty:
        raise KpiError(
            f"no data for the period starting {start:%Y-%m-%d}: no assigned customer is active "
            f"then (signups run from {assigned_customers(ds)['signup_date'].min():%Y-%m-%d})"
        )
    preds = prepare_predictions(predictions, as_of=start)
    matched = book["customer_id"].isin(preds.index)
    if not matched.any():
        raise KpiError(
            f"the predictions cover none of the {len(book)} customers active at "
            f"{start:%Y-%m-%d}; were they made at that date for this data set?"
        )
    churned = churned_between(ds, book, start, end)
    pr = preds.reindex(book["customer_id"].to_numpy())
    p = _window_probability(pr["churn_probability"], (end - start).days, cfg).to_numpy()
    v = pr["predicted_value"].to_numpy()
    w = retention_weights(v, cfg.weights)
    rows = pd.DataFrame(
        {
            MANAGER: book[MANAGER].to_numpy(),
            "churned": churned.astype(int),
            "no_prediction": (~matched).astype(int).to_numpy(),
            "starting_value": v,
            "retained_value": np.where(churned, 0.0, v),
            "expected_retained_value": (1 - p) * v,
            "weight_start": w,
            "weight_retained": np.where(churned, 0.0, w),
            "weight_expected_retained": (1 - p) * w,
        }
    )
    g = rows.groupby(MANAGER)
    out = (
        g[["churned", "no_prediction"]]
        .sum()
        .rename(columns={"no_prediction": "customers_without_prediction"})
    )
    out.insert(0, "portfolio_start", g.size())
    sums = g[list(VALUE_SUMS)].sum(min_count=1)
    out = out.join(sums).reindex(manager_roster(ds).index)
    counts = ["portfolio_start", "churned", "customers_without_prediction"]
    out[counts] = out[counts].fillna(0).astype(int)
    return retention_ratios(out)


def retention_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    """Churn and retention rates, value-weighted and risk-adjusted retention from the counts and
    value sums (for managers, or for teams after summing their managers)."""
    out = frame.copy()
    out["churn_rate"] = _ratio(out["churned"], out["portfolio_start"])
    out["retention_rate"] = 1 - out["churn_rate"]
    out["value_weighted_retention"] = _ratio(out["weight_retained"], out["weight_start"])
    out["risk_adjusted_retention"] = _ratio(out["weight_retained"], out["weight_expected_retained"])
    return out

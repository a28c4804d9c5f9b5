"""Retention campaign decisions and what they save.

Contacting customer i costs c_i and keeps them with probability s_i if they would churn, so its
expected profit is P_i x V_i x s_i - c_i (``core.economics.saved_value``); c and s come from
the customer's own ``contact_cost`` when the data has one, else from the configuration by plan,
by segment or its default. Two rules decide whom to contact: the capacity-aware list (per
manager, the K largest positive expected profits) and the expected-profit rule (everybody whose
expected profit is positive, no capacity). :func:`rule_savings` sets both against contacting
nobody and contacting everybody. Vectorised: one sort and a per-manager running count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.economics import ContactCost, SuccessRate, saved_value
from features.dataset import Dataset
from kpi.config import KpiError, OutcomeConfig
from kpi.portfolio import MANAGER, _ids, active_portfolio, churned_between, prepare_predictions

REQUIRED = ("customer_id", MANAGER, "churn_probability", "predicted_value")
OWN_COST = "contact_cost"
"""A candidate's own contact cost (blank: the configured cost applies)."""
Cost = float | ContactCost
Rate = float | SuccessRate
UPLIFT = "uplift"
"""A candidate's estimated effect of a contact: the reduction in P(churn within the horizon)."""
INCREMENTAL = "expected_incremental_value"
STRATEGIES = ("uplift", "value-at-risk", "risk")
"""How ``churn campaign --by`` ranks each manager's customers (see :func:`select_by`)."""


def _check(candidates: pd.DataFrame, capacity: int, cost: Cost, success_rate: Rate) -> None:
    missing = [c for c in REQUIRED if c not in candidates.columns]
    if missing:
        raise KpiError(f"campaign candidates lack column(s) {', '.join(missing)}")
    if capacity < 0:
        raise KpiError(f"capacity per manager must be 0 or more, got {capacity}")
    if not isinstance(cost, ContactCost) and (not np.isfinite(cost) or cost < 0):
        raise KpiError(f"cost per contact must be a number >= 0, got {cost}")
    if not isinstance(success_rate, SuccessRate) and not 0 <= success_rate <= 1:
        raise KpiError(f"success rate must be between 0 and 1, got {success_rate}")


def _column(candidates: pd.DataFrame, name: str) -> pd.Series | None:
    return candidates[name] if name in candidates.columns else None


def candidate_economics(
    candidates: pd.DataFrame, cost: Cost, success_rate: Rate
) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's contact cost and success rate: a rule is resolved by the candidate's
    ``plan`` and ``segment``; a number applies to everyone; a valid own ``contact_cost`` wins."""
    segment, plan = _column(candidates, "segment"), _column(candidates, "plan")
    n = len(candidates)
    if isinstance(cost, ContactCost):
        c = cost.resolve(segment, plan) if segment is not None or plan is not None else None
        c = np.full(n, cost.default) if c is None else c
    else:
        c = np.full(n, float(cost))
    if isinstance(success_rate, SuccessRate):
        s = success_rate.resolve(segment, plan) if segment is not None or plan is not None else None
        s = np.full(n, success_rate.default) if s is None else s
    else:
        s = np.full(n, float(success_rate))
    own = _column(candidates, OWN_COST)
    if own is not None:
        mine = pd.to_numeric(own, errors="coerce").to_numpy(dtype=float)
        c = np.where(np.isfinite(mine) & (mine >= 0), mine, c)
    return c, s


def expected_saved_value(candidates: pd.DataFrame, cost: Cost, success_rate: Rate) -> pd.DataFrame:
    """Candidates with ``value_at_risk`` = P x V, their ``contact_cost`` c and ``success_rate`` s,
    and ``expected_saved_value`` = P x V x s - c."""
    out = candidates.copy()
    c, s = candidate_economics(candidates, cost, success_rate)
    out["value_at_risk"] = out["churn_probability"] * out["predicted_value"]
    out[OWN_COST], out["success_rate"] = c, s
    out["expected_saved_value"] = saved_value(out["value_at_risk"].to_numpy(), s, c)
    return out


def _first_per_manager(ranked: pd.DataFrame, capacity: int) -> pd.DataFrame:
    ranked = ranked.assign(priority=ranked.groupby(MANAGER, sort=False).cumcount() + 1)
    chosen = ranked[ranked["priority"] <= capacity].sort_values([MANAGER, "priority"])
    lead = [MANAGER, "priority", "customer_id", "churn_probability", "predicted_value"]
    rest = ["value_at_risk", OWN_COST, "success_rate", "expected_saved_value"]
    rest += [c for c in (UPLIFT, INCREMENTAL) if c in chosen.columns]
    extra = [c for c in chosen.columns if c not in (*lead, *rest)]
    return chosen[[*lead, *rest, *extra]].reset_index(drop=True)


def select_campaign(
    candidates: pd.DataFrame, capacity_per_manager: int, cost: Cost, success_rate: Rate
) -> pd.DataFrame:
    """Per manager, up to ``capacity_per_manager`` customers with the largest positive expected
    saved value, in priority order; extra columns (e.g. ``reasons``) are carried along.
    Taking the K largest positive terms maximises the sum of P x V x s - c under the capacity."""
    _check(candidates, capacity_per_manager, cost, success_rate)
    scored = expected_saved_value(candidates, cost, success_rate)
    scored = scored[scored["expected_saved_value"] > 0]
    ranked = scored.sort_values(
        [MANAGER, "expected_saved_value", "customer_id"], ascending=[True, False, True]
    )
    return _first_per_manager(ranked, capacity_per_manager)


def select_profitable(candidates: pd.DataFrame, cost: Cost, success_rate: Rate) -> pd.DataFrame:
    """The expected-profit rule: every candidate with P x V x s > c, whatever the capacity."""
    return select_campaign(candidates, len(candidates), cost, success_rate)


def select_by_probability(
    candidates: pd.DataFrame, capacity_per_manager: int, cost: Cost, success_rate: Rate
) -> pd.DataFrame:
    """The naive baseline: per manager, the ``capacity_per_manager`` highest churn probabilities."""
    _check(candidates, capacity_per_manager, cost, success_rate)
    scored = expected_saved_value(candidates, cost, success_rate)
    ranked = scored.sort_values(
        [MANAGER, "churn_probability", "customer_id"], ascending=[True, False, True]
    )
    return _first_per_manager(ranked, capacity_per_manager)


def incremental_value(candidates: pd.DataFrame, cost: Cost, success_rate: Rate) -> pd.DataFrame:
    """:func:`expected_saved_value` plus ``expected_incremental_value``: with an ``uplift`` column,
    uplift x value if retained - cost (what a contact adds against not contacting); without one,
    the flat-success estimate P x V x s - cost."""
    out = expected_saved_value(candidates, cost, success_rate)
    if UPLIFT in out.columns:
        effect = pd.to_numeric(out[UPLIFT], errors="coerce").fillna(0.0).to_numpy(float)
        out[INCREMENTAL] = effect * out["predicted_value"].to_numpy(float) - out[OWN_COST]
    else:
        out[INCREMENTAL] = out["expected_saved_value"]
    return out


def select_by(
    candidates: pd.DataFrame, capacity_per_manager: int, by: str, cost: Cost, success_rate: Rate
) -> pd.DataFrame:
    """Per manager, the ``capacity_per_manager`` first customers of a ranking (all of them when
    the manager has fewer), so every strategy contacts the same number of customers:

    - ``uplift``: expected incremental value, uplift x value if retained - cost (needs ``uplift``);
    - ``value-at-risk``: P x V x s - cost, the expected-profit rule of :func:`select_campaign`;
    - ``risk``: P(churn).
    """
    _check(candidates, capacity_per_manager, cost, success_rate)
    if by not in STRATEGIES:
        raise KpiError(f"campaign strategy must be one of {', '.join(STRATEGIES)}, got {by!r}")
    if by == "uplift" and UPLIFT not in candidates.columns:
        raise KpiError(
            "ranking by uplift needs each candidate's estimated effect of a contact (an uplift "
            "model: `churn train` on data with a contacts table)"
        )
    scored = incremental_value(candidates, cost, success_rate)
    key = {
        "uplift": INCREMENTAL,
        "value-at-risk": "expected_saved_value",
        "risk": "churn_probability",
    }
    ranked = scored.sort_values(
        [MANAGER, key[by], "customer_id"], ascending=[True, False, True], kind="stable"
    )
    return _first_per_manager(ranked, capacity_per_manager)


def rule_savings(
    candidates: pd.DataFrame,
    capacity_per_manager: int,
    cost: Cost,
    success_rate: Rate,
    churned: pd.Series | None = None,
) -> pd.DataFrame:
    """What each decision rule saves, one row per rule: contacts, their cost, the expected value
    kept (P x V x s) and the net saving against contacting nobody and against contacting
    everybody. With ``churned`` (the observed outcome per ``customer_id``), also the realised
    net saving: the value of the contacted customers who did churn x s, less the cost."""
    _check(candidates, capacity_per_manager, cost, success_rate)
    everyone = expected_saved_value(candidates, cost, success_rate)
    rules = {
        f"top {capacity_per_manager} per manager by expected profit": select_campaign(
            candidates, capacity_per_manager, cost, success_rate
        ),
        f"top {capacity_per_manager} per manager by probability": select_by_probability(
            candidates, capacity_per_manager, cost, success_rate
        ),
        UPPER_BOUND_RULE: select_profitable(candidates, cost, success_rate),
        "everybody": everyone,
        "nobody": everyone.iloc[:0],
    }
    rows = []
    for name, chosen in rules.items():
        row = {
            "rule": name,
            "contacts": len(chosen),
            "cost": float(chosen[OWN_COST].sum()),
            "expected_kept_value": float((chosen["value_at_risk"] * chosen["success_rate"]).sum()),
            "saving_vs_nobody": float(chosen["expected_saved_value"].sum()),
        }
        if churned is not None:
            lost = churned.reindex(chosen["customer_id"].to_numpy()).fillna(False).to_numpy(bool)
            kept = chosen["predicted_value"].to_numpy() * chosen["success_rate"].to_numpy()
            row["realised_saving_vs_nobody"] = float((kept * lost).sum() - row["cost"])
        rows.append(row)
    out = pd.DataFrame(rows)
    top = out.set_index("rule").loc["everybody"]
    out.insert(5, "saving_vs_everybody", out["saving_vs_nobody"] - top["saving_vs_nobody"])
    if churned is not None:
        realised = out["realised_saving_vs_nobody"] - top["realised_saving_vs_nobody"]
        out["realised_saving_vs_everybody"] = realised
    return out


def _own_costs(values: pd.Series, where: str, notes: list[str]) -> pd.Series:
    """Per-customer contact costs as numbers; a blank stays blank, a bad value (text, negative,
    infinite) becomes blank with a note naming the customers, so the configured cost applies."""
    text = values.astype("str").str.strip()
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    bad = (values.notna() & (text != "") & ~(np.isfinite(numbers) & (numbers >= 0))).to_numpy()
    if bad.any():
        notes.append(
            f"{where}: {int(bad.sum())} customer(s) have a contact cost that is not a number "
            f">= 0 ({_ids(values.index[bad])}: {_ids(text[bad])}); their configured cost applies"
        )
    return numbers.where(~bad)


def campaign_candidates(
    ds: Dataset,
    predictions: pd.DataFrame,
    as_of: pd.Timestamp,
    cfg: OutcomeConfig,
    cost_column: str | None = None,
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """Customers active at ``as_of`` with their manager, their prediction (and ``reasons`` when
    the predictions carry them), their ``segment`` and ``plan`` and their own ``contact_cost``:
    the predictions' ``cost_column`` when given, else the customers table's ``contact_cost``
    (bad values are noted in ``notes`` and left blank). Customers without a prediction are left
    out."""
    notes = [] if notes is None else notes
    book = active_portfolio(ds, as_of, cfg)
    if book.empty:
        raise KpiError(f"no assigned customer is active at {as_of:%Y-%m-%d}; nothing to contact")
    if "lifecycle_status" in predictions:  # lapsed customers belong to the win-back list
        predictions = predictions[predictions["lifecycle_status"].fillna("active") != "lapsed"]
    if cost_column is not None and cost_column not in predictions.columns:
        raise KpiError(
            f"predictions have no column {cost_column!r} for the contact cost; found: "
            f"{', '.join(map(str, predictions.columns))}"
        )
    keep = (cost_column,) if cost_column else ()
    preds = prepare_predictions(predictions, as_of=as_of, keep=keep)
    customers = ds.tables["customers"].assign(customer_id=lambda f: f["customer_id"].astype("str"))
    profile = customers.set_index("customer_id")
    profile = profile[[c for c in ("segment", "plan", OWN_COST) if c in profile.columns]]
    joined = book[["customer_id", MANAGER]].join(preds, on="customer_id", how="inner")
    joined = joined.join(profile.drop(columns=OWN_COST, errors="ignore"), on="customer_id")
    if joined.empty:
        raise KpiError(
            f"the predictions cover none of the {len(book)} customers active at {as_of:%Y-%m-%d}"
        )
    own = pd.Series(np.nan, index=joined["customer_id"].to_numpy())
    if OWN_COST in profile.columns:
        listed = profile[OWN_COST].reindex(own.index)
        own = _own_costs(listed, f"customers table, column {OWN_COST}", notes)
    if cost_column:
        given = preds[cost_column].reindex(own.index)
        own = _own_costs(given, f"predictions, column {cost_column}", notes).fillna(own)
    joined[OWN_COST] = own.to_numpy()
    return joined.reset_index(drop=True)


def observed_churn(
    ds: Dataset, as_of: pd.Timestamp, cfg: OutcomeConfig, horizon_days: int
) -> pd.Series | None:
    """Whether each customer active at ``as_of`` churned in the ``horizon_days`` after it, by
    ``customer_id``; None while the data does not reach the end of that window yet."""
    end = as_of + pd.Timedelta(days=horizon_days)
    if end > ds.as_of + pd.Timedelta(days=1):
        return None
    book = active_portfolio(ds, as_of, cfg)
    return pd.Series(churned_between(ds, book, as_of, end), index=book["customer_id"].to_numpy())


UPPER_BOUND_RULE = "expected profit > 0 (no capacity)"
"""The rule that ignores the capacity: what contacting every profitable customer would save."""


def recommended_rule(savings: pd.DataFrame) -> tuple[str, str | None]:
    """Of :func:`rule_savings`'s rules, the one with the highest expected saving among those that
    keep to the capacity (every rule but the no-capacity one and ``everybody``), and the
    no-capacity rule, the upper bound (None when it is not there)."""
    unbounded = {UPPER_BOUND_RULE, "everybody"}
    bounded = savings[~savings["rule"].isin(unbounded)]
    best = bounded.sort_values("saving_vs_nobody", ascending=False, kind="stable").iloc[0]
    upper = UPPER_BOUND_RULE if (savings["rule"] == UPPER_BOUND_RULE).any() else None
    return str(best["rule"]), upper

"""Turn the simulated arrays into the contract's typed tables and the hidden-truth tables.

Strings are built with Arrow kernels (no Python objects per row) so a million customers fit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.contract import CHANNELS, DIRECTIONS, TABLES, TRANSACTION_KINDS
from features.dataset import Dataset
from features.synthetic.assessment import contact_costs, hire_dates, reviews_table, surveys_table
from features.synthetic.campaigns import CHANNELS as CONTACT_CHANNELS
from features.synthetic.campaigns import OFFERS
from features.synthetic.campaigns import OUTCOMES as CONTACT_OUTCOMES
from features.synthetic.config import GeneratorConfig
from features.synthetic.events import COMPLAINT_CATEGORIES, OUTCOMES
from features.synthetic.population import (
    ANNUAL,
    PAYG,
    PLANS,
    PRODUCTS,
    Calendar,
    Managers,
    Population,
    add_months,
)
from features.synthetic.simulate import Simulation


def numbered(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """``prefix`` + zero-padded numbers as a pandas ``str`` Series (e.g. C0000042)."""
    text = pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width, "0")
    return pd.Series(pd.array(pc.binary_join_element_wise(prefix, text, ""), dtype="str"))


def labels(vocabulary: tuple[str, ...], codes: np.ndarray) -> pd.Series:
    """Codes into a pandas ``str`` Series of ``vocabulary`` values; code -1 is missing."""
    codes = np.asarray(codes, dtype=np.int64)
    text = pd.array(list(vocabulary), dtype="str").take(codes, allow_fill=True)
    return pd.Series(text)


def pick(ids: pd.Series, rows: np.ndarray) -> pd.Series:
    """``ids[rows]`` as a new ``str`` Series (Arrow take, no Python objects)."""
    taken = pc.take(pa.array(ids.array), pa.array(rows.astype(np.int32)))
    return pd.Series(pd.array(taken, dtype="str"))


def _blank(rng: np.random.Generator, codes: np.ndarray, rate: float) -> np.ndarray:
    """Codes with a share ``rate`` set to -1 (missing)."""
    return np.where(rng.random(len(codes)) < rate, -1, codes)


def timestamps(cal: Calendar, days: np.ndarray) -> np.ndarray:
    """Float days since the calendar start as naive ``datetime64[us]`` (to the second)."""
    seconds = np.round(np.asarray(days, dtype=float) * 86400.0)
    finite = np.isfinite(seconds)
    us = np.where(finite, seconds, 0).astype(np.int64) * 1_000_000
    stamps = cal.start.astype("datetime64[us]") + us.astype("timedelta64[us]")
    return np.where(finite, stamps, np.datetime64("NaT", "us"))


def _term_end(cal: Calendar, signup: np.ndarray, when: np.ndarray, months: np.ndarray):
    """First contract anniversary (term ``months`` long) on or after ``when`` (days)."""
    first = cal.start + signup.astype("timedelta64[D]")
    target = cal.start + np.floor(when).astype(np.int64).astype("timedelta64[D]")
    elapsed = target.astype("datetime64[M]").astype(np.int64) - first.astype(
        "datetime64[M]"
    ).astype(np.int64)
    k = np.maximum(elapsed // months, 1)
    end = add_months(first, k * months)
    return np.where(end < target, add_months(first, (k + 1) * months), end)


def customers_table(
    pop: Population,
    sim: Simulation,
    ids: pd.Series,
    mgr_ids: pd.Series,
    cal: Calendar,
    cfg: GeneratorConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The customers table; segment, region and manager sometimes missing."""
    churned = sim.churn < cal.end
    contractual = pop.plan != PAYG
    months = np.where(pop.plan == ANNUAL, 12, 1)
    when = np.where(churned, sim.churn, cal.end - 1)
    term_end = _term_end(cal, pop.signup, when, months).astype("datetime64[us]")
    cancelled = timestamps(cal, np.where(churned & contractual, sim.churn, np.nan))
    return pd.DataFrame(
        {
            "customer_id": ids,
            "signup_date": timestamps(cal, pop.signup),
            "segment": labels(cfg.segments, _blank(rng, pop.segment, cfg.missing_rate)),
            "region": labels(cfg.regions, _blank(rng, pop.region, cfg.missing_rate)),
            "plan": labels(PLANS, pop.plan),
            "account_manager_id": pd.Series(
                mgr_ids.array.take(_blank(rng, pop.manager, cfg.missing_rate / 2), allow_fill=True)
            ),
            "contract_end_date": np.where(contractual, term_end, np.datetime64("NaT", "us")),
            "cancelled_at": cancelled,
        }
    )


def transactions_table(
    sim: Simulation, ids: pd.Series, cal: Calendar, cfg: GeneratorConfig, rng: np.random.Generator
) -> pd.DataFrame:
    """Transactions (in time order); order ids numbered in that order."""
    t = sim.transactions
    n = len(t["day"])
    order_ids = numbered("O", np.arange(1, n + 1), 9)
    order_ids = order_ids.where(rng.random(n) >= cfg.missing_rate / 3)
    return pd.DataFrame(
        {
            "customer_id": pick(ids, t["cust"]),
            "ts": timestamps(cal, t["day"]),
            "amount": np.round(t["amount"], 2),
            "order_id": order_ids,
            "category": labels(PRODUCTS, _blank(rng, t["category"], cfg.missing_rate)),
            "kind": labels(TRANSACTION_KINDS, t["kind"]),
        }
    )


def interactions_table(
    sim: Simulation, ids: pd.Series, cal: Calendar, cfg: GeneratorConfig, rng: np.random.Generator
) -> pd.DataFrame:
    """Interactions in time order; direction, duration and outcome sometimes missing."""
    t = sim.interactions
    n = len(t["day"])
    duration = np.round(t["duration"])
    return pd.DataFrame(
        {
            "customer_id": pick(ids, t["cust"]),
            "ts": timestamps(cal, t["day"]),
            "channel": labels(CHANNELS, t["channel"]),
            "direction": labels(DIRECTIONS, _blank(rng, t["direction"], cfg.missing_rate)),
            "duration_s": np.where(rng.random(n) < cfg.missing_rate, np.nan, duration),
            "outcome": labels(OUTCOMES, _blank(rng, t["outcome"], cfg.missing_rate)),
        }
    )


def complaints_table(
    sim: Simulation, ids: pd.Series, cal: Calendar, cfg: GeneratorConfig, rng: np.random.Generator
) -> pd.DataFrame:
    """Complaints in time order; a complaint resolved after as-of is still open (no resolved_at)."""
    t = sim.complaints
    n = len(t["opened"])
    resolved = np.where(t["resolved"] < cal.end, t["resolved"], np.nan)
    no_answer = (rng.random(n) < cfg.satisfaction_missing_rate) | np.isnan(resolved)
    no_answer &= rng.random(n) < np.where(np.isnan(resolved), 0.6, 1.0)
    return pd.DataFrame(
        {
            "customer_id": pick(ids, t["cust"]),
            "opened_at": timestamps(cal, t["opened"]),
            "resolved_at": timestamps(cal, resolved),
            "category": labels(COMPLAINT_CATEGORIES, _blank(rng, t["category"], cfg.missing_rate)),
            "severity": np.where(rng.random(n) < cfg.missing_rate / 2, np.nan, t["severity"]),
            "satisfaction": np.where(no_answer, np.nan, t["satisfaction"]),
        }
    )


def monthly_sales(pop: Population, sim: Simulation, cal: Calendar, n_managers: int) -> np.ndarray:
    """Sales per manager and month (managers x months), all transaction kinds."""
    t = sim.transactions
    month = np.searchsorted(cal.month_start, t["day"], side="right") - 1
    cell = pop.manager[t["cust"]] * cal.n_months + month
    sales = np.bincount(cell, weights=t["amount"], minlength=n_managers * cal.n_months)
    return sales.reshape(n_managers, cal.n_months)


def managers_table(
    mgr: Managers,
    mgr_ids: pd.Series,
    sales: np.ndarray,
    cfg: GeneratorConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Account managers with a quota near their recent monthly sales (rounded to 5,000)."""
    recent = sales[:, -12:].mean(axis=1)
    quota = np.maximum(5000.0, np.round(recent * rng.uniform(0.85, 1.15, len(mgr)) / 5000) * 5000)
    return pd.DataFrame(
        {
            "account_manager_id": mgr_ids,
            "name": pd.Series(mgr.names, dtype="str"),
            "team": labels(cfg.teams, mgr.team),
            "monthly_quota": quota,
        }
    )


def contacts_table(
    sim: Simulation, pop: Population, ids: pd.Series, mgr_ids: pd.Series, cal: Calendar
) -> pd.DataFrame:
    """The campaigns' contacts and control rows in time order; a campaign is named after its
    month (``RC-2024-03``) and logged by the customer's account manager."""
    assert sim.campaigns is not None
    t = sim.campaigns.arrays()
    month, code = np.unique(t["month"], return_inverse=True)
    first = cal.start.astype("datetime64[M]")
    names = tuple(f"RC-{first + int(m)}" for m in month)  # one name per campaign
    manager = pick(mgr_ids, pop.manager[t["cust"]])
    return pd.DataFrame(
        {
            "contact_id": numbered("K", np.arange(1, len(t["day"]) + 1), 8),
            "customer_id": pick(ids, t["cust"]),
            "ts": timestamps(cal, t["day"]),
            "campaign_id": labels(names, code),
            "channel": labels(CONTACT_CHANNELS, t["channel"]),
            "offer": labels(OFFERS, t["offer"]),
            "treated": t["treated"].astype(float),
            "outcome": labels(CONTACT_OUTCOMES, t["outcome"]),
            "logged_by": manager,
            "account_manager_id": manager.copy(),
        }
    )


def build_dataset(
    pop: Population,
    mgr: Managers,
    sim: Simulation,
    cal: Calendar,
    cfg: GeneratorConfig,
    rng: np.random.Generator,
) -> Dataset:
    """The contract tables (``contacts`` only with campaigns; hire dates, contact costs,
    surveys and reviews from :mod:`features.synthetic.assessment`), typed as ``Dataset``
    documents."""
    ids = numbered("C", np.arange(1, len(pop) + 1), max(7, len(str(len(pop)))))
    mgr_ids = numbered("AM", np.arange(1, len(mgr) + 1), 3)
    sales = monthly_sales(pop, sim, cal, len(mgr))
    tables = {
        "customers": customers_table(pop, sim, ids, mgr_ids, cal, cfg, rng),
        "transactions": transactions_table(sim, ids, cal, cfg, rng),
        "interactions": interactions_table(sim, ids, cal, cfg, rng),
        "complaints": complaints_table(sim, ids, cal, cfg, rng),
        "account_managers": managers_table(mgr, mgr_ids, sales, cfg, rng),
    }
    if sim.campaigns is not None and cfg.campaigns.enabled:
        tables["contacts"] = contacts_table(sim, pop, ids, mgr_ids, cal)
    extra = np.random.default_rng(rng.integers(2**63))  # after the others: they stay the same
    tables["account_managers"]["hire_date"] = hire_dates(mgr, cal, extra)
    if "contacts" in tables:
        contacts = tables["contacts"]
        contacts["cost"] = contact_costs(contacts["channel"], contacts["treated"].to_numpy())
    tables["surveys"] = surveys_table(pop, sim.churn, mgr, ids, cal, extra)
    tables["manager_reviews"] = reviews_table(mgr, mgr_ids, cal, extra)
    for name, frame in tables.items():
        assert tuple(frame.columns) == TABLES[name].column_names, name
    as_of = pd.Timestamp(cal.start + np.timedelta64(cal.end - 1, "D"))
    return Dataset(tables=tables, as_of=as_of)

"""Synthetic demo data: a telecom-like customer book with a known causal churn story.

The causal story (all of it hidden from the product, kept in ``truth``):

1. Customers sign up continuously (a starting cohort plus steady, Q4-heavier acquisition). Each has
   a segment, region and plan: contractual (``monthly``/``annual``: renewals, upsells, explicit
   cancellation) or non-contractual (``payg``: they just stop buying). Monthly value is log-normal
   per segment, so a minority brings most of the revenue.
2. Each customer has an account manager. Managers belong to a team serving one segment and prefer
   customers of their home region, so portfolios differ in riskiness; each has a hidden ``skill``.
3. Every month a latent engagement moves (mean-reverting to the customer's propensity, knocked down
   by complaints). It drives app logins, purchases, campaign responses and upsells.
4. Complaints arrive at a per-customer rate; severity 1-3; a skilled manager resolves them faster
   and more often; slow, unresolved and severe complaints add to a decaying complaint burden.
5. The monthly hazard of deciding to leave is
   ``exp(base(segment, region, plan, size) - skill_effect*skill - 0.25*log1p(tenure)
   - 0.5*engagement + 0.8*fall_in_engagement + complaint_effect*burden + 0.3*open_complaints
   + 0.15*months_inactive (+ annual renewal window))``, scaled each month so the book's 90-day
   churn rate sits in ``target_quarterly_churn``.
6. A customer who decides to leave fades out (activity falls towards 10%) for 21-80 days, then
   churns: contractual customers get ``cancelled_at``; pay-as-you-go customers just stop buying.
   Only a retention call may follow a cancellation, within five days.

``generate`` is deterministic in ``seed``; vectorised numpy with one loop over the months.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml

from core.csv_out import write_csv
from features.contract import CONTRACT_VERSION, MANIFEST_FILE, TABLE_SUFFIXES, TABLES
from features.dataset import Dataset
from features.synthetic.campaigns import TYPES, CampaignLog, churn_within_horizon
from features.synthetic.config import GeneratedData, GeneratorConfig, GeneratorError
from features.synthetic.drift import DRIFT_FILE, plan_drift
from features.synthetic.population import (
    PAYG,
    PLANS,
    Calendar,
    Managers,
    Population,
    make_calendar,
    make_managers,
    make_population,
)
from features.synthetic.simulate import Simulation, simulate
from features.synthetic.tables import build_dataset, labels, pick, timestamps

__all__ = ["GeneratedData", "GeneratorConfig", "GeneratorError", "generate", "write_dataset"]

TRUTH_DIR = "_truth"
TRUTH_README = """# Hidden truth of a generated demo data set

Written by `churn generate` for tests and demos: the true churn dates, the latent parts of the
churn hazard of every customer, and every account manager's hidden skill and portfolio riskiness.
The product never reads this folder (the loader ignores sub-folders); use it only to check that
models and KPIs recover what the generator put in. See docs/generator.md.
"""


def _truth(
    pop: Population, mgr: Managers, sim: Simulation, data: Dataset, cal: Calendar, cfg
) -> dict[str, pd.DataFrame]:
    """Per-customer and per-manager hidden truth tables."""
    customers = data.tables["customers"]
    mgr_ids = data.tables["account_managers"]["account_manager_id"]
    churned = sim.churn < cal.end
    per_customer = pd.DataFrame(
        {
            "customer_id": customers["customer_id"],
            "account_manager_id": pick(mgr_ids, pop.manager),
            "segment": labels(cfg.segments, pop.segment),
            "region": labels(cfg.regions, pop.region),
            "plan": labels(PLANS, pop.plan),
            "contractual": pop.plan != PAYG,
            "signup_date": customers["signup_date"],
            "churn_date": timestamps(cal, np.where(churned, sim.churn, np.nan)),
            "decision_date": timestamps(cal, sim.decision),
            "pending_churn_date": timestamps(
                cal, np.where(np.isfinite(sim.churn) & ~churned, sim.churn, np.nan)
            ),
            "base_risk": pop.base_risk,
            "skill_term": -cfg.skill_effect * mgr.skill[pop.manager],
            "engagement_propensity": pop.propensity,
            "final_engagement": sim.engagement,
            "complaint_propensity": pop.friction,
            "initial_monthly_value": pop.value,
            "final_monthly_value": sim.value,
            "mean_monthly_hazard": sim.mean_hazard,
            "last_monthly_hazard": sim.last_hazard,
        }
    )
    if sim.campaigns is not None:
        per_customer["treatment_type"] = labels(TYPES, sim.campaigns.types)
        per_customer["treatment_effect"] = treatment_effect(sim, cal)
    count = np.bincount(pop.manager, minlength=len(mgr))
    per_manager = pd.DataFrame(
        {
            "account_manager_id": mgr_ids,
            "team": labels(cfg.teams, mgr.team),
            "home_region": labels(cfg.regions, mgr.region),
            "skill": mgr.skill,
            "n_customers": count.astype(np.int64),
            "portfolio_risk": np.bincount(pop.manager, pop.base_risk, len(mgr))
            / np.maximum(count, 1),
            "portfolio_monthly_value": np.bincount(pop.manager, pop.value, len(mgr)),
            "churned_share": np.bincount(pop.manager, churned, len(mgr)) / np.maximum(count, 1),
        }
    )
    return {"customers": per_customer, "managers": per_manager}


HORIZON_MONTHS = 3
"""The horizon of ``treatment_effect`` (90 days, the product's default label horizon)."""


def treatment_effect(sim: Simulation, cal: Calendar) -> np.ndarray:
    """The true reduction in each customer's probability of churning within the horizon if
    contacted on the day after the as-of date (negative for sleeping dogs); NaN for customers who
    churned by then or joined in the last month (no hazard yet).

    A customer who has not decided to leave decides each month with their last monthly
    probability; one who has decided, and leaves within the horizon, is kept only by a contact
    that rescues a persuadable."""
    camp = sim.campaigns
    assert camp is not None
    cfg = camp.cfg
    here = sim.churn >= cal.end
    undecided = here & np.isinf(sim.churn)
    p = sim.last_hazard
    base = churn_within_horizon(p, np.zeros(len(p)), HORIZON_MONTHS, cfg.effect_months)
    moved = churn_within_horizon(p, camp.change, HORIZON_MONTHS, cfg.effect_months)
    leaving = here & np.isfinite(sim.churn) & (sim.churn < cal.end + 30.0 * HORIZON_MONTHS)
    rescue = np.where(camp.types == 0, cfg.rescue, 0.0)
    effect = np.where(undecided, base - moved, np.where(leaving, rescue, 0.0))
    return np.where(here, effect, np.nan)


def generate(
    n_customers: int,
    seed: int,
    cfg: GeneratorConfig = GeneratorConfig(),  # noqa: B008 - frozen, safe as a default
    progress: Callable[[str], None] | None = None,
) -> GeneratedData:
    """A synthetic data set of ``n_customers`` and its hidden truth; same seed, same data."""
    if not isinstance(n_customers, int | np.integer) or n_customers < 1:
        raise GeneratorError(f"n_customers must be a whole number >= 1, got {n_customers!r}")
    say = progress or (lambda _msg: None)
    rng = np.random.default_rng(seed)
    cal = make_calendar(cfg)
    mgr = make_managers(cfg.managers_for(n_customers), cfg, rng)
    say(f"drawing {n_customers:,} customers and {len(mgr):,} account managers")
    pop = make_population(int(n_customers), cal, mgr, cfg, rng)
    drift = (
        None
        if cfg.drift is None
        else plan_drift(cfg.drift, cal.start, cal.month_start, pop.segment, cfg.segments, seed)
    )
    campaigns = CampaignLog.start(pop, cfg.campaigns, seed)
    sim = simulate(pop, mgr, cal, cfg, rng, say, drift, campaigns)
    say("building tables")
    data = build_dataset(pop, mgr, sim, cal, cfg, rng)
    truth = _truth(pop, mgr, sim, data, cal, cfg)
    record = None
    if drift is not None:
        present = (pop.signup < cal.end) & (sim.churn > drift.start_day) & drift.who
        record = drift.record(int(present.sum()))
    return GeneratedData(
        dataset=data,
        truth=truth,
        seed=seed,
        n_customers=int(n_customers),
        config=cfg,
        drift=record,
    )


def write_dataset(
    data: GeneratedData, out_dir: Path, fmt: Literal["csv", "parquet"] = "parquet"
) -> None:
    """Write one file per table, ``dataset.yaml``, and the hidden truth under ``_truth/``."""
    if fmt not in ("csv", "parquet"):
        raise GeneratorError(f"format must be 'csv' or 'parquet', got {fmt!r}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise GeneratorError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    for name in TABLES:  # a stale file in the other format would make the table appear twice
        for suffix in TABLE_SUFFIXES:
            (out / f"{name}{suffix}").unlink(missing_ok=True)
    for name, frame in data.dataset.tables.items():
        if fmt == "csv":
            write_csv(frame, out / f"{name}.csv", for_people=False)
        else:
            frame.to_parquet(out / f"{name}.parquet", index=False)
    manifest = {
        "as_of": f"{data.dataset.as_of:%Y-%m-%d}",
        "contract_version": CONTRACT_VERSION,
        "generator": {"seed": int(data.seed), "n_customers": int(data.n_customers)},
    }
    (out / MANIFEST_FILE).write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    truth = out / TRUTH_DIR
    shutil.rmtree(truth, ignore_errors=True)
    truth.mkdir()
    for name, frame in data.truth.items():
        frame.to_parquet(truth / f"{name}.parquet", index=False)
    (truth / "README.md").write_text(TRUTH_README, encoding="utf-8")
    if data.drift is not None:
        (truth / DRIFT_FILE).write_text(json.dumps(data.drift, indent=2) + "\n", encoding="utf-8")

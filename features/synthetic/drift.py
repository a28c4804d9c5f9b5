"""Drift the demo generator can inject from a date on, so monitoring can be tested against a known
change (``churn generate --drift KIND --drift-from DATE [--drift-segment S]``).

Three kinds, each from ``start`` on and for one segment or everyone:

- ``price``: every transaction amount is multiplied by ``1 + strength`` (a price change: spend
  features shift, who churns does not);
- ``behaviour``: the engagement the customers revert to falls by ``strength`` (purchases, logins
  and campaign responses drop, and through the causal story the churn hazard rises: a covariate
  shift the model's features can see);
- ``concept``: the log-hazard of deciding to leave gains ``strength * z`` with ``z`` a new hidden
  trait per customer, and those who decide to leave do so without fading out first (say, a
  competitor poaching customers with an offer): who churns changes, and activity no longer warns
  of it, while the features' distribution barely moves.

Nothing is drawn from the generator's random stream when drift is off, so the default output is
unchanged; the hidden trait of ``concept`` comes from a stream of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
from pydantic import Field

from core.config import Frozen

DriftKind = Literal["price", "behaviour", "concept"]
DRIFT_KINDS: tuple[str, ...] = ("price", "behaviour", "concept")
DRIFT_FILE = "drift.json"
DEFAULT_STRENGTH = {"price": 0.5, "behaviour": 1.5, "concept": 3.0}
_STREAM = 0x5D1F7  # second seed word of the concept trait's own random stream

EXPECTED_FEATURES: dict[str, tuple[str, ...]] = {
    "price": ("revenue_", "avg_order_value", "m_score"),
    "behaviour": (
        "txn_count_",
        "revenue_",
        "recency_days",
        "r_score",
        "f_score",
        "m_score",
        "rfm_score",
        "int_count_",
        "int_app_login_inbound_",
        "int_recency_days",
        "campaign_response_rate_",
    ),
    "concept": (),
}
"""Prefixes of the feature columns each kind is meant to move (``concept``: none by design)."""

_DESCRIPTION = {
    "price": "transaction amounts multiplied by {factor:.2f} (a price change)",
    "behaviour": "engagement the customers revert to lowered by {strength:.2f} "
    "(fewer purchases, logins and campaign responses; higher churn hazard)",
    "concept": "churn log-hazard gains {strength:.2f} x a new hidden per-customer trait and "
    "leavers no longer fade out before they churn (who churns changes, the features barely do)",
}


class DriftConfig(Frozen):
    """One injected drift: its kind, the first day it applies, the segment (None: everyone)."""

    kind: DriftKind
    start: date
    segment: str | None = None
    strength: float | None = Field(None, gt=0.0)
    """Size of the change; default per kind: ``price`` 0.5, ``behaviour`` 1.5, ``concept`` 3.0."""

    @property
    def size(self) -> float:
        return self.strength if self.strength is not None else DEFAULT_STRENGTH[self.kind]


@dataclass(frozen=True)
class DriftPlan:
    """A drift resolved against the calendar and the population the simulation runs on."""

    config: DriftConfig
    start_day: float  # days since the calendar start
    start_month: int  # first simulated month (index) the drift applies to in full
    who: np.ndarray  # bool per customer: in the drifted segment
    trait: np.ndarray  # concept: the hidden trait; zeros otherwise

    def engagement_shift(self, t: int) -> np.ndarray | float:
        """What the engagement target moves by in month ``t`` (behaviour only)."""
        if self.config.kind != "behaviour" or t < self.start_month:
            return 0.0
        return -self.config.size * self.who

    def hazard_shift(self, t: int, cand: np.ndarray) -> np.ndarray | float:
        """What the candidates' log-hazard gains in month ``t`` (concept only)."""
        if self.config.kind != "concept" or t < self.start_month:
            return 0.0
        return self.config.size * self.trait[cand] * self.who[cand]

    def silent(self, idx: np.ndarray, decision: np.ndarray) -> np.ndarray:
        """Concept: customers in scope who decided to leave from the start day on leave without
        fading out first (their activity gives no warning)."""
        if self.config.kind != "concept":
            return np.zeros(len(idx), dtype=bool)
        return self.who[idx] & (np.nan_to_num(decision, nan=-1.0) >= self.start_day)

    def apply_prices(self, transactions: dict[str, np.ndarray]) -> None:
        """Scale the amounts of drifted customers' transactions from the start day (in place)."""
        if self.config.kind != "price":
            return
        hit = (transactions["day"] >= self.start_day) & self.who[transactions["cust"]]
        transactions["amount"] = np.where(
            hit, transactions["amount"] * (1.0 + self.config.size), transactions["amount"]
        )

    def record(self, n_present: int) -> dict[str, Any]:
        """What was changed, for ``_truth/drift.json``."""
        cfg = self.config
        return {
            "kind": cfg.kind,
            "from": f"{cfg.start:%Y-%m-%d}",
            "segment": cfg.segment,
            "strength": cfg.size,
            "description": _DESCRIPTION[cfg.kind].format(factor=1.0 + cfg.size, strength=cfg.size),
            "customers_in_scope": int(self.who.sum()),
            "customers_present_after_start": n_present,
            "expected_features": list(EXPECTED_FEATURES[cfg.kind]),
        }


def plan_drift(
    cfg: DriftConfig,
    calendar_start: np.datetime64,
    month_start: np.ndarray,
    segment: np.ndarray,
    segments: tuple[str, ...],
    seed: int,
) -> DriftPlan:
    """Resolve ``cfg`` for a simulation (the caller checked the segment and date)."""
    start_day = float((np.datetime64(cfg.start, "D") - calendar_start).astype(np.int64))
    start_month = int(np.searchsorted(month_start, start_day, side="left"))
    who = (
        np.ones(len(segment), dtype=bool)
        if cfg.segment is None
        else segment == segments.index(cfg.segment)
    )
    trait = (
        np.random.default_rng([seed, _STREAM]).standard_normal(len(segment))
        if cfg.kind == "concept"
        else np.zeros(len(segment))
    )
    return DriftPlan(cfg, start_day, start_month, who, trait)

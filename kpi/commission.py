"""Monthly commission of account managers, business rule 6: a sales commission by tier,
a satisfaction bonus and a retention commission. Pure functions of per-manager figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpi.config import CommissionConfig

_TOL = 1e-9


def tier_rate(sales: pd.Series | np.ndarray, cfg: CommissionConfig) -> np.ndarray:
    """The rate of the tier each sales amount falls in (tier edges follow include_min/max)."""
    x = np.asarray(sales, dtype=float)
    conditions = []
    for tier in cfg.tiers:
        above = x >= tier.min if tier.include_min else x > tier.min
        if tier.max is None:
            below = np.ones_like(x, dtype=bool)
        else:
            below = x <= tier.max if tier.include_max else x < tier.max
        conditions.append(above & below)
    return np.select(conditions, [t.rate for t in cfg.tiers], default=np.nan)


def sales_commission(sales: pd.Series | np.ndarray, cfg: CommissionConfig) -> np.ndarray:
    """Commission on sales: whole amount x its tier's rate, or the sum over tiers of the part of
    the amount inside each tier x that tier's rate (``tier_method: marginal``)."""
    x = np.asarray(sales, dtype=float)
    if cfg.tier_method == "whole_amount":
        return x * tier_rate(x, cfg)
    total = np.zeros_like(x)
    for tier in cfg.tiers:
        top = np.inf if tier.max is None else tier.max
        total += tier.rate * np.clip(x, tier.min, top) - tier.rate * tier.min
    return total


def commission(figures: pd.DataFrame, cfg: CommissionConfig) -> pd.DataFrame:
    """Commission per row of ``figures`` (columns ``sales``, ``quarter_satisfaction`` as a share
    0..1, ``retention_sales``). Missing satisfaction pays no bonus; missing retention sales pay
    no retention commission. Amounts are rounded to cents."""
    sales = figures["sales"].astype(float).fillna(0.0)
    out = pd.DataFrame(index=figures.index)
    out["sales_rate"] = tier_rate(sales, cfg)
    out["sales_commission"] = sales_commission(sales, cfg)
    satisfied = figures["quarter_satisfaction"] >= cfg.satisfaction_bonus_threshold - _TOL
    out["satisfaction_bonus"] = np.where(satisfied, cfg.satisfaction_bonus_rate * sales, 0.0)
    retained = figures["retention_sales"].astype(float).fillna(0.0)
    out["retention_commission"] = cfg.retention_rate * retained
    parts = ["sales_commission", "satisfaction_bonus", "retention_commission"]
    out[parts] = out[parts].round(2)
    out["commission"] = out[parts].sum(axis=1).round(2)
    return out

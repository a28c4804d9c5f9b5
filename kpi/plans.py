"""Improvement plans owed by the bottom of a month's ranking (document 000, business rule 7):
which managers owe one, recorded in the store when the month's scorecards are produced from it.
"""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from kpi.config import RankingConfig
from kpi.portfolio import MANAGER
from scoring.store.plans import Owed, PlanStore

MONTH = re.compile(r"\d{4}-\d{2}")


def owed_plans(card: pd.DataFrame) -> list[Owed]:
    """The plans a month's scorecards call for: one per manager flagged ``improvement_plan``
    (a quarter or year issues none: plans follow the monthly ranking)."""
    rows = card[(card["level"] == "manager") & card["improvement_plan"].fillna(False).astype(bool)]
    periods = rows["period"].astype("str")
    return [
        Owed(
            str(r[MANAGER]),
            p,
            None if pd.isna(r["score"]) else float(r["score"]),
            None if pd.isna(r["rank"]) else int(r["rank"]),
        )
        for (_, r), p in zip(rows.iterrows(), periods, strict=True)
        if MONTH.fullmatch(p)
    ]


def issue_plans(store: PlanStore, card: pd.DataFrame, cfg: RankingConfig, today: date) -> int:
    """Record the plans ``card`` calls for, due ``cfg.improvement_plan_days`` after ``today``
    (plans already issued keep their dates); returns how many are new."""
    return store.issue(owed_plans(card), today, cfg.improvement_plan_days)

"""The generator's assessment data (issue 34): managers' hire dates (a few on probation in the
last months), each contact's cost, a quarterly satisfaction survey and the lead's annual reviews.

Drawn from their own random stream after the other tables, so the rest of a data set is the
same as before they existed. Their truth: a skilled manager's customers answer the survey
satisfied more often, and the lead rates a skilled manager's ability higher.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.synthetic.population import Calendar, Managers, Population

CONTACT_COST = {"call": 8.0, "email": 0.5, "chat": 2.0, "visit": 40.0}
"""Cost of one contact by channel (control rows cost nothing: no contact was made)."""
PROBATION_SHARE = 0.15
SURVEY_SHARE = 0.2
"""Share of the customers present at a quarter's end who answer its survey."""


def _day(cal: Calendar, days: np.ndarray) -> np.ndarray:
    return (cal.start + np.floor(days).astype(np.int64).astype("timedelta64[D]")).astype(
        "datetime64[us]"
    )


def hire_dates(mgr: Managers, cal: Calendar, rng: np.random.Generator) -> np.ndarray:
    """Most managers started one to eight years before the history; one in seven (at least one
    of four or more, none of fewer) started four to five months before its end: on probation
    in the latest months the KPI stage can judge."""
    n = len(mgr)
    days = -rng.uniform(365, 8 * 365, n)
    k = max(1, round(PROBATION_SHARE * n)) if n >= 4 else 0
    recent = rng.choice(n, size=k, replace=False)
    days[recent] = cal.end - rng.uniform(120, 150, k)
    return _day(cal, days)


def contact_costs(channel: pd.Series, treated: np.ndarray) -> np.ndarray:
    """Each contact's cost by its channel; NaN for control rows and unknown channels."""
    cost = channel.map(CONTACT_COST).to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.asarray(treated) == 1, cost, np.nan)


def surveys_table(
    pop: Population,
    churn: np.ndarray,
    mgr: Managers,
    ids: pd.Series,
    cal: Calendar,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """A survey in the last month of each quarter, answered by a share of the customers then
    present; satisfied more often under a skilled manager. Half the answers give a 1-5 score
    only (``satisfied`` empty), half both."""
    rows = []
    for m in range(cal.n_months):
        if cal.cal_month[m] % 3 != 2:
            continue
        lo, hi = float(cal.month_start[m]), float(cal.month_start[m + 1])
        present = np.flatnonzero((pop.signup < lo) & (churn > hi))
        who = present[rng.random(len(present)) < SURVEY_SHARE]
        if not len(who):
            continue
        p = 1 / (1 + np.exp(-(1.3 + 0.8 * mgr.skill[pop.manager[who]])))
        happy = rng.random(len(who)) < p
        score = np.where(happy, rng.integers(4, 6, len(who)), rng.integers(1, 4, len(who)))
        satisfied = np.where(rng.random(len(who)) < 0.5, happy.astype(float), np.nan)
        when = _day(cal, rng.uniform(lo, hi, len(who)))
        rows.append(pd.DataFrame({"i": who, "ts": when, "satisfied": satisfied, "score": score}))
    if not rows:
        return pd.DataFrame(
            {"customer_id": pd.Series(dtype="str"), "ts": pd.Series(dtype="datetime64[us]"),
             "satisfied": pd.Series(dtype=float), "score": pd.Series(dtype=float)}
        )  # fmt: skip
    frame = pd.concat(rows, ignore_index=True).sort_values("ts", kind="stable")
    out = pd.DataFrame(
        {
            "customer_id": pd.Series(pd.array(ids.to_numpy()[frame["i"]], dtype="str")),
            "ts": frame["ts"].to_numpy(),
            "satisfied": frame["satisfied"].to_numpy(dtype=float),
            "score": frame["score"].to_numpy(dtype=float),
        }
    )
    return out


def reviews_table(
    mgr: Managers, mgr_ids: pd.Series, cal: Calendar, rng: np.random.Generator
) -> pd.DataFrame:
    """The lead's ratings of each manager for every full calendar year of the history: ability
    follows the hidden skill, attitude is noisier; both within 0-100."""
    first = pd.Timestamp(cal.start)
    last = pd.Timestamp(cal.start + np.timedelta64(cal.end - 1, "D"))
    years = [y for y in range(first.year, last.year + 1) if first <= pd.Timestamp(y, 1, 1)
             and pd.Timestamp(y, 12, 31) <= last]  # fmt: skip
    n = len(mgr)
    frames = []
    for year in years:
        ability = np.clip(np.round(72 + 10 * mgr.skill + rng.normal(0, 5, n)), 0, 100)
        attitude = np.clip(np.round(78 + 4 * mgr.skill + rng.normal(0, 8, n)), 0, 100)
        frames.append(
            pd.DataFrame(
                {
                    "account_manager_id": mgr_ids.to_numpy(),
                    "year": np.full(n, float(year)),
                    "ability": ability,
                    "attitude": attitude,
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            {"account_manager_id": pd.Series(dtype="str"), "year": pd.Series(dtype=float),
             "ability": pd.Series(dtype=float), "attitude": pd.Series(dtype=float)}
        )  # fmt: skip
    out = pd.concat(frames, ignore_index=True)
    out["account_manager_id"] = out["account_manager_id"].astype("str")
    return out

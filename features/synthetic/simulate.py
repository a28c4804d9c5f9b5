"""The monthly simulation of the demo book: engagement, complaint burden and the churn hazard.

One loop over months; inside, every step is vectorised over the customers. The month's events
come from ``features.synthetic.events``; times are float days since the calendar start.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from features.synthetic import events as ev
from features.synthetic.campaigns import CampaignLog
from features.synthetic.config import GeneratorConfig
from features.synthetic.drift import DriftPlan
from features.synthetic.population import ANNUAL, PAYG, Calendar, Managers
from features.synthetic.population import Population as Pop

LAG_DAYS = (21.0, 80.0)  # from the decision to leave to the churn date


@dataclass(frozen=True)
class Simulation:
    """Outcome of the simulation: churn timing, latent summaries and the event columns."""

    churn: np.ndarray  # churn day (inf when none was scheduled)
    decision: np.ndarray  # day of the decision to leave (nan when none)
    value: np.ndarray  # monthly value at the end (after upsells)
    mean_hazard: np.ndarray  # mean monthly probability of deciding to leave while at risk
    last_hazard: np.ndarray
    engagement: np.ndarray  # engagement at the end of the history
    transactions: dict[str, np.ndarray]
    interactions: dict[str, np.ndarray]
    complaints: dict[str, np.ndarray]
    campaigns: CampaignLog | None = None
    """The retention campaigns' rows and every customer's response type; None: no campaigns."""


class _State:
    """Per-customer state carried from month to month."""

    burden: np.ndarray  # float64; np.bincount with weights (shock) is float64, not the stubs' intp
    shock: np.ndarray

    def __init__(self, pop: Pop, rng: np.random.Generator) -> None:
        n = len(pop)
        self.e = pop.propensity + 0.3 * rng.standard_normal(n)  # engagement
        self.e_hist = np.tile(self.e, (3, 1))  # engagement of the last three months
        self.burden, self.shock = np.zeros(n), np.zeros(n)  # complaint burden, this month's part
        self.open = np.zeros(n, dtype=np.int64)  # complaints not yet resolved
        self.last_active = pop.signup_month.astype(float)  # month of the last purchase or login
        self.value = pop.value.copy()
        self.churn, self.decision = np.full(n, np.inf), np.full(n, np.nan)
        self.p_sum, self.p_n, self.p_last = np.zeros(n), np.zeros(n), np.full(n, np.nan)


def calibrated_probability(lam: np.ndarray, target: float) -> np.ndarray:
    """Monthly probabilities ``1 - exp(-c * lam)`` with ``c`` chosen so their mean is ``target``."""
    scale = -np.log1p(-target) / lam.mean()
    for _ in range(4):
        scale *= target / (-np.expm1(-scale * lam)).mean()
    return -np.expm1(-scale * lam)


def _hazard_terms(pop: Pop, st: _State, skill, cand, t: int, trend, cfg) -> np.ndarray:
    """Log-hazard of deciding to leave this month, before scaling to the target rate."""
    tenure = t - pop.signup_month[cand]
    annual = pop.plan[cand] == ANNUAL
    watched = (pop.plan[cand] == PAYG) | pop.app_user[cand]  # inactivity is visible
    return (
        pop.base_risk[cand]
        - cfg.skill_effect * skill[cand]
        - 0.25 * np.log1p(tenure)
        - 0.5 * st.e[cand]
        + 0.8 * trend[cand]
        + cfg.complaint_effect * st.burden[cand]
        + 0.3 * np.minimum(st.open[cand], 3)
        + 0.15 * watched * np.minimum(t - st.last_active[cand], 6)
        + np.where(annual, np.where(tenure % 12 >= 10, 0.8, -0.6), 0.0)  # renewal window
    )


def _present(pop: Pop, st: _State, ms: int, me: int, drift: DriftPlan | None = None) -> ev.Month:
    """Customers signed up and not yet churned in the month, with their window and activity."""
    idx = np.flatnonzero((pop.signup < me) & (st.churn > ms))
    start, end = np.maximum(ms, pop.first_day[idx]), np.minimum(me, st.churn[idx])
    act = np.ones(len(idx))  # activity fades between the decision and the churn date
    fin = np.isfinite(st.churn[idx])
    if drift is not None:  # leavers the drift makes silent do not fade
        fin &= ~drift.silent(idx, st.decision[idx])
    c, d = st.churn[idx][fin], st.decision[idx][fin]
    act[fin] = 0.1 + 0.9 * np.clip((c - (start[fin] + end[fin]) / 2) / (c - d), 0.0, 1.0)
    exposure = (end - start) / (me - ms)
    return ev.Month(idx, start, end, exposure, act, st.e[idx])


def simulate(
    pop: Pop,
    mgr: Managers,
    cal: Calendar,
    cfg: GeneratorConfig,
    rng: np.random.Generator,
    say: Callable[[str], None] = lambda _msg: None,
    drift: DriftPlan | None = None,
    campaigns: CampaignLog | None = None,
) -> Simulation:
    """Play the history month by month (see the causal story in ``features.synthetic.generator``);
    ``drift`` changes it from a date on (``features.synthetic.drift``); ``campaigns`` contact
    customers from a month on and change their hazard (``features.synthetic.campaigns``)."""
    n, st = len(pop), _State(pop, rng)
    skill = mgr.skill[pop.manager]
    target = 1 - (1 - float(np.mean(cfg.target_quarterly_churn))) ** (1 / 3)
    closes: dict[int, list[np.ndarray]] = defaultdict(list)  # complaints resolved, by month
    goodbyes: dict[int, list[dict]] = defaultdict(list)  # retention calls, by month
    txn, inter, comp = ev.EventLog("day"), ev.EventLog("day"), ev.EventLog("opened")
    signed = np.searchsorted(pop.signup, cal.month_start)  # customers signed up before month
    contacting = campaigns if campaigns is not None and campaigns.cfg.enabled else None
    first_campaign = cal.n_months - (contacting.cfg.months if contacting is not None else 0)

    for t in range(cal.n_months):
        say(f"simulating month {t + 1} of {cal.n_months}")
        ms, me = int(cal.month_start[t]), int(cal.month_start[t + 1])
        if t - 1 in closes:
            st.open -= np.bincount(np.concatenate(closes.pop(t - 1)), minlength=n)

        # engagement: mean-reverting to the customer's propensity, knocked down by complaints
        existing = np.arange(n) < signed[t]
        noise = 0.25 * rng.standard_normal(n)
        target_e = pop.propensity if drift is None else pop.propensity + drift.engagement_shift(t)
        moved = 0.8 * st.e + 0.2 * target_e + noise - 0.12 * st.shock
        st.e = np.where(existing, moved, st.e)
        trend = np.maximum(0.0, st.e_hist[t % 3] - st.e)  # fall in engagement over 3 months
        st.e_hist[t % 3] = st.e

        if contacting is not None:
            present = np.flatnonzero((pop.signup < ms) & (st.churn > ms))
            kept = contacting.run(t, first_campaign, ms, present, st.churn, st.decision)
            st.churn[kept], st.decision[kept] = np.inf, np.nan

        # the hazard of deciding to leave, scaled so the book churns at the target rate
        cand = np.flatnonzero(existing & np.isinf(st.churn))
        if len(cand):
            log_hazard = _hazard_terms(pop, st, skill, cand, t, trend, cfg)
            if drift is not None:
                log_hazard = log_hazard + drift.hazard_shift(t, cand)
            p = calibrated_probability(np.exp(log_hazard), target)
            st.p_sum[cand] += p
            st.p_n[cand] += 1
            st.p_last[cand] = p
            if contacting is not None:  # a contact's effect applies after the book's scaling
                p = 1.0 - (1.0 - p) ** np.exp(contacting.hazard_change(t, cand))
            leave = cand[rng.random(len(cand)) < p]
            st.decision[leave] = ms + rng.random(len(leave)) * (me - ms)
            st.churn[leave] = np.floor(st.decision[leave] + rng.uniform(*LAG_DAYS, len(leave)))
            who = leave[(pop.plan[leave] != PAYG) & (rng.random(len(leave)) < 0.5)]
            calls = ev.goodbye_calls(rng, who, st.churn)
            month = np.searchsorted(cal.month_start, calls["day"], side="right") - 1
            for k in np.unique(month[month < cal.n_months]):
                goodbyes[int(k)].append({c: v[month == k] for c, v in calls.items()})

        # the month's events
        ev.new_transactions(rng, txn, pop, int(signed[t]), int(signed[t + 1]))
        m = _present(pop, st, ms, me, drift)
        args = (t, ms, me - ms, int(cal.cal_month[t]))
        purchases = ev.transactions(rng, txn, m, pop, st.value, st.churn, *args)
        logins = ev.interactions(rng, inter, m, pop, skill, int(cal.cal_month[t]))
        st.last_active[m.idx[(purchases > 0) | (logins > 0)]] = t
        for calls in goodbyes.pop(t, []):
            if contacting is not None:  # no goodbye call to a customer a campaign kept
                after = calls["day"] - st.churn[calls["cust"]]
                calls = {c: v[(after >= 0) & (after <= 5.0)] for c, v in calls.items()}
            inter.add(**calls)
        leaving = np.isfinite(st.churn[m.idx])
        cust, weight, resolved = ev.complaints(rng, comp, inter, m, pop, skill, leaving)
        st.shock = np.bincount(cust, weights=weight, minlength=n)
        st.burden = 0.65 * st.burden + st.shock
        st.open += np.bincount(cust, minlength=n)
        done = ~np.isnan(resolved)
        res_month = np.searchsorted(cal.month_start, resolved[done], side="right") - 1
        for k in np.unique(res_month[res_month < cal.n_months]):
            closes[int(k)].append(cust[done][res_month == k])
        for log in (txn, inter, comp):
            log.close_month()

    transactions = txn.arrays()
    if drift is not None:
        drift.apply_prices(transactions)
    return Simulation(
        churn=st.churn,
        decision=st.decision,
        value=st.value,
        mean_hazard=np.where(st.p_n > 0, st.p_sum / np.maximum(st.p_n, 1), np.nan),
        last_hazard=st.p_last,
        engagement=st.e,
        transactions=transactions,
        interactions=inter.arrays(),
        complaints=comp.arrays(),
        campaigns=campaigns,
    )

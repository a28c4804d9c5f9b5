"""Events of one simulated month: transactions, interactions and complaints, vectorised.

Each emitter draws counts per present customer, spreads the events uniformly over the customer's
window in the month, and appends coded columns to an :class:`EventLog`. Times are float days.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from features.synthetic.population import ANNUAL, MONTHLY, PAYG, PRODUCTS
from features.synthetic.population import Population as Pop

NEW, RENEWAL, UPSELL, PURCHASE = 0, 1, 2, 3  # order of contract.TRANSACTION_KINDS
CALL, EMAIL, CHAT, VISIT, APP_LOGIN, CAMPAIGN = range(6)  # order of contract.CHANNELS
INBOUND, OUTBOUND = 0, 1  # order of contract.DIRECTIONS
OUTCOMES = (
    "answered",
    "no_answer",
    "received",
    "sent",
    "replied",
    "resolved",
    "abandoned",
    "completed",
    "success",
    "responded",
    "no_response",
)
CODE = {name: code for code, name in enumerate(OUTCOMES)}
COMPLAINT_CATEGORIES = ("billing", "network", "service", "product")
SEASON = np.array([0.85, 0.85, 0.95, 1.0, 1.0, 0.95, 0.95, 1.0, 1.0, 1.1, 1.25, 1.45])
_SEVERITY_P = np.array([0.55, 0.33, 0.12])
SEVERITY_WEIGHT = np.array([1.0, 1.8, 3.0])
_RESOLVE_DAYS = np.array([1.5, 4.0, 9.0])  # median days to resolve, by severity
_VISITS = np.array([0.25, 0.05, 0.003])  # visits a month, by segment kind
_COMPLAINTS = np.array([1.5, 1.0, 0.9])  # complaint rate factor, by segment kind


def lognormal(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    """Multiplicative noise with mean 1."""
    return np.exp(rng.normal(-(sigma**2) / 2, sigma, size))


class EventLog:
    """Columns of one event table, collected month by month and kept in time order."""

    def __init__(self, time: str) -> None:
        self.time = time
        self.month: dict[str, list[np.ndarray]] = defaultdict(list)
        self.done: dict[str, list[np.ndarray]] = defaultdict(list)

    def add(self, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            self.month[name].append(values)

    def close_month(self) -> None:
        """Sort this month's events by time (cheap: one month at a time)."""
        columns = {name: np.concatenate(parts) for name, parts in self.month.items()}
        if columns:
            columns["cust"] = columns["cust"].astype(np.int32)
            order = np.argsort(columns[self.time], kind="stable")
            for name, values in columns.items():
                self.done[name].append(values[order])
        self.month.clear()

    def arrays(self) -> dict[str, np.ndarray]:
        """All months' columns, concatenated (the monthly parts are released)."""
        return {name: np.concatenate(self.done.pop(name)) for name in list(self.done)}


@dataclass(frozen=True)
class Month:
    """The customers present in one month: their window in it and their activity level."""

    idx: np.ndarray
    start: np.ndarray
    end: np.ndarray
    exposure: np.ndarray  # share of the month in the window
    act: np.ndarray  # 1, falling towards 0.1 between a decision to leave and the churn date
    engagement: np.ndarray

    def scatter(self, rng: np.random.Generator, counts: np.ndarray, rows: np.ndarray | None = None):
        """Row, customer and a uniform time in the window for ``counts`` events per row."""
        rows = np.repeat(np.arange(len(self.idx)) if rows is None else rows, counts)
        span = self.end[rows] - self.start[rows]
        return rows, self.idx[rows], self.start[rows] + rng.random(len(rows)) * span


def new_transactions(rng: np.random.Generator, log: EventLog, pop: Pop, lo: int, hi: int) -> None:
    """The first transaction (``new``) of the customers ``lo:hi`` on their signup day."""
    cust = np.arange(lo, hi)
    k, plan, value = hi - lo, pop.plan[lo:hi], pop.value[lo:hi]
    first = np.where(plan == PAYG, value / pop.freq[lo:hi] * lognormal(rng, k, 0.5), value)
    log.add(cust=cust, day=pop.first_day[lo:hi], amount=np.where(plan == ANNUAL, 11.0, 1.0) * first)
    log.add(kind=np.full(k, NEW, np.int8), category=pop.product[lo:hi].astype(np.int8))


def _q4(cal_month: int) -> float:
    return 1.5 if cal_month >= 9 else 1.0


def transactions(rng, log: EventLog, m: Month, pop: Pop, value, churn, t, ms, mlen, cal_month):
    """Purchases (pay-as-you-go, add-ons), renewals and upsells; returns purchase counts.

    ``value`` (monthly value) is raised in place by upsells."""
    idx, plan, season = m.idx, pop.plan[m.idx], SEASON[cal_month]
    base = np.exp(m.engagement - 0.2) * m.act * m.exposure * season
    counts = rng.poisson(np.where(plan == PAYG, pop.freq[idx], 0.06) * base)
    _, cust, day = m.scatter(rng, counts)
    k = len(cust)
    per = np.where(pop.plan[cust] == PAYG, value[cust] / pop.freq[cust], 0.25 * value[cust])
    other = rng.integers(0, len(PRODUCTS), k)
    category = np.where(rng.random(k) < 0.6, pop.product[cust], other).astype(np.int8)
    log.add(cust=cust, day=day, amount=per * lognormal(rng, k, 0.5))
    log.add(kind=np.full(k, PURCHASE, np.int8), category=category)

    tenure = t - pop.signup_month[idx]
    due = (plan != PAYG) & (tenure > 0) & ((plan == MONTHLY) | (tenure % 12 == 0))
    r = idx[due]
    day = ms + np.minimum(pop.signup_offset[r], mlen - 1) + rng.uniform(0.3, 0.9, len(r))
    ok = day < churn[r]
    r, day = r[ok], day[ok]
    log.add(cust=r, day=day, amount=np.where(pop.plan[r] == ANNUAL, 11.0, 1.0) * value[r])
    log.add(kind=np.full(len(r), RENEWAL, np.int8), category=pop.product[r].astype(np.int8))

    staying = (plan != PAYG) & np.isinf(churn[idx]) & (tenure > 0)
    p = 0.02 * _q4(cal_month) * np.exp(0.5 * m.engagement) * staying * m.exposure
    _, cust, day = m.scatter(rng, (rng.random(len(idx)) < p).astype(np.int64))
    uplift = rng.uniform(0.1, 0.6, len(cust))
    amount = uplift * value[cust] * np.where(pop.plan[cust] == ANNUAL, 6.0, 1.0)
    log.add(cust=cust, day=day, amount=amount)
    log.add(kind=np.full(len(cust), UPSELL, np.int8), category=pop.product[cust].astype(np.int8))
    value[cust] *= 1 + uplift
    return counts


def _interactions(
    rng, log: EventLog, m: Month, counts, channel, direction, outcomes, p=1.0, dur=0.0
):
    """One channel's interactions: outcome ``outcomes[0]`` with probability ``p`` (scalar or one
    per present customer), else ``outcomes[-1]``; duration around ``dur`` seconds if given."""
    rows, cust, day = m.scatter(rng, counts)
    k = len(cust)
    first = rng.random(k) < (p[rows] if isinstance(p, np.ndarray) else p)
    outcome = np.where(first, outcomes[0], outcomes[-1]).astype(np.int8)
    duration = dur * lognormal(rng, k, 0.7) if dur else np.full(k, np.nan)
    duration = np.where(outcome == CODE["no_answer"], 0.0, duration)
    channel, direction = np.full(k, channel, np.int8), np.full(k, direction, np.int8)
    log.add(cust=cust, day=day, channel=channel, direction=direction, duration=duration)
    log.add(outcome=outcome)


def interactions(rng, log: EventLog, m: Month, pop: Pop, skill, cal_month: int) -> np.ndarray:
    """App logins (track engagement), calls, emails, chats, visits and campaigns; returns the
    login counts. Skilled managers call and visit more."""
    ex, e, q4 = m.exposure, m.engagement, _q4(cal_month)
    sk = np.exp(0.3 * skill[m.idx])
    answered = (CODE["answered"], CODE["no_answer"])
    logins = rng.poisson(pop.app_user[m.idx] * 1.3 * np.exp(e - 0.2) * m.act * ex)
    _interactions(rng, log, m, logins, APP_LOGIN, INBOUND, (CODE["success"],), dur=240)
    _interactions(rng, log, m, rng.poisson(0.05 * ex), CALL, INBOUND, answered, 0.92, 300)
    _interactions(rng, log, m, rng.poisson(0.04 * sk * ex), CALL, OUTBOUND, answered, 0.55, 300)
    _interactions(rng, log, m, rng.poisson(0.04 * ex), EMAIL, INBOUND, (CODE["received"],))
    replies = (CODE["replied"], CODE["sent"])
    _interactions(
        rng, log, m, rng.poisson(0.06 * ex), EMAIL, OUTBOUND, replies, 0.2 * np.exp(e / 2)
    )
    chats, chat_outcomes = rng.poisson(0.04 * ex * m.act), (CODE["resolved"], CODE["abandoned"])
    _interactions(rng, log, m, chats, CHAT, INBOUND, chat_outcomes, 0.8, 400)
    visits = rng.poisson(_VISITS[pop.segment[m.idx] % 3] * sk * ex)
    _interactions(rng, log, m, visits, VISIT, OUTBOUND, (CODE["completed"],), dur=3000)
    respond = 1 / (1 + np.exp(2.2 - e))
    campaigns = rng.poisson(0.2 * q4 * ex)
    responses = (CODE["responded"], CODE["no_response"])
    _interactions(rng, log, m, campaigns, CAMPAIGN, OUTBOUND, responses, respond)
    return logins


def complaints(rng, log: EventLog, inter: EventLog, m: Month, pop: Pop, skill, leaving):
    """Complaints (each with an inbound call); returns customer, burden weight and resolution day.

    Skilled managers resolve faster and more often; satisfaction falls with severity and delay."""
    rate = 0.035 * np.exp(pop.friction[m.idx] - 0.18) * _COMPLAINTS[pop.segment[m.idx] % 3]
    _, cust, day = m.scatter(rng, rng.poisson(rate * m.exposure * np.where(leaving, 1.4, 1.0)))
    k, sk = len(cust), skill[cust]
    sev = np.searchsorted(np.cumsum(_SEVERITY_P), rng.random(k), side="right").clip(0, 2)
    never = rng.random(k) < 1 / (1 + np.exp(2.6 - 0.4 * sev + 0.6 * sk))
    delay = _RESOLVE_DAYS[sev] * np.exp(-0.35 * sk) * lognormal(rng, k, 0.8)
    resolved = np.where(never, np.nan, day + delay)
    sat = 4.4 - 0.45 * sev - 0.05 * np.minimum(delay, 40) + 0.35 * sk - 1.8 * never
    sat = np.clip(np.rint(sat + rng.normal(0, 0.8, k)), 1, 5)
    category = rng.choice(len(COMPLAINT_CATEGORIES), k, p=[0.3, 0.3, 0.25, 0.15]).astype(np.int8)
    log.add(cust=cust, opened=day, resolved=resolved, severity=sev + 1.0, satisfaction=sat)
    log.add(category=category)
    call, inbound = np.full(k, CALL, np.int8), np.full(k, INBOUND, np.int8)
    duration = 420 * lognormal(rng, k, 0.7)
    inter.add(cust=cust, day=day, channel=call, direction=inbound, duration=duration)
    inter.add(outcome=np.full(k, CODE["answered"], np.int8))
    weight = SEVERITY_WEIGHT[sev] * np.where(never | (delay > 10), 1.8, 1.0)
    return cust, weight, resolved


def goodbye_calls(rng, who: np.ndarray, churn: np.ndarray) -> dict[str, np.ndarray]:
    """Outbound retention calls within five days after a cancellation (columns, not yet logged)."""
    k = len(who)
    answered = rng.random(k) < 0.5
    return {
        "cust": who,
        "day": churn[who] + rng.uniform(0.2, 5.0, k),
        "channel": np.full(k, CALL, np.int8),
        "direction": np.full(k, OUTBOUND, np.int8),
        "duration": np.where(answered, 200 * lognormal(rng, k, 0.6), 0.0),
        "outcome": np.where(answered, CODE["answered"], CODE["no_answer"]).astype(np.int8),
    }

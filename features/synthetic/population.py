"""Static side of the demo book: the calendar, the customers' fixed traits and the managers.

Everything is drawn once, vectorised, from one ``numpy.random.Generator``; the monthly simulation
(``features.synthetic.simulate``) then plays the history forward.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.synthetic.config import GeneratorConfig

PLANS = ("payg", "monthly", "annual")
PAYG, MONTHLY, ANNUAL = 0, 1, 2
PRODUCTS = ("mobile", "broadband", "tv", "cloud", "devices", "accessories")
# Main product per segment order enterprise-like, smb-like, consumer-like (cycled for more segments)
_MAIN_PRODUCT_P = np.array(
    [
        [0.25, 0.35, 0.0, 0.40, 0.0, 0.0],
        [0.40, 0.40, 0.05, 0.15, 0.0, 0.0],
        [0.55, 0.30, 0.15, 0.0, 0.0, 0.0],
    ]
)
_PLAN_RISK = np.array([0.2, 0.1, -0.3])  # payg, monthly, annual
_PURCHASES_PER_MONTH = np.array([4.0, 3.0, 2.0])  # pay-as-you-go buying frequency per segment
COHORT_MONTHS = 12  # the starting cohort signs up over the first year (launch)
ACQUISITION_SEASON = np.array([0.9, 0.9, 1.0, 1.0, 1.0, 1.0, 0.95, 0.95, 1.0, 1.05, 1.15, 1.2])
_SURNAMES = "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Gao Luo"
_GIVEN = "Wei Fang Na Min Jing Li Qiang Lei Jun Yang Yong Yan Jie Tao Ming Chao Xiu Xia Ping Gang"


def add_months(days: np.ndarray, k: np.ndarray | int) -> np.ndarray:
    """Calendar dates (``datetime64[D]``) moved by ``k`` months, day clipped to the month's end."""
    month = days.astype("datetime64[M]")
    dom = (days - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(k, dtype=np.int64)
    dim = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return target.astype("datetime64[D]") + np.minimum(dom, dim - 1)


@dataclass(frozen=True)
class Calendar:
    """Monthly grid of the history; times are float days since ``start``."""

    start: np.datetime64  # datetime64[D]
    month_start: np.ndarray  # int64 days since start, one per month plus the end
    cal_month: np.ndarray  # calendar month 0..11 of each simulated month

    @property
    def n_months(self) -> int:
        return len(self.month_start) - 1

    @property
    def end(self) -> int:
        """First day after the history (as_of + 1 day)."""
        return int(self.month_start[-1])


def make_calendar(cfg: GeneratorConfig) -> Calendar:
    """The month grid from ``cfg.start`` over ``cfg.months`` months."""
    start = np.datetime64(cfg.start, "D")
    starts = add_months(np.full(cfg.months + 1, start), np.arange(cfg.months + 1))
    month_start = (starts - start).astype(np.int64)
    cal_month = (starts[:-1].astype("datetime64[M]").astype(np.int64) % 12).astype(np.int64)
    return Calendar(start=start, month_start=month_start, cal_month=cal_month)


@dataclass(frozen=True)
class Managers:
    """Account managers: team, home region, hidden skill and relative capacity."""

    team: np.ndarray
    serves: np.ndarray  # segment code the manager's team serves
    region: np.ndarray
    skill: np.ndarray
    names: list[str]

    def __len__(self) -> int:
        return len(self.team)


@dataclass(frozen=True)
class Population:
    """Fixed traits of every customer (arrays of length n, sorted by signup)."""

    signup: np.ndarray  # int64 days since start
    signup_month: np.ndarray
    signup_offset: np.ndarray  # day of the signup within its month (contract anniversaries)
    first_day: np.ndarray  # time of the first (``new``) transaction on the signup day
    segment: np.ndarray
    region: np.ndarray
    plan: np.ndarray
    product: np.ndarray  # main product code
    value: np.ndarray  # monthly value in currency units
    freq: np.ndarray  # pay-as-you-go purchases per month
    propensity: np.ndarray  # mean engagement
    friction: np.ndarray  # complaint propensity
    app_user: np.ndarray
    manager: np.ndarray
    base_risk: np.ndarray  # static log-hazard (segment, region, plan, size), skill excluded

    def __len__(self) -> int:
        return len(self.signup)


def _team_sizes(n_managers: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder split of managers over teams, at least one per team when possible."""
    share = weights / weights.sum() * n_managers
    sizes = np.floor(share).astype(np.int64)
    if n_managers >= len(weights):
        sizes = np.maximum(sizes, 1)
    while sizes.sum() > n_managers:
        sizes[np.argmax(sizes)] -= 1
    order = np.argsort(-(share - sizes), kind="stable")
    sizes[order[: n_managers - sizes.sum()]] += 1
    return sizes


def make_managers(n: int, cfg: GeneratorConfig, rng: np.random.Generator) -> Managers:
    """Managers spread over teams (by the size of the segment each serves) and home regions."""
    n_teams, n_seg = len(cfg.teams), len(cfg.segments)
    serves_by_team = np.arange(n_teams) % n_seg
    shares = np.asarray(cfg.segment_shares)[serves_by_team]
    team = np.repeat(np.arange(n_teams), _team_sizes(n, np.maximum(shares, 1e-3) ** 0.6))
    rank_in_team = np.arange(n) - np.searchsorted(team, team)
    region_order = rng.permutation(len(cfg.regions))
    region = region_order[(rank_in_team + team) % len(cfg.regions)]
    surnames, given = _SURNAMES.split(), _GIVEN.split()
    pick_s = rng.integers(0, len(surnames), n)
    pick_g = rng.integers(0, len(given), n)
    names = [f"{surnames[s]} {given[g]}" for s, g in zip(pick_s, pick_g, strict=True)]
    return Managers(
        team=team,
        serves=serves_by_team[team],
        region=region,
        skill=rng.standard_normal(n),
        names=names,
    )


def _signups(n: int, cal: Calendar, cfg: GeneratorConfig, rng: np.random.Generator) -> np.ndarray:
    """Signup days: a starting cohort in the first months plus seasonal steady acquisition."""
    lengths = np.diff(cal.month_start)
    cohort = rng.random(n) < cfg.initial_share
    weights = lengths * ACQUISITION_SEASON[cal.cal_month]
    month = rng.choice(cal.n_months, size=n, p=weights / weights.sum())
    month[cohort] = rng.integers(0, min(COHORT_MONTHS, cal.n_months), int(cohort.sum()))
    day = cal.month_start[month] + np.floor(rng.random(n) * lengths[month]).astype(np.int64)
    return np.sort(np.minimum(day, cal.end - 1))


def _assign(pop_seg: np.ndarray, pop_reg: np.ndarray, mgr: Managers, rng: np.random.Generator):
    """Manager per customer: mostly one serving the segment, preferably in the home region."""
    capacity = np.exp(0.25 * rng.standard_normal(len(mgr)))
    manager = np.empty(len(pop_seg), dtype=np.int64)
    u = rng.random(len(pop_seg))
    for s in np.unique(pop_seg):
        for r in np.unique(pop_reg):
            cell = np.flatnonzero((pop_seg == s) & (pop_reg == r))
            w = capacity * np.where(mgr.serves == s, 1.0, 0.01) * np.where(mgr.region == r, 1, 0.1)
            cum = np.cumsum(w)
            manager[cell] = np.searchsorted(cum, u[cell] * cum[-1], side="right")
    return np.minimum(manager, len(mgr) - 1)


def make_population(
    n: int, cal: Calendar, mgr: Managers, cfg: GeneratorConfig, rng: np.random.Generator
) -> Population:
    """Draw every customer's fixed traits and their account manager."""
    signup = _signups(n, cal, cfg, rng)
    signup_month = np.searchsorted(cal.month_start, signup, side="right") - 1
    shares = np.asarray(cfg.segment_shares, dtype=float)
    segment = rng.choice(len(shares), size=n, p=shares / shares.sum())
    region = rng.choice(len(cfg.regions), size=n)
    contractual = rng.random(n) < np.asarray(cfg.segment_contractual)[segment]
    annual = rng.random(n) < np.asarray(cfg.segment_annual)[segment]
    plan = np.where(contractual, np.where(annual, ANNUAL, MONTHLY), PAYG)
    kind = segment % len(_MAIN_PRODUCT_P)
    cum_p = np.cumsum(_MAIN_PRODUCT_P, axis=1)[kind]
    product = np.minimum((rng.random(n)[:, None] > cum_p).sum(axis=1), len(PRODUCTS) - 1)
    size = rng.normal(-(cfg.value_sigma**2) / 2, cfg.value_sigma, n)
    value = np.asarray(cfg.segment_monthly_value)[segment] * np.exp(size)
    freq = _PURCHASES_PER_MONTH[kind] * np.exp(rng.normal(0.0, 0.35, n))
    base_risk = (
        np.asarray(cfg.segment_risk)[segment]
        + np.asarray(cfg.region_risk)[region]
        + _PLAN_RISK[plan]
        - 0.15 * size
    )
    return Population(
        signup=signup,
        signup_month=signup_month,
        signup_offset=signup - cal.month_start[signup_month],
        first_day=signup + rng.uniform(0.3, 0.9, n),
        segment=segment,
        region=region,
        plan=plan,
        product=product,
        value=value,
        freq=freq,
        propensity=rng.normal(0.0, 0.5, n),
        friction=rng.normal(0.0, 0.6, n),
        app_user=rng.random(n) < 0.7,
        manager=_assign(segment, region, mgr, rng),
        base_risk=base_risk,
    )

"""Retention campaigns the demo generator plays into the history, with a randomised control group.

Every month from ``months`` before the end, a campaign picks a random ``share`` of the customers
present at the month's start and holds ``control_share`` of them back. Each customer has a hidden
response type, drawn once from observable traits (engagement and complaint propensity, plan):

- persuadable: a contact cuts the monthly hazard of deciding to leave (``persuadable_effect`` on
  the log scale) for ``effect_months`` months, and talks a customer who has already decided to
  leave, but not yet left, out of it with probability ``rescue``;
- sure thing and lost cause: a contact changes nothing (the first mostly engaged, the second mostly
  disengaged);
- sleeping dog: a contact raises the hazard (``sleeping_dog_effect``) for ``effect_months``
  months (reminded that they can leave, they do).

The types and the campaigns draw from a stream of their own (seeded by the seed), so with
campaigns off the generator's output is the same as before campaigns existed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.synthetic.config import CampaignConfig
from features.synthetic.population import ANNUAL, PAYG
from features.synthetic.population import Population as Pop

TYPES = ("persuadable", "sure_thing", "lost_cause", "sleeping_dog")
PERSUADABLE, SURE_THING, LOST_CAUSE, SLEEPING_DOG = range(4)
CHANNELS = ("call", "email", "visit")
OFFERS = ("discount", "upgrade", "loyalty_bonus", "none")
OUTCOMES = ("reached", "no_answer", "accepted", "declined")  # order of contract.CONTACT_OUTCOMES
REACHED, NO_ANSWER, ACCEPTED, DECLINED = range(4)
SHARPNESS = 2.0  # how closely the traits decide the type (the rest is noise)
_STREAM = 0xC4A7  # second seed word of the campaigns' own random stream
CONTACT_DAYS = 7.0  # a campaign's contacts fall in the first week of its month
_LAG = (21.0, 80.0)  # decision to churn date, as in the simulation


def stream(seed: int) -> np.random.Generator:
    """The campaigns' own random stream (the main stream is left untouched)."""
    return np.random.default_rng([seed, _STREAM])


def response_types(pop: Pop, cfg: CampaignConfig, rng: np.random.Generator) -> np.ndarray:
    """Each customer's response type (codes of :data:`TYPES`) from observable traits.

    Engaged customers are mostly sure things, disengaged pay-as-you-go customers mostly lost
    causes, customers with friction (complaints) on a contract mostly persuadable and quiet annual
    subscribers the sleeping dogs; a Gumbel draw adds noise, and the intercepts are tuned so the
    shares match ``type_shares``.
    """
    eng, fric = pop.propensity / 0.5, pop.friction / 0.6
    payg, annual = (pop.plan == PAYG).astype(float), (pop.plan == ANNUAL).astype(float)
    quiet = annual * ~pop.app_user  # pays every year, never shows up in the app
    score = SHARPNESS * np.column_stack(
        [
            1.0 * (1 - payg) + 0.8 * fric - 0.5 * eng,
            2.0 * eng,
            -2.0 * eng + 1.5 * payg,
            2.5 * quiet - 0.5 * eng,
        ]
    )
    noise = rng.gumbel(size=score.shape)
    target = np.asarray(cfg.type_shares, dtype=float)
    bias = np.zeros(len(TYPES))
    for _ in range(30):
        choice = np.argmax(score + noise + bias, axis=1)
        share = np.bincount(choice, minlength=len(TYPES)) / max(len(choice), 1)
        bias += np.where(target > 0, np.log(np.maximum(target, 1e-9) / np.maximum(share, 1e-9)), 0)
        bias[target == 0] = -1e9
    return np.argmax(score + noise + bias, axis=1)


def log_hazard_change(types: np.ndarray, cfg: CampaignConfig) -> np.ndarray:
    """What a contact adds to each type's log-hazard while its effect lasts."""
    change = np.array([-cfg.persuadable_effect, 0.0, 0.0, cfg.sleeping_dog_effect])
    return change[types]


def _churn_within_horizon_weights(effect_months: int) -> np.ndarray:
    """P(the churn date falls within ``effect_months`` months of a contact at a month's start |
    the decision falls in month k after it), for k = 0 .. effect_months - 1 (30-day months,
    decisions uniform in their month, lag uniform as in the simulation)."""
    horizon = 30.0 * effect_months
    day = (np.arange(effect_months)[:, None] + (np.arange(200) + 0.5)[None, :] / 200) * 30.0
    return np.clip((horizon - day - _LAG[0]) / (_LAG[1] - _LAG[0]), 0.0, 1.0).mean(axis=1)


def churn_within_horizon(
    p: np.ndarray, log_change: np.ndarray, months: int, effect_months: int
) -> np.ndarray:
    """P(churn within ``months`` months of a contact at a month's start) of customers whose monthly
    probability of deciding to leave is ``p``, when the contact moves their log-hazard by
    ``log_change`` for ``effect_months`` months (0: no contact, or no effect)."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    moved = 1.0 - (1.0 - p) ** np.exp(log_change)
    weights = _churn_within_horizon_weights(months)
    total, alive = np.zeros(len(p)), np.ones(len(p))
    for k in range(months):
        q = moved if k < effect_months else p
        total += weights[k] * alive * q
        alive = alive * (1.0 - q)
    return total


@dataclass
class CampaignLog:
    """The campaigns' rows, collected month by month, and the running effect on each customer."""

    cfg: CampaignConfig
    types: np.ndarray
    change: np.ndarray  # log-hazard change of a contact, per customer
    rng: np.random.Generator
    effect_until: np.ndarray  # first month the last contact's effect no longer applies
    rows: list[dict[str, np.ndarray]]

    @classmethod
    def start(cls, pop: Pop, cfg: CampaignConfig, seed: int) -> CampaignLog:
        rng = stream(seed)
        types = response_types(pop, cfg, rng)
        return cls(
            cfg,
            types,
            log_hazard_change(types, cfg),
            rng,
            np.zeros(len(pop), dtype=np.int64),
            [],
        )

    def run(
        self, t: int, first_month: int, ms: int, present: np.ndarray, churn, decision
    ) -> np.ndarray:
        """Month ``t``'s campaign over the customers ``present`` at its start (indices); returns
        the customers it keeps (persuadables who had decided to leave); ``churn`` and
        ``decision`` are left to the caller to clear."""
        if t < first_month or not len(present):
            return np.empty(0, dtype=np.int64)
        rng, cfg = self.rng, self.cfg
        picked = present[rng.random(len(present)) < cfg.share]
        treated = rng.random(len(picked)) >= cfg.control_share
        day = ms + rng.random(len(picked)) * CONTACT_DAYS
        day = np.minimum(day, churn[picked] - 0.01)  # one leaving that week is reached before
        contacted = picked[treated]
        self.effect_until[contacted] = t + cfg.effect_months
        deciding = np.isfinite(churn[contacted]) & (decision[contacted] < day[treated])
        deciding &= churn[contacted] > day[treated]
        kept = contacted[
            deciding
            & (self.types[contacted] == PERSUADABLE)
            & (rng.random(len(contacted)) < cfg.rescue)
        ]
        self.rows.append(
            {
                "cust": picked,
                "day": day,
                "month": np.full(len(picked), t, dtype=np.int64),
                "treated": treated.astype(np.int8),
                "outcome": self._outcomes(picked, treated),
                "channel": rng.integers(0, len(CHANNELS), len(picked)).astype(np.int8),
                "offer": rng.integers(0, len(OFFERS), len(picked)).astype(np.int8),
            }
        )
        return kept

    def _outcomes(self, picked: np.ndarray, treated: np.ndarray) -> np.ndarray:
        """Reached, no answer, accepted or declined (-1: a control row); persuadables accept
        more often, lost causes and sleeping dogs decline."""
        u, types = self.rng.random(len(picked)), self.types[picked]
        accept = np.array([0.45, 0.15, 0.05, 0.03])[types]
        decline = np.array([0.10, 0.10, 0.35, 0.45])[types]
        code = np.where(
            u < 0.25,
            NO_ANSWER,
            np.where(
                u < 0.25 + accept,
                ACCEPTED,
                np.where(u < 0.25 + accept + decline, DECLINED, REACHED),
            ),
        )
        return np.where(treated, code, -1).astype(np.int8)

    def hazard_change(self, t: int, cand: np.ndarray) -> np.ndarray:
        """Log-hazard change of the candidates in month ``t`` (0 outside a contact's effect)."""
        return np.where(self.effect_until[cand] > t, self.change[cand], 0.0)

    def arrays(self) -> dict[str, np.ndarray]:
        """All campaigns' rows, in time order."""
        if not self.rows:
            return {
                "cust": np.empty(0, np.int64),
                "day": np.empty(0),
                "month": np.empty(0, np.int64),
                "treated": np.empty(0, np.int8),
                "outcome": np.empty(0, np.int8),
                "channel": np.empty(0, np.int8),
                "offer": np.empty(0, np.int8),
            }
        out = {k: np.concatenate([r[k] for r in self.rows]) for k in self.rows[0]}
        order = np.argsort(out["day"], kind="stable")
        return {k: v[order] for k, v in out.items()}

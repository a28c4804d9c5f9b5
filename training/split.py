"""Time-based splits of the multi-cutoff training set (never random rows across time).

A customer appears once per cutoff at which they are active. The test cutoff is the last one whose
label horizon is complete. The calibration cutoff is the latest whose horizon ``[T, T + H)`` ends on
or before the test cutoff; training cutoffs are the latest ones whose horizon ends on or before the
calibration cutoff. So every label used to fit, stop or calibrate was observable at the test
cutoff (a purge of the cutoffs in between), and a customer's training rows are snapshots taken at
least one horizon before their test row: the test measures scoring the same book later, as in
production, not recalling rows the model saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.errors import ChurnError


class SplitError(ChurnError):
    """The data's history is too short for a time split (names what is missing)."""


@dataclass(frozen=True)
class CutoffPlan:
    """Which cutoffs train, calibrate (and early-stop) and test the models."""

    train: tuple[pd.Timestamp, ...]
    calibration: pd.Timestamp
    test: pd.Timestamp
    horizon_days: int

    @property
    def all(self) -> tuple[pd.Timestamp, ...]:
        return (*self.train, self.calibration, self.test)

    def describe(self) -> dict[str, str]:
        """Dates as strings, for logging."""
        return {
            "train_cutoffs": ", ".join(f"{t:%Y-%m-%d}" for t in self.train),
            "calibration_cutoff": f"{self.calibration:%Y-%m-%d}",
            "test_cutoff": f"{self.test:%Y-%m-%d}",
            "horizon_days": str(self.horizon_days),
        }


def plan_cutoffs(candidates: list[pd.Timestamp], horizon_days: int, n_train: int) -> CutoffPlan:
    """Choose test, calibration and up to ``n_train`` training cutoffs among labelled candidates.

    ``candidates`` are cutoffs whose horizon is complete, in any order.
    """
    cands = sorted(pd.Timestamp(c) for c in candidates)
    if not cands:
        raise SplitError("no labelled cutoff: the data's history is shorter than the horizon")
    h = pd.Timedelta(days=horizon_days)
    test = cands[-1]
    before_test = [c for c in cands if c + h <= test]
    if not before_test:
        raise SplitError(
            f"no calibration cutoff: need a cutoff at least {horizon_days} days before the test "
            f"cutoff {test:%Y-%m-%d}; the data's history is too short"
        )
    calibration = before_test[-1]
    train = [c for c in cands if c + h <= calibration][-n_train:]
    if not train:
        raise SplitError(
            f"no training cutoff: need cutoffs at least {horizon_days} days before the calibration "
            f"cutoff {calibration:%Y-%m-%d}; the data's history is too short"
        )
    return CutoffPlan(tuple(train), calibration, test, horizon_days)


def months_needed(horizon_days: int, n_train: int) -> int:
    """How many monthly candidate cutoffs cover the plan (train + two purged gaps + cal + test)."""
    gap = -(-horizon_days // 28)  # months a horizon can span, rounded up
    return n_train + 2 * gap + 2


@dataclass(frozen=True)
class Split:
    """The training set cut by cutoff; rows without a label are dropped per target later."""

    train: pd.DataFrame
    calibration: pd.DataFrame
    test: pd.DataFrame


def split_frame(frame: pd.DataFrame, plan: CutoffPlan) -> Split:
    """Rows of each part of the plan, keyed by the frame's ``cutoff`` column."""
    cutoff = pd.to_datetime(frame["cutoff"])
    parts = {
        "train": frame[cutoff.isin(list(plan.train))],
        "calibration": frame[cutoff == plan.calibration],
        "test": frame[cutoff == plan.test],
    }
    for name, part in parts.items():
        if part.empty:
            raise SplitError(f"the {name} cutoff(s) have no active customers")
    return Split(**parts)

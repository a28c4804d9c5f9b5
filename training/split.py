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
from core.notes import Note, note


class SplitError(ChurnError):
    """The data's history is too short for a time split (names what is missing)."""


@dataclass(frozen=True)
class Fold:
    """One rolling-origin fold: fit on ``train``, early-stop on ``early_stop`` (whose horizon
    ends on or before ``validation``), score on ``validation``. The training cutoffs' horizons
    end on or before the early-stopping cutoff (purged), so no fitted label reads past it."""

    train: tuple[pd.Timestamp, ...]
    early_stop: pd.Timestamp
    validation: pd.Timestamp


@dataclass(frozen=True)
class CutoffPlan:
    """Which cutoffs train, calibrate (and early-stop) and test the models.

    ``folds`` are the rolling-origin validation folds, oldest first; the last is always
    (``train``, ``calibration``, ``test``). ``refit`` is every labelled cutoff the final model
    is refitted on after validation, the test cutoff included: every candidate from the first
    fold's earliest training cutoff on, also those the folds' purged gaps leave out (on a short
    history the folds use one cutoff in three, the refit all of them).
    """

    train: tuple[pd.Timestamp, ...]
    calibration: pd.Timestamp
    test: pd.Timestamp
    horizon_days: int
    folds: tuple[Fold, ...] = ()
    refit: tuple[pd.Timestamp, ...] = ()

    @property
    def rolling(self) -> tuple[Fold, ...]:
        """The validation folds (the single train/calibration/test fold when none were planned)."""
        return self.folds or (Fold(self.train, self.calibration, self.test),)

    @property
    def refit_cutoffs(self) -> tuple[pd.Timestamp, ...]:
        """The cutoffs the registered model is refitted on (every fold's cutoffs by default)."""
        if self.refit:
            return self.refit
        seen = {c for f in self.rolling for c in (*f.train, f.early_stop, f.validation)}
        return tuple(sorted(seen))

    @property
    def all(self) -> tuple[pd.Timestamp, ...]:
        return tuple(sorted({*self.train, self.calibration, self.test, *self.refit_cutoffs}))

    def describe(self) -> dict[str, str]:
        """Dates as strings, for logging."""
        return {
            "train_cutoffs": ", ".join(f"{t:%Y-%m-%d}" for t in self.train),
            "calibration_cutoff": f"{self.calibration:%Y-%m-%d}",
            "test_cutoff": f"{self.test:%Y-%m-%d}",
            "horizon_days": str(self.horizon_days),
            "validation_cutoffs": ", ".join(f"{f.validation:%Y-%m-%d}" for f in self.rolling),
            "refit_cutoffs": ", ".join(f"{t:%Y-%m-%d}" for t in self.refit_cutoffs),
        }


def _fold(cands: list[pd.Timestamp], h: pd.Timedelta, n_train: int, v: pd.Timestamp) -> Fold | None:
    before = [c for c in cands if c + h <= v]
    if not before:
        return None
    train = [c for c in cands if c + h <= before[-1]][-n_train:]
    return Fold(tuple(train), before[-1], v) if train else None


def plan_cutoffs(
    candidates: list[pd.Timestamp], horizon_days: int, n_train: int, n_validation: int = 1
) -> CutoffPlan:
    """Choose test, calibration and up to ``n_train`` training cutoffs among labelled candidates,
    and up to ``n_validation`` rolling-origin folds validated on the latest labelled cutoffs
    (those a fold fits before; the last fold is the test fold).

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
    if n_validation <= 1:
        return CutoffPlan(tuple(train), calibration, test, horizon_days)
    folds = [f for v in cands[-n_validation:] if (f := _fold(cands, h, n_train, v)) is not None]
    first = min(c for f in folds or [Fold(tuple(train), calibration, test)] for c in f.train)
    refit = tuple(c for c in cands if c >= first)
    return CutoffPlan(tuple(train), calibration, test, horizon_days, tuple(folds), refit)


class HistoryError(SplitError):
    """The data's history is shorter than the time split needs for the chosen horizon."""


def _next_month_start(ts: pd.Timestamp, strictly_after: bool) -> pd.Timestamp:
    """The first month start after ``ts`` (or on it, unless ``strictly_after``)."""
    start = pd.Timestamp(year=ts.year, month=ts.month, day=1)
    if start > ts or (start == ts and not strictly_after):
        return start
    return start + pd.offsets.MonthBegin(1)


def earliest_as_of(first_signup: pd.Timestamp, horizon_days: int, n_train: int = 1) -> pd.Timestamp:
    """The earliest as-of date for which :func:`plan_cutoffs` finds ``n_train`` training cutoffs.

    The split rules on month-start cutoffs: the first cutoff is the first month start after the
    first sign-up (earlier ones have nobody to score); the calibration cutoff is the first month
    start at least H days after the last training cutoff, the test cutoff the first at least H
    days after that, and the test's own horizon must end by the as-of date.
    """
    h = pd.Timedelta(days=horizon_days)
    first = _next_month_start(pd.Timestamp(first_signup), strictly_after=True)
    last_train = first + pd.offsets.MonthBegin(n_train - 1) if n_train > 1 else first
    calibration = _next_month_start(last_train + h, strictly_after=False)
    test = _next_month_start(calibration + h, strictly_after=False)
    return test + h


def longest_horizon(first_signup: pd.Timestamp, as_of: pd.Timestamp) -> int:
    """The longest horizon in days that a history from ``first_signup`` to ``as_of`` can train
    with (one training cutoff); 0 when none can."""
    lo, hi = 0, max(int((as_of - first_signup) / pd.Timedelta(days=1)), 0)
    while lo < hi:  # earliest_as_of grows with the horizon: binary search
        mid = (lo + hi + 1) // 2
        if earliest_as_of(first_signup, mid) <= as_of:
            lo = mid
        else:
            hi = mid - 1
    return lo


def check_history(
    first_signup: pd.Timestamp,
    as_of: pd.Timestamp,
    horizon_days: int,
    n_train: int,
    data_range: str | Note,
) -> None:
    """Raise :class:`HistoryError` naming the data's range, the as-of date, the history the split
    needs and the horizons that would work, when no split fits; ``data_range`` describes the
    data's dates and as-of date for the message."""
    need = earliest_as_of(first_signup, horizon_days, 1)
    if need <= as_of:
        return
    full = earliest_as_of(first_signup, horizon_days, n_train)
    days = int((need - first_signup) / pd.Timedelta(days=1))
    longest = longest_horizon(first_signup, as_of)
    advice = note("history_use_horizon", longest=longest) if longest >= 1 else note("history_add")
    raise HistoryError(
        note(
            "history_short",
            h=horizon_days,
            range=data_range,
            first=first_signup,
            need=need,
            days=days,
            n=n_train,
            full=full,
            advice=advice,
        )  # fmt: skip
    )


def months_needed(horizon_days: int, n_train: int, n_validation: int = 1) -> int:
    """How many monthly candidate cutoffs cover the plan (train + two purged gaps + cal + test,
    and the earlier validation cutoffs)."""
    gap = -(-horizon_days // 28)  # months a horizon can span, rounded up
    return n_train + 2 * gap + 2 + max(n_validation - 1, 0)


@dataclass(frozen=True)
class Split:
    """The training set cut by cutoff; rows without a label are dropped per target later."""

    train: pd.DataFrame
    calibration: pd.DataFrame
    test: pd.DataFrame


def rows_at(frame: pd.DataFrame, cutoffs: tuple[pd.Timestamp, ...] | pd.Timestamp) -> pd.DataFrame:
    """Rows of ``frame`` at the given cutoff(s)."""
    wanted = [cutoffs] if isinstance(cutoffs, pd.Timestamp) else list(cutoffs)
    return frame[pd.to_datetime(frame["cutoff"]).isin(wanted)]


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
            dates = plan.describe()[f"{name}_cutoff" + ("s" if name == "train" else "")]
            raise SplitError(
                f"the {name} cutoff(s) {dates} have no active customers (nobody signed up before "
                "them and bought within the active window); check the as-of date and the "
                "population's active_window_days"
            )
    return Split(**parts)

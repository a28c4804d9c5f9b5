"""What the managers' pages show: each book's risk at the latest scoring and the KPI scorecards
(score, grade, rank, commission) of the latest month the data can judge.

Scorecards come from :mod:`kpi.inputs` exactly as ``GET /scorecards`` and ``churn kpi``
compute them (the predictions stored at the month's first day, judged with the data folder that
scoring read); a month the store lacks is a note naming the ``churn score`` date to run, not an
error. The book's risk is one grouped query over the latest scoring's predictions.
"""

from __future__ import annotations

import threading
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.errors import ChurnError
from kpi.config import KpiConfig, KpiError
from kpi.inputs import DatasetCache, MissingPredictionsError, period_inputs
from kpi.periods import Period, latest_complete_month, parse_period
from kpi.portfolio import MANAGER
from kpi.scorecard import scorecard
from scoring.store.predictions import PredictionStore, ScoringRun
from scoring.store.workspace import book_risk_rows, run_stamps
from serving.errors import scrub

AT_RISK_STATUSES = ("active", "lapsing")


def book_risk(store: PredictionStore, run: ScoringRun) -> pd.DataFrame:
    """Per account manager at ``run``: customers scored, customers on the at-risk list (active
    or lapsing), of them in the high band, their mean P(churn), value if retained and expected
    value at risk. Indexed by ``account_manager_id``."""
    frame = book_risk_rows(store, run.asof, AT_RISK_STATUSES)
    frame[MANAGER] = frame[MANAGER].astype("str")
    counts = ["customers", "at_risk", "high"]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    return frame.set_index(MANAGER).sort_index()


@dataclass(frozen=True)
class Scorecards:
    """The scorecards of a period (None with a note when they cannot be computed)."""

    period: str
    frame: pd.DataFrame | None
    note: str | None = None
    scored: tuple[str, ...] = ()

    def managers(self) -> pd.DataFrame:
        """Manager rows indexed by ``account_manager_id`` (empty without scorecards)."""
        if self.frame is None:
            return pd.DataFrame()
        rows = self.frame[self.frame["level"] == "manager"]
        return rows.set_index(rows[MANAGER].astype("str"))

    def team(self, name: object) -> dict | None:
        if self.frame is None or name is None:
            return None
        rows = self.frame[(self.frame["level"] == "team") & (self.frame["team"] == name)]
        return None if rows.empty else rows.iloc[0].to_dict()


def _stamp(when: object) -> str:
    """A scoring time as naive UTC text (the store gives it with or without a time zone)."""
    stamp = pd.Timestamp(str(when))
    return str(stamp.tz_convert(None) if stamp.tzinfo is not None else stamp)


class ScorecardSource:
    """Scorecards from the store, computed once per period, scoring runs and data set."""

    def __init__(self) -> None:
        self.datasets = DatasetCache()
        self._lock = threading.Lock()
        self._cards: dict[tuple, tuple[object, pd.DataFrame]] = {}

    def default_period(self, run: ScoringRun, cfg: KpiConfig) -> Period:
        """The latest month whose outcome window the latest scoring's data covers."""
        folder = Path(run.source) if run.source else None
        as_of = pd.Timestamp(run.asof)
        if folder is not None and folder.is_dir():
            with suppress(ChurnError, OSError):  # unreadable data: the scorecards will say why
                as_of = self.datasets(folder).as_of
        start = latest_complete_month(as_of, cfg.outcome.horizon_days)
        return parse_period(f"{start:%Y-%m}")

    def _cached(self, store: PredictionStore, period: Period) -> Scorecards | None:
        """The scorecards computed before when the period's scoring runs and their data set are
        unchanged (one small query of the runs and a look at the folder's files)."""
        wanted = [f"{m:%Y-%m-%d}" for m in period.months]
        runs = run_stamps(store, wanted)
        sources = {source for _, source in runs.values()}
        if len(runs) != len(wanted) or len(sources) != 1 or not Path(next(iter(sources))).is_dir():
            return None
        key = (store.url, period.label, tuple((d, _stamp(runs[d][0])) for d in wanted))
        with self._lock:
            hit = self._cards.get(key)
        if hit is None or hit[0] is not self.datasets(Path(next(iter(sources)))):
            return None
        return Scorecards(period.label, hit[1], None, tuple(wanted))

    def scorecards(self, store: PredictionStore, period: Period, cfg: KpiConfig) -> Scorecards:
        """The period's scorecards, or a note saying what is missing (no server paths)."""
        with suppress(ChurnError, OSError):
            found = self._cached(store, period)
            if found is not None:
                return found
        try:
            inputs = period_inputs(store, period, cfg.outcome, load=self.datasets)
        except MissingPredictionsError:
            dates = ", ".join(f"{m:%Y-%m-%d}" for m in period.months)
            note = (
                f"No scorecards for {period.label}: they need the predictions made at {dates} "
                f"(churn score --asof {period.months[0]:%Y-%m-%d})."
            )
            return Scorecards(period.label, None, note)
        except KpiError as exc:
            return Scorecards(
                period.label, None, f"No scorecards for {period.label}: " + scrub(str(exc))
            )
        try:
            frame = scorecard(inputs.dataset, inputs.stored.predictions, period, cfg)
        except KpiError as exc:
            note = f"No scorecards for {period.label}: " + scrub(str(exc))
            return Scorecards(period.label, None, note)
        stamps = tuple((r.asof, _stamp(r.scored_at)) for r in inputs.stored.runs)
        key = (store.url, period.label, stamps)
        with self._lock:
            self._cards = {key: (inputs.dataset, frame)}
        return Scorecards(period.label, frame, None, inputs.stored.asof)

"""Each manager's score, churn rate and key CRM indicators over the last months (issue 34), and
the geometry of the small line charts the workspace and the report draw from them as inline SVG
(no script, no plotting library).

A month is in the trend when the store holds the predictions made at its first day and the data
can judge it; other months are gaps, named in a note.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.errors import ChurnError
from features.dataset import Dataset
from kpi.config import KpiConfig
from kpi.inputs import period_inputs
from kpi.periods import month_label, parse_period
from kpi.portfolio import MANAGER
from kpi.scorecard import scorecard
from scoring.store.history import run_sources
from scoring.store.predictions import PredictionStore
from scoring.store.workspace import run_stamps

TREND_MONTHS = 12
TREND_MEASURES = (
    "score", "churn_rate", "repeat_purchase_rate", "contact_response_rate", "upsell_rate",
    "complaint_rate", "satisfaction",
)  # fmt: skip
"""What the trends show: the 100-point score and, as shares 0..1, the rest."""


def trend_months(last: pd.Timestamp, months: int = TREND_MONTHS) -> list[pd.Timestamp]:
    """The ``months`` month starts ending with ``last``'s month, oldest first."""
    end = pd.Timestamp(last).to_period("M").to_timestamp()
    return [end - pd.DateOffset(months=k) for k in range(months - 1, -1, -1)]


@dataclass(frozen=True)
class Trends:
    """One row per manager (and team) and month scored: ``period``, ``level``, manager, team
    and :data:`TREND_MEASURES`; the months asked for and a note naming the months left out."""

    frame: pd.DataFrame
    months: tuple[str, ...]
    missing: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        return f"no scorecards for {', '.join(self.missing)}" if self.missing else ""

    def of(self, manager: str) -> pd.DataFrame:
        """One manager's rows, indexed by month (every month asked for; gaps are NaN)."""
        rows = self.frame[(self.frame["level"] == "manager") & (self.frame[MANAGER] == manager)]
        return rows.set_index("period").reindex(list(self.months))

    def of_team(self, team: object) -> pd.DataFrame:
        """One team's rows, indexed by month (the team's score is its managers' mean)."""
        rows = self.frame[(self.frame["level"] == "team") & (self.frame["team"] == team)]
        return rows.set_index("period").reindex(list(self.months))


def monthly_trends(
    store: PredictionStore,
    last: pd.Timestamp,
    cfg: KpiConfig,
    load: Callable[[Path], Dataset],
    months: int = TREND_MONTHS,
    data: str | Path | None = None,
) -> Trends:
    """The scorecards of each of the ``months`` months ending with ``last``'s month that the
    store and data allow (``data``: the data folder, else the one each scoring read), reduced
    to :data:`TREND_MEASURES`."""
    wanted = trend_months(last, months)
    labels = tuple(month_label(m) for m in wanted)
    stored = run_sources(store, [f"{m:%Y-%m-%d}" for m in wanted])
    rows, missing = [], []
    for month, label in zip(wanted, labels, strict=True):
        if f"{month:%Y-%m-%d}" not in stored:
            missing.append(label)
            continue
        period = parse_period(label)
        try:
            inputs = period_inputs(store, period, cfg.outcome, load, data)
            card = scorecard(inputs.dataset, inputs.stored.predictions, period, cfg)
        except ChurnError:
            missing.append(label)
            continue
        keep = ["period", "level", MANAGER, "team", *[c for c in TREND_MEASURES if c in card]]
        rows.append(card[keep])
    columns = ["period", "level", MANAGER, "team", *TREND_MEASURES]
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)
    frame = frame.reindex(columns=columns)
    return Trends(frame, labels, tuple(missing))


class TrendCache:
    """The trends last computed per store and month, again when a scoring run changes."""

    def __init__(self, load: Callable[[Path], Dataset]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._hit: tuple[tuple, Trends] | None = None

    def __call__(self, store: PredictionStore, last: pd.Timestamp, cfg: KpiConfig) -> Trends:
        wanted = [f"{m:%Y-%m-%d}" for m in trend_months(last)]
        key = (store.url, wanted[-1], tuple(sorted(run_stamps(store, wanted).items())), cfg)
        with self._lock:
            if self._hit is not None and self._hit[0] == key:
                return self._hit[1]
        found = monthly_trends(store, last, cfg, self._load)
        with self._lock:
            self._hit = (key, found)
        return found


@dataclass(frozen=True)
class Chart:
    """A small line chart: the SVG size, the polyline's points (one run per stretch without
    gaps), each point's dot and title, the y axis's two labels and the x axis's first and last."""

    width: int
    height: int
    lines: tuple[str, ...]
    dots: tuple[tuple[float, float, str], ...]
    top: str
    bottom: str
    first: str
    last: str
    baseline: tuple[str, ...] = ()


def line_chart(
    values: Sequence[float | None],
    labels: Sequence[str],
    *,
    share: bool,
    baseline: Sequence[float | None] | None = None,
    width: int = 260,
    height: int = 90,
) -> Chart:
    """The chart of ``values`` (one per label; None or NaN is a gap): a score on 0..100, a
    share on 0..100 %, scaled to the values' own range (padded) so a change is visible; an
    optional ``baseline`` series (the team's) drawn on the same scale."""
    pad_l, pad_r, pad_t, pad_b = 34, 8, 8, 16
    ys = [float(v) for v in [*values, *(baseline or [])] if v is not None and v == v]
    hi_cap = 1.0 if share else 100.0
    lo = max(0.0, min(ys) - 0.05 * hi_cap) if ys else 0.0
    hi = min(hi_cap, max(ys) + 0.05 * hi_cap) if ys else hi_cap
    if hi - lo < 0.1 * hi_cap:
        mid = (hi + lo) / 2
        lo, hi = max(0.0, mid - 0.05 * hi_cap), min(hi_cap, mid + 0.05 * hi_cap)
    n = max(len(values), 1)
    step = (width - pad_l - pad_r) / max(n - 1, 1)

    def x(i: int) -> float:
        return round(pad_l + i * step, 1)

    def y(v: float) -> float:
        return round(pad_t + (hi - v) / ((hi - lo) or 1.0) * (height - pad_t - pad_b), 1)

    def fmt(v: float) -> str:
        return f"{v:.0%}" if share else f"{v:.0f}"

    def runs(series: Sequence[float | None]) -> tuple[str, ...]:
        out: list[str] = []
        cur: list[str] = []
        for i, v in enumerate(series):
            if v is None or v != v:
                if cur:
                    out.append(" ".join(cur))
                cur = []
                continue
            cur.append(f"{x(i)},{y(float(v))}")
        if cur:
            out.append(" ".join(cur))
        return tuple(out)

    dots = tuple(
        (x(i), y(float(v)), f"{labels[i]}: {f'{float(v):.1%}' if share else f'{float(v):.1f}'}")
        for i, v in enumerate(values)
        if v is not None and v == v
    )
    return Chart(
        width=width,
        height=height,
        lines=runs(values),
        dots=dots,
        top=fmt(hi),
        bottom=fmt(lo),
        first=labels[0] if labels else "",
        last=labels[-1] if labels else "",
        baseline=runs(baseline) if baseline is not None else (),
    )

"""What the customer page draws: the timeline of recent purchases, contacts and complaints (from
the data folder the scoring read) and the waterfall of the churn score's SHAP contributions (an
inline SVG drawn here, so the page needs no script and no plotting library)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import ChurnError
from core.lang import Lang
from features.catalog import sentence
from features.dataset import Dataset
from kpi.inputs import DatasetCache
from scoring.reasons import Reason
from serving.ui.i18n import category, t

EVENT_TABLES = {"transactions": "ts", "interactions": "ts", "complaints": "opened_at"}
TIMELINE_EVENTS = 25
WATERFALL_BARS = 10


@dataclass(frozen=True)
class Event:
    date: str
    kind: str
    detail: str


class Timelines:
    """Per data folder, the customers' rows of each event table, indexed once per loaded data
    set so a customer page reads only that customer's rows."""

    def __init__(self) -> None:
        self._load = DatasetCache(size=1)
        self._lock = threading.Lock()
        self._index: tuple[int, dict[str, dict[str, np.ndarray]]] | None = None

    def data(self, folder: Path) -> tuple[Dataset, dict[str, dict[str, np.ndarray]]]:
        ds = self._load(folder)
        with self._lock:
            if self._index is not None and self._index[0] == id(ds):
                return ds, self._index[1]
        index = {
            name: frame.groupby("customer_id", sort=False, observed=True).indices
            for name in (*EVENT_TABLES, "customers")
            if (frame := ds.table(name)) is not None and "customer_id" in frame.columns
        }
        with self._lock:
            self._index = (id(ds), index)
        return ds, index

    def customer(
        self, folder: Path, customer_id: str
    ) -> tuple[dict[str, object], dict[str, pd.DataFrame]]:
        """The customer's row of the ``customers`` table (as a dict) and their event rows."""
        ds, index = self.data(folder)
        profile: dict[str, object] = {}
        customers = ds.table("customers")
        rows = index.get("customers", {}).get(customer_id)
        if customers is not None and rows is not None and len(rows):
            profile = customers.iloc[int(rows[0])].to_dict()
        parts = {}
        for name in EVENT_TABLES:
            frame = ds.table(name)
            found = index.get(name, {}).get(customer_id)
            if frame is not None and found is not None:
                parts[name] = frame.iloc[found]
        return profile, parts


def _day(value: object) -> str:
    return "" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"


def events(parts: dict[str, pd.DataFrame], asof: str, lang: Lang) -> list[Event]:
    """The latest events before the scoring date, newest first (what the model could see)."""
    cutoff = pd.Timestamp(asof)
    out: list[tuple[pd.Timestamp, Event]] = []
    tx = parts.get("transactions")
    if tx is not None and len(tx):
        tx = tx[tx["ts"] < cutoff].nlargest(TIMELINE_EVENTS, "ts")
        for row in tx.to_dict("records"):
            amount = float(row.get("amount") or 0.0)
            kind = "refund" if amount < 0 or row.get("kind") == "refund" else "purchase"
            what = " · ".join(str(row[c]) for c in ("kind", "category") if _text(row.get(c)))
            out.append((row["ts"], Event(_day(row["ts"]), t(kind, lang), f"{amount:,.2f} {what}")))
    ia = parts.get("interactions")
    if ia is not None and len(ia):
        ia = ia[ia["ts"] < cutoff].nlargest(TIMELINE_EVENTS, "ts")
        for row in ia.to_dict("records"):
            what = " · ".join(
                str(row[c]) for c in ("channel", "direction", "outcome") if _text(row.get(c))
            )
            out.append((row["ts"], Event(_day(row["ts"]), t("interaction", lang), what)))
    cp = parts.get("complaints")
    if cp is not None and len(cp):
        cp = cp[cp["opened_at"] < cutoff].nlargest(TIMELINE_EVENTS, "opened_at")
        for row in cp.to_dict("records"):
            resolved = row.get("resolved_at")
            state = (
                t("resolved", lang, date=_day(resolved))
                if resolved is not None and not pd.isna(resolved) and resolved < cutoff
                else t("open_complaint", lang)
            )
            bits = [str(row["category"])] if _text(row.get("category")) else []
            if row.get("severity") is not None and not pd.isna(row["severity"]):
                bits.append(t("severity", lang, n=int(row["severity"])))
            detail = " · ".join([*bits, state])
            out.append(
                (row["opened_at"], Event(_day(row["opened_at"]), t("complaint", lang), detail))
            )
    out.sort(key=lambda e: e[0], reverse=True)
    return [e for _, e in out[:TIMELINE_EVENTS]]


def _text(value: object) -> bool:
    return (
        value is not None
        and not (isinstance(value, float) and math.isnan(value))
        and bool(str(value))
    )


@dataclass(frozen=True)
class Bar:
    label: str
    start: float
    end: float
    raises: bool
    x: float
    width: float
    y: float
    value_text: str


@dataclass(frozen=True)
class Waterfall:
    """Geometry of the SVG: one bar per feature from the base value to the score."""

    bars: list[Bar]
    width: int
    height: int
    axis_x: float
    base_x: float
    score_x: float
    base: float
    score: float
    label_width: int
    row_height: int


def waterfall(
    contributions: pd.Series, base: float, label: Callable[[str], str], lang: Lang
) -> Waterfall:
    """The top contributions by size, the rest summed in one bar, as SVG coordinates."""
    order = contributions.abs().sort_values(ascending=False, kind="stable").index
    top = list(order[:WATERFALL_BARS])
    steps: list[tuple[str, float]] = [(label(f), float(contributions[f])) for f in top]
    rest = float(contributions.drop(index=top).sum()) if len(order) > len(top) else 0.0
    if len(order) > len(top):
        steps.append((t("other_features", lang, n=len(order) - len(top)), rest))
    ends = base + np.cumsum([c for _, c in steps])
    starts = np.concatenate([[base], ends[:-1]])
    score = float(ends[-1]) if len(ends) else base
    lo = float(min(base, score, *starts, *ends))
    hi = float(max(base, score, *starts, *ends))
    span = (hi - lo) or 1.0
    label_width, plot_width, row_height = 300, 360, 26
    width = label_width + plot_width + 70

    def x(v: float) -> float:
        return label_width + (v - lo) / span * plot_width

    bars = [
        Bar(
            label=label,
            start=float(s),
            end=float(e),
            raises=c >= 0,
            x=min(x(s), x(e)),
            width=max(abs(x(e) - x(s)), 1.5),
            y=30 + i * row_height,
            value_text=f"{c:+.3f}",
        )
        for i, ((label, c), s, e) in enumerate(zip(steps, starts, ends, strict=True))
    ]
    height = 30 + len(bars) * row_height + 40
    return Waterfall(
        bars, width, height, label_width, x(base), x(score), base, score, label_width, row_height
    )


def feature_label(name: str, value: object, lang: Lang) -> str:
    """A waterfall row's label: the feature and its value (category levels in ``lang``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        shown = "—"
    elif isinstance(value, float | int | np.floating | np.integer):
        shown = f"{float(value):,.4g}"
    else:
        shown = category(name, value, lang)
    return f"{name} = {shown}"


def top_reasons(contributions: pd.Series, values: pd.Series, k: int, lang: Lang) -> list[Reason]:
    """The ``k`` largest contributions by size (either direction) with their sentences: what
    ``POST /explain`` lists, from contributions already computed for the waterfall."""
    order = contributions.abs().sort_values(ascending=False, kind="stable").index[:k]
    out = []
    for name in order:
        value = _plain(values[name])
        try:
            text = sentence(name, value, lang)
        except ChurnError:  # a feature the registry does not describe
            text = f"{name} = {value}"
        out.append(Reason(name, value, float(contributions[name]), text))
    return out


def _plain(value: object) -> float | str | None:
    if value is None or isinstance(value, str):
        return value
    try:
        x = float(value)  # type: ignore[arg-type]  # numbers and numpy scalars
    except (TypeError, ValueError):
        return str(value)
    return None if math.isnan(x) else x

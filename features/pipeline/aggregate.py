"""Declarative window aggregates and their numpy executor (the default, pandas-side engine).

A :class:`WindowAgg` says *what* to aggregate per customer: a function of a prepared column over
the events whose time falls in a window before the cutoff, optionally filtered on category values.
The same specs compile to SQL in :mod:`features.engines.sql`, which is how the feature definitions run on
DuckDB, Spark SQL or a warehouse without a rewrite.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from features.pipeline.events import EventArrays

AggFn = Literal["count", "sum", "max", "min"]


@dataclass(frozen=True)
class WindowAgg:
    """One per-customer aggregate over events in ``[T - offset - window, T - offset)``.

    ``window_days=None`` means all history before ``T - offset``. ``count`` with a ``value`` counts
    rows where the value is present (SQL ``COUNT(col)``); ``sum`` skips missing values; empty
    groups give 0 for count and sum and NaN for max and min. ``known`` names a time column that
    must also be before T: the event's value is only known then (a resolution, a survey answer).
    A negative offset looks forward and is only used by labels.
    """

    name: str
    fn: AggFn
    value: str | None = None
    time: str = "t"
    window_days: int | None = None
    offset_days: int = 0
    where: tuple[tuple[str, str], ...] = ()
    known: str | None = None  # a second time column that must also be before T (e.g. resolved)

    def bounds(self, cutoff_days: float) -> tuple[float | None, float]:
        """The window ``[low, high)`` in days; ``low`` is None for all history."""
        high = cutoff_days - self.offset_days
        low = None if self.window_days is None else high - self.window_days
        return low, high


def _window_mask(times: np.ndarray, low: float | None, high: float) -> np.ndarray:
    mask = times < high  # NaN compares False: undated events never count
    if low is not None:
        mask &= times >= low
    return mask


def _value_column(spec: WindowAgg) -> str:
    """The value column of a sum, max or min spec (only ``count`` may go without one)."""
    assert spec.value is not None, f"{spec.name}: {spec.fn} needs a value column"
    return spec.value


def _reduce(fn: AggFn, customer: np.ndarray, values: np.ndarray, n_customers: int) -> np.ndarray:
    """Max or min per customer, ignoring NaN (NaN where a customer has none); any row order."""
    out = np.full(n_customers, np.nan)
    (np.fmax if fn == "max" else np.fmin).at(out, customer, values)
    return out


class _Executor:
    """Evaluates specs for one table and cutoff; specs over the same window share one selection
    of rows (indices and their customers), computed once."""

    def __init__(self, events: EventArrays, cutoff_days: float) -> None:
        self.ev = events
        self.cutoff = cutoff_days
        self._rows: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._nullable: dict[str, bool] = {}

    def _has_nan(self, column: str) -> bool:
        if column not in self._nullable:
            values = self.ev.columns[column]
            self._nullable[column] = values.dtype.kind == "f" and bool(np.isnan(values).any())
        return self._nullable[column]

    def rows(self, spec: WindowAgg) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the rows in the spec's window (``where`` aside) and their customers."""
        value = spec.value if spec.value and self._has_nan(spec.value) else None
        key = (spec.time, spec.window_days, spec.offset_days, spec.known, value)
        if key not in self._rows:
            low, high = spec.bounds(self.cutoff)
            m = _window_mask(self.ev.columns[spec.time], low, high)
            if value is not None:
                m &= ~np.isnan(self.ev.columns[value])
            if spec.known is not None:
                m &= self.ev.columns[spec.known] < self.cutoff
            idx = np.flatnonzero(m)
            self._rows[key] = (idx, self.ev.customer[idx])
        return self._rows[key]

    def single(self, spec: WindowAgg) -> np.ndarray:
        idx, cust = self.rows(spec)
        if spec.where:
            keep = np.ones(len(idx), dtype=bool)
            for col, val in spec.where:
                keep &= self.ev.columns[col][idx] == self.ev.code(col, val)
            idx, cust = idx[keep], cust[keep]
        n = self.ev.n_customers
        if spec.fn == "count":
            return np.bincount(cust, minlength=n).astype(np.float64)
        values = self.ev.columns[_value_column(spec)][idx]
        if spec.fn == "sum":
            return np.bincount(cust, weights=values, minlength=n)
        return _reduce(spec.fn, cust, values, n)

    def grouped(self, specs: list[WindowAgg]) -> dict[str, np.ndarray]:
        """Count or sum for specs differing only in their ``where`` values: one composite bincount."""
        cols = [c for c, _ in specs[0].where]
        sizes = [len(self.ev.categories[c]) for c in cols]
        width = int(np.prod(sizes))
        idx, cust = self.rows(specs[0])
        combined = np.zeros(len(idx), dtype=np.int64)
        valid = np.ones(len(idx), dtype=bool)
        for col, size in zip(cols, sizes, strict=True):
            codes = self.ev.columns[col][idx]
            valid &= codes >= 0
            combined = combined * size + codes
        key = (cust * width + combined)[valid]
        weights = (
            None if specs[0].fn == "count" else self.ev.columns[_value_column(specs[0])][idx][valid]
        )
        table = np.bincount(key, weights=weights, minlength=self.ev.n_customers * width)
        table = table.reshape(self.ev.n_customers, width).astype(np.float64)
        out = {}
        for spec in specs:
            slot = 0
            for (col, val), size in zip(spec.where, sizes, strict=True):
                slot = slot * size + self.ev.code(col, val)
            out[spec.name] = table[:, slot]
        return out


def aggregate(
    events: EventArrays, specs: Sequence[WindowAgg], cutoff_days: float
) -> dict[str, np.ndarray]:
    """Every spec evaluated for every customer (arrays indexed by customer position)."""
    ex = _Executor(events, cutoff_days)
    groups: dict[tuple, list[WindowAgg]] = defaultdict(list)
    out: dict[str, np.ndarray] = {}
    for spec in specs:
        if spec.where and spec.fn in ("count", "sum"):
            where_cols = tuple(c for c, _ in spec.where)
            key: tuple[object, ...] = (
                spec.fn,
                spec.value,
                spec.time,
                spec.window_days,
                spec.offset_days,
                spec.known,
            )
            key += where_cols
            groups[key].append(spec)
        else:
            out[spec.name] = ex.single(spec)
    for group in groups.values():
        if len(group) == 1:
            out[group[0].name] = ex.single(group[0])
        else:
            out.update(ex.grouped(group))
    return {spec.name: out[spec.name] for spec in specs}

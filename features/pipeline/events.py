"""Event tables as compact numpy arrays, prepared once per data set and reused for every cutoff.

Customer ids become positions in the customers table, times become float days and categories
become small integer codes; tables that need it are sorted by customer then time. The aggregators
in :mod:`features.pipeline.aggregate` then answer any cutoff with masks and ``bincount``. String lookups go
through pyarrow's hash kernels, which are several times faster than pandas' on large tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.pipeline.cutoffs import FeatureError


@dataclass(frozen=True)
class EventArrays:
    """One event table as arrays of equal length (sorted by customer then time when asked)."""

    table: str
    n_customers: int
    customer: np.ndarray  # int64 position in the customers table
    columns: dict[str, np.ndarray]  # float64 days and values, int16 category codes
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # code -> value

    def __len__(self) -> int:
        return len(self.customer)

    def code(self, column: str, value: str) -> int:
        """The integer code of ``value`` in a category column."""
        return self.categories[column].index(value)


def customer_index(customers: pd.DataFrame) -> pd.Index:
    """The customers' ids as an index (position = customer number); duplicates are refused."""
    index = pd.Index(customers["customer_id"].astype("str"))
    if not index.is_unique:
        dup = index[index.duplicated()].unique()[:10].tolist()
        raise FeatureError(f"customers.customer_id has duplicate ids: {dup}")
    return index


def _arrow_text(values: pd.Series | pd.Index) -> pa.Array | pa.ChunkedArray:
    """Values as an arrow string array (zero-copy for pandas' pyarrow-backed ``str`` dtype)."""
    arr = pa.array(values, from_pandas=True)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr
    return pc.cast(arr, pa.large_string())


def lookup(values: pd.Series, vocabulary: pd.Index | tuple[str, ...]) -> np.ndarray:
    """Position of each value in ``vocabulary`` (-1 when missing or absent), as int64."""
    found = pc.index_in(_arrow_text(values), value_set=_arrow_text(pd.Index(vocabulary)))
    return pc.fill_null(found, -1).to_numpy().astype(np.int64)


def positions(index: pd.Index, ids: pd.Series) -> np.ndarray:
    """Position of every event's customer in the customers table (-1 when unknown)."""
    return lookup(ids, index)


def category_codes(values: pd.Series, allowed: tuple[str, ...]) -> np.ndarray:
    """Codes of ``values`` in ``allowed`` (-1 for missing or other values)."""
    return lookup(values, allowed).astype(np.int16)


def _stable_radix(keys: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Stable sort of ``order`` by non-negative integer ``keys[order]``, 16 bits per pass.

    numpy sorts 16-bit keys stably with a radix sort, which is far faster on large arrays than
    a comparison sort of 64-bit keys.
    """
    top = int(keys.max()) if len(keys) else 0
    shift = 0
    while True:
        digit = ((keys[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
        if top >> shift == 0:
            return order


def sort_order(customer: np.ndarray, time: np.ndarray) -> np.ndarray | None:
    """Permutation sorting rows by customer then time, or None when they are sorted already."""
    key_time = np.nan_to_num(time, nan=np.inf)
    time_sorted = bool(np.all(key_time[1:] >= key_time[:-1]))
    if time_sorted and bool(np.all(customer[1:] >= customer[:-1])):
        return None
    order = np.arange(len(customer)) if time_sorted else np.argsort(key_time, kind="stable")
    return _stable_radix(customer, order)


def make_events(
    table: str,
    n_customers: int,
    customer: np.ndarray,
    columns: dict[str, np.ndarray],
    time: str,
    categories: Mapping[str, tuple[str, ...]] | None = None,
    sort: bool = False,
) -> EventArrays:
    """Drop rows of unknown customers, sort by customer then ``time`` if asked, wrap the arrays."""
    keep = customer >= 0
    if not keep.all():
        customer = customer[keep]
        columns = {k: v[keep] for k, v in columns.items()}
    order = sort_order(customer, columns[time]) if sort and len(customer) else None
    if order is not None:
        customer = customer[order]
        columns = {k: v[order] for k, v in columns.items()}
    return EventArrays(table, n_customers, customer, columns, categories or {})


def previous_gap(customer: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Days since the same customer's previous event (NaN for their first); rows must be sorted.

    The previous event is always earlier, so the gap of an event before T uses only data before T.
    """
    gap = np.full(len(time), np.nan)
    if len(time) > 1:
        same = customer[1:] == customer[:-1]
        gap[1:] = np.where(same, time[1:] - time[:-1], np.nan)
    return gap


def seen_before(customer: np.ndarray, key: np.ndarray) -> np.ndarray:
    """1.0 where the same customer had an earlier event with the same ``key`` code (rows sorted
    by customer then time); rows with a negative key (missing category) are never repeats."""
    frame = pd.DataFrame({"c": customer, "k": key})
    repeat = frame.duplicated(["c", "k"], keep="first").to_numpy() & (key >= 0)
    return repeat.astype(np.float64)

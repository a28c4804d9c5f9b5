"""The eight classic RFM customer segments (documents 001 and 004): each of recency, frequency and
monetary value is high or low against the book's cut point (its median by default), and the three
answers name the segment, from ``important_value`` (重要价值客户: all high) to ``general_retain``
(一般挽留客户: all low).

"R high" means a recent purchase (few days since the last one); F and M are the purchase count
and the net revenue over the longest look-back window, as in the quintile scores. A customer who
never bought is R low; a missing count or revenue is low.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import pandas as pd
from pydantic import Field

from core.config import Frozen
from core.lang import Lang, value_name

RfmSegment = Literal[
    "important_value",
    "important_develop",
    "important_keep",
    "important_retain",
    "general_value",
    "general_develop",
    "general_keep",
    "general_retain",
]
RFM_SEGMENTS: tuple[str, ...] = get_args(RfmSegment)
"""Segment names, most valuable first; index = 4 * (M low) + 2 * (R low) + (F low)."""


def segment_title(segment: str, lang: Lang = "en") -> str:
    """A segment's title in ``lang`` (the catalogue's ``rfm_segment`` values; the documents'
    Chinese); an unknown name is shown as it is."""
    return value_name("rfm_segment", segment, lang) or segment


class RfmSegmentConfig(Frozen):
    """Cut points of the segments, each a quantile of the scored book (0.5: the median).

    A customer is high on R when their days since the last purchase are below the recency cut,
    high on F and M when their count and revenue are above those cuts.
    """

    recency_quantile: float = Field(0.5, gt=0, lt=1)
    frequency_quantile: float = Field(0.5, gt=0, lt=1)
    monetary_quantile: float = Field(0.5, gt=0, lt=1)


def _cut(values: np.ndarray, quantile: float) -> float:
    known = values[~np.isnan(values)]
    return float(np.quantile(known, quantile)) if len(known) else np.nan


def rfm_segments(
    recency_days: np.ndarray,
    frequency: np.ndarray,
    monetary: np.ndarray,
    cfg: RfmSegmentConfig | None = None,
) -> np.ndarray:
    """The segment of every customer of one book (arrays aligned on the same customers)."""
    cfg = cfg or RfmSegmentConfig()
    r = np.asarray(recency_days, dtype=np.float64)
    f = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # NaN compares False: low
        r_high = r < _cut(r, cfg.recency_quantile)
        f_high = f > _cut(f, cfg.frequency_quantile)
        m_high = m > _cut(m, cfg.monetary_quantile)
    index = 4 * ~m_high + 2 * ~r_high + ~f_high
    return np.array(RFM_SEGMENTS, dtype=object)[index.astype(int)]


def frame_segments(
    features: pd.DataFrame, windows_days: tuple[int, ...], cfg: RfmSegmentConfig | None = None
) -> np.ndarray:
    """:func:`rfm_segments` of a feature frame (``recency_days`` and the longest window's
    ``txn_count_<w>d`` and ``revenue_<w>d``); None for every row when a column is missing."""
    w = windows_days[-1]
    names = ("recency_days", f"txn_count_{w}d", f"revenue_{w}d")
    if any(n not in features for n in names):
        return np.full(len(features), None, dtype=object)
    r, f, m = (pd.to_numeric(features[n], errors="coerce").to_numpy(np.float64) for n in names)
    return rfm_segments(r, f, m, cfg)

"""Interaction features from contacts before T: counts per channel and direction per window,
recency, inbound share, engagement trend, campaign response rate and unanswered outbound contacts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.notes import note, note_text
from features.config import FeatureConfig
from features.contract import CHANNELS, DIRECTIONS
from features.dataset import Dataset
from features.pipeline.aggregate import WindowAgg
from features.pipeline.cutoffs import to_days
from features.pipeline.events import EventArrays, category_codes, make_events, positions
from features.pipeline.population import CustomerArrays
from features.pipeline.rfm import baseline_ratio, rate_trend, safe_ratio


def interaction_columns(ds: Dataset) -> tuple[set[str] | None, list[str]]:
    """Prepared columns this data set allows (None: no table), and notes on removed features."""
    if not ds.has("interactions"):
        return None, ["interactions table absent: interaction features removed"]
    return _interaction_columns(ds.tables["interactions"])


def _interaction_columns(it: pd.DataFrame) -> tuple[set[str], list[str]]:
    """:func:`interaction_columns` of an interactions table that is present."""
    cols, notes = {"t", "channel"}, list[str]()
    if "direction" in it:
        cols.add("direction")
    else:
        notes.append(note_text(note("interactions_no_direction")))
    if "outcome" in it:
        cols |= {"is_response", "is_unanswered"} if "direction" in it else {"is_response"}
    else:
        notes.append(note_text(note("interactions_no_outcome")))
    return cols, notes


def prepare_interactions(ds: Dataset, customers: CustomerArrays, cfg: FeatureConfig) -> EventArrays:
    """Interactions as arrays: ``t``, channel and direction codes, response and unanswered flags
    (those of :func:`interaction_columns`)."""
    it = ds.tables["interactions"]
    available, _ = _interaction_columns(it)
    columns = {
        "t": to_days(it["ts"], "interactions.ts"),
        "channel": category_codes(it["channel"], CHANNELS),
    }
    categories: dict[str, tuple[str, ...]] = {"channel": CHANNELS}
    if "direction" in available:
        columns["direction"] = category_codes(it["direction"], DIRECTIONS)
        categories["direction"] = DIRECTIONS
    if "is_response" in available:
        outcome = it["outcome"].astype("str").str.lower()
        campaign = columns["channel"] == CHANNELS.index("campaign")
        responded = outcome.isin([o.lower() for o in cfg.response_outcomes]).to_numpy()
        columns["is_response"] = (campaign & responded).astype(np.float64)
    if "is_unanswered" in available:
        outbound = columns["direction"] == DIRECTIONS.index("outbound")
        missed = outcome.isin([o.lower() for o in cfg.unanswered_outcomes]).to_numpy()
        columns["is_unanswered"] = (outbound & missed).astype(np.float64)
    cust = positions(customers.index, it["customer_id"])
    return make_events("interactions", len(customers.index), cust, columns, "t", categories)


def channel_name(channel: str, direction: str | None, window: int) -> str:
    return f"int_{channel}_{direction}_{window}d" if direction else f"int_{channel}_{window}d"


def interaction_specs(available: set[str], cfg: FeatureConfig) -> list[WindowAgg]:
    """Window aggregates of interactions over the prepared columns ``available``."""
    a, b, top = cfg.trend_recent_days, cfg.trend_base_days, cfg.windows_days[-1]
    has_direction = "direction" in available
    specs = [WindowAgg("_int_last", "max", value="t")]
    specs += [WindowAgg(f"int_count_{w}d", "count", window_days=w) for w in cfg.windows_days]
    for w in cfg.windows_days:
        for ch in CHANNELS:
            for d in DIRECTIONS if has_direction else (None,):
                where = (("channel", ch), ("direction", d)) if d else (("channel", ch),)
                specs.append(WindowAgg(channel_name(ch, d, w), "count", window_days=w, where=where))
    specs += [
        WindowAgg("_int_recent", "count", window_days=a),
        WindowAgg("_int_base", "count", window_days=b, offset_days=a),
    ]
    specs.append(WindowAgg("_login_last", "max", value="t", where=(("channel", "app_login"),)))
    if has_direction:
        specs.append(
            WindowAgg("_inbound", "count", window_days=top, where=(("direction", "inbound"),))
        )
    if "is_response" in available:
        specs += [
            WindowAgg("_campaigns", "count", window_days=top, where=(("channel", "campaign"),)),
            WindowAgg("_responses", "sum", value="is_response", window_days=top),
        ]
    if "is_unanswered" in available:
        specs += [
            WindowAgg(f"unanswered_outbound_{w}d", "sum", value="is_unanswered", window_days=w)
            for w in cfg.windows_days
        ]
    return specs


def directions(aggs: dict[str, np.ndarray], window: int) -> tuple[str | None, ...]:
    """The directions of the per-channel counts present (``None``: counts per channel only)."""
    return DIRECTIONS if channel_name("call", DIRECTIONS[0], window) in aggs else (None,)


def interaction_features(
    aggs: dict[str, np.ndarray], cutoff_days: float, cfg: FeatureConfig
) -> dict[str, np.ndarray]:
    """Interaction features per customer from the aggregates of :func:`interaction_specs`."""
    top = cfg.windows_days[-1]
    out = {"int_recency_days": cutoff_days - aggs["_int_last"]}
    out.update({k: v for k, v in aggs.items() if not k.startswith("_")})
    out["login_recency_days"] = cutoff_days - aggs["_login_last"]
    logins = {
        w: np.sum([aggs[channel_name("app_login", d, w)] for d in directions(aggs, w)], axis=0)
        for w in cfg.windows_days
    }
    for w in cfg.windows_days[:-1]:
        out[f"int_vs_baseline_{w}d"] = baseline_ratio(
            aggs[f"int_count_{w}d"], w, aggs[f"int_count_{top}d"], top
        )
        out[f"login_vs_baseline_{w}d"] = baseline_ratio(logins[w], w, logins[top], top)
    out[f"int_trend_{cfg.trend_recent_days}_{cfg.trend_base_days}d"] = rate_trend(
        aggs["_int_recent"], aggs["_int_base"], cfg
    )
    if "_inbound" in aggs:
        out[f"inbound_share_{top}d"] = safe_ratio(aggs["_inbound"], aggs[f"int_count_{top}d"])
    if "_responses" in aggs:
        out[f"campaign_response_rate_{top}d"] = safe_ratio(aggs["_responses"], aggs["_campaigns"])
    return out

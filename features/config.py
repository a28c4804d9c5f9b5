"""Typed configuration of the data and feature stages, validated once from YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from core.config import Frozen, load_section
from core.errors import ContractError
from features.contract import MAX_TEXT_CHARS

DEFAULT_MAX_BAD_ROW_SHARE = 0.2


class DataConfig(Frozen):
    """How data folders are loaded: the ``data:`` section of a YAML file."""

    max_bad_row_share: float = Field(DEFAULT_MAX_BAD_ROW_SHARE, ge=0, le=1)
    """A table with more rejected rows than this share of its rows stops the run (a single bad
    row never does): past it the export, not a few rows, is broken."""
    max_text_chars: int = Field(MAX_TEXT_CHARS, ge=1)
    """A text cell longer than this rejects its row (quarantined with the reason): no export
    holds a 50 MB customer id or segment, and such a cell would swell every list and page."""


def load_data_config(path: str | Path | None = None) -> DataConfig:
    """The ``data:`` section of a YAML file (defaults when absent); other sections ignored."""
    return load_section(path, "data", DataConfig, ContractError)


ChurnDefinition = Literal["auto", "non_contractual", "contractual"]
"""How churn is judged: ``auto`` per customer (contractual when ``contract_end_date`` or
``cancelled_at`` is filled, else non-contractual); see ``docs/features.md``."""


class RfmWeights(Frozen):
    """Weights of the R, F and M quintile scores in the weighted RFM value score (business rule 2)."""

    recency: float = Field(0.4, ge=0)
    frequency: float = Field(0.3, ge=0)
    monetary: float = Field(0.3, ge=0)

    @model_validator(mode="after")
    def _positive_total(self) -> RfmWeights:
        if self.recency + self.frequency + self.monetary <= 0:
            raise ValueError("rfm weights must not all be zero")
        return self


class PopulationConfig(Frozen):
    """Who is an active customer at a cutoff T (the scored population).

    A customer is active at T when they signed up before T, were not cancelled before T, and
    either hold a contract (``contract_end_date`` filled, or ``churn_definition: contractual``) or
    bought something in the ``active_window_days`` before T or signed up within that window.
    """

    active_window_days: int = Field(365, gt=0)


class LabelConfig(Frozen):
    """Churn and value labels over the horizon H after the cutoff (business rule 1)."""

    horizon_days: int = Field(90, gt=0)
    churn_definition: ChurnDefinition = "auto"
    """``auto``: per customer, contractual (churn = cancelled in the horizon) when the customer's
    ``contract_end_date`` or ``cancelled_at`` is filled, else non-contractual (churn = no
    transaction in the horizon). See ``docs/features.md``."""


class BgNbdFeatureConfig(Frozen):
    """The BG/NBD features fitted at every cutoff (``features.pipeline.rhythm``)."""

    enabled: bool = False
    """On: the three ``bgnbd_*`` features. Off by default: the fit costs about 0.1 s per cutoff
    (6-10x the rest of a small book's features) and on CDNOW moved the churn model's ROC-AUC by
    less than the bootstrap noise (``benchmarks/purchase_logs.py``)."""
    max_fit_customers: int = Field(20_000, ge=50)
    """The fit reads at most this many buyers, evenly spaced in customer order; every customer is
    scored. Four parameters need no more, and it bounds the fit's time on a big book."""


class FeatureConfig(Frozen):
    """Look-back windows and RFM weights of the point-in-time features."""

    windows_days: tuple[int, ...] = (30, 90, 180, 365)
    rfm_weights: RfmWeights = RfmWeights()
    population: PopulationConfig = PopulationConfig()
    labels: LabelConfig = LabelConfig()
    trend_recent_days: int = Field(30, gt=0)
    """Trend ratios compare the rate in the last ``trend_recent_days`` before T ..."""
    trend_base_days: int = Field(90, gt=0)
    """... with the rate in the ``trend_base_days`` before those."""
    response_outcomes: tuple[str, ...] = ("responded", "accepted", "converted", "clicked")
    """Interaction outcomes (case-insensitive) that count as a response to a campaign contact."""
    unanswered_outcomes: tuple[str, ...] = ("no_answer", "unanswered", "no_response", "missed")
    """Interaction outcomes (case-insensitive) of an outbound contact that went unanswered."""
    bgnbd: BgNbdFeatureConfig = BgNbdFeatureConfig()
    engine: Literal["pandas"] = "pandas"
    """Where the window aggregates run: pandas/numpy in memory. The DuckDB engine was removed
    (slower than pandas at every size measured); ``duckdb`` in older configurations and models'
    metadata reads as ``pandas``, which gives the same features."""

    @field_validator("engine", mode="before")
    @classmethod
    def _duckdb_retired(cls, v: object) -> object:
        return "pandas" if v == "duckdb" else v

    @field_validator("windows_days")
    @classmethod
    def _sorted_positive(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(w <= 0 for w in v) or list(v) != sorted(set(v)):
            raise ValueError("windows_days must be positive, distinct and increasing")
        return v


def load_feature_config(
    path: str | Path | None = None, horizon_days: int | None = None
) -> FeatureConfig:
    """The ``features:`` section of a YAML file (defaults when absent; other sections ignored);
    ``horizon_days`` (``--horizon``) overrides ``labels.horizon_days``."""
    from features.pipeline.cutoffs import FeatureError

    overrides = {"labels": {"horizon_days": horizon_days}} if horizon_days is not None else None
    return load_section(path, "features", FeatureConfig, FeatureError, overrides=overrides)

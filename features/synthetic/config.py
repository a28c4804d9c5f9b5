"""Configuration of the synthetic demo data generator and the data it returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from core.config import Frozen
from core.errors import ChurnError
from features.dataset import Dataset
from features.synthetic.drift import DriftConfig


class GeneratorError(ChurnError):
    """Bad arguments to the demo data generator (the message names the argument)."""


class CampaignConfig(Frozen):
    """Monthly retention campaigns with a control group, and who responds how to a contact."""

    enabled: bool = True
    months: int = Field(24, ge=1)
    """Campaigns run in each of the last ``months`` months of the history."""
    share: float = Field(0.2, gt=0.0, le=1.0)
    """Share of the customers present at a month's start that its campaign picks."""
    control_share: float = Field(0.2, gt=0.0, lt=1.0)
    """Share of the picked customers held back as control (not contacted)."""
    type_shares: tuple[float, float, float, float] = (0.30, 0.40, 0.25, 0.05)
    """Persuadables, sure things, lost causes and sleeping dogs."""
    persuadable_effect: float = Field(1.6, ge=0.0)
    """Log-hazard reduction of a contacted persuadable."""
    sleeping_dog_effect: float = Field(0.9, ge=0.0)
    """Log-hazard increase of a contacted sleeping dog."""
    effect_months: int = Field(3, ge=1, le=12)
    """Months a contact's effect on the hazard lasts (the contact's month included)."""
    rescue: float = Field(0.5, ge=0.0, le=1.0)
    """Chance that a contact keeps a persuadable who has decided to leave but not yet left."""

    @model_validator(mode="after")
    def _shares(self) -> CampaignConfig:
        if min(self.type_shares) < 0 or not np.isclose(sum(self.type_shares), 1.0):
            raise ValueError("type_shares must be four shares >= 0 that add up to 1")
        return self


class GeneratorConfig(Frozen):
    """Knobs of the synthetic history; defaults give a telecom-like book in CNY.

    Per-segment tuples follow the order of ``segments``; per-region tuples that of ``regions``.
    Team ``i`` serves segment ``segments[i % len(segments)]``.
    """

    start: date = date(2021, 1, 1)
    years: float = Field(3.5, ge=1.0, le=20.0)
    initial_share: float = Field(0.35, ge=0.0, le=1.0)
    """Share of customers in the starting cohort (sign up over the first year); the rest arrive
    steadily over the history."""

    n_managers: int | None = Field(None, ge=1)
    """Default: one per ``customers_per_manager`` customers, at least ``min_managers``."""
    customers_per_manager: int = Field(400, ge=1)
    min_managers: int = Field(6, ge=1)
    teams: tuple[str, ...] = ("key accounts", "business", "retail")

    segments: tuple[str, ...] = ("enterprise", "smb", "consumer")
    segment_shares: tuple[float, ...] = (0.1, 0.3, 0.6)
    segment_monthly_value: tuple[float, ...] = (4000.0, 800.0, 150.0)
    segment_risk: tuple[float, ...] = (-0.5, 0.0, 0.3)
    """Log-hazard offset of each segment (portfolio riskiness comes from the segment mix)."""
    segment_contractual: tuple[float, ...] = (0.9, 0.6, 0.45)
    segment_annual: tuple[float, ...] = (0.8, 0.5, 0.3)
    """Share of contractual customers on an annual (vs monthly) plan."""

    regions: tuple[str, ...] = ("north", "south", "east", "west", "central")
    region_risk: tuple[float, ...] = (0.0, 0.35, -0.1, 0.15, -0.2)

    value_sigma: float = Field(0.9, gt=0.0)
    """Spread of the log-normal customer value (heavy tail)."""
    target_quarterly_churn: tuple[float, float] = (0.08, 0.20)
    """The 90-day churn rate of active customers is steered to the middle of this range."""
    skill_effect: float = Field(0.35, ge=0.0)
    """Log-hazard reduction per standard deviation of account-manager skill."""
    complaint_effect: float = Field(0.35, ge=0.0)
    """Log-hazard increase per unit of (decaying, severity-weighted) complaint burden."""
    missing_rate: float = Field(0.03, ge=0.0, le=0.5)
    """Share of optional values left empty (segment, region, direction, category, ...)."""
    satisfaction_missing_rate: float = Field(0.1, ge=0.0, le=1.0)
    currency: str = "CNY"
    drift: DriftConfig | None = None
    """Drift injected from a date on (``features.synthetic.drift``); None: no drift."""
    campaigns: CampaignConfig = CampaignConfig()
    """Retention campaigns with a control group (``features.synthetic.campaigns``); on by default."""

    @model_validator(mode="after")
    def _consistent(self) -> GeneratorConfig:
        seg = len(self.segments)
        for name in (
            "segment_shares",
            "segment_monthly_value",
            "segment_risk",
            "segment_contractual",
            "segment_annual",
        ):
            if len(getattr(self, name)) != seg:
                raise ValueError(f"{name} needs one value per segment ({seg})")
        if len(self.region_risk) != len(self.regions):
            raise ValueError(f"region_risk needs one value per region ({len(self.regions)})")
        if not self.teams:
            raise ValueError("teams must not be empty")
        if sum(self.segment_shares) <= 0 or min(self.segment_shares) < 0:
            raise ValueError("segment_shares must be non-negative and not all zero")
        lo, hi = self.target_quarterly_churn
        if not 0 < lo < hi < 1:
            raise ValueError("target_quarterly_churn must be (low, high) with 0 < low < high < 1")
        if self.drift is not None:
            if self.drift.segment is not None and self.drift.segment not in self.segments:
                raise ValueError(
                    f"drift segment {self.drift.segment!r} is not one of {', '.join(self.segments)}"
                )
            end = (pd.Timestamp(self.start) + pd.DateOffset(months=self.months)).date()
            if not self.start < self.drift.start < end:
                raise ValueError(
                    f"drift start {self.drift.start} must fall inside the history "
                    f"({self.start} to {end})"
                )
        return self

    @property
    def months(self) -> int:
        """Length of the history in whole months."""
        return max(1, round(self.years * 12))

    def managers_for(self, n_customers: int) -> int:
        """Number of account managers for a book of ``n_customers``."""
        if self.n_managers is not None:
            return self.n_managers
        return max(self.min_managers, round(n_customers / self.customers_per_manager))


@dataclass(frozen=True)
class GeneratedData:
    """A generated data set (what the product sees) and the hidden truth (what it must not)."""

    dataset: Dataset
    truth: dict[str, pd.DataFrame]
    seed: int
    n_customers: int
    config: GeneratorConfig
    drift: dict | None = None
    """What the injected drift changed (written to ``_truth/drift.json``); None: no drift."""

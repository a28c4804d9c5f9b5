"""Configuration of the KPI stage (``kpi:`` section): outcome rules, scorecard, commission, campaign.

Every default is a rule of docs/business-rules.md (rules 5 to 7) or is marked as this product's own choice in
``docs/kpi.md``. Validation errors name the field and why, and surface as :class:`KpiError`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from core.config import Frozen, load_section, validate_section
from core.economics import SegmentedEconomics
from core.errors import ChurnError
from features.config import ChurnDefinition, PopulationConfig

SECTION = "kpi"
_TOL = 1e-9


class KpiError(ChurnError):
    """A KPI, scorecard, commission or campaign input the user can fix (bad period, config, data)."""


class CommissionTier(Frozen):
    """One band of monthly sales and the rate paid on it; ``max: null`` means no upper limit."""

    min: float = Field(ge=0)
    max: float | None = None
    rate: float = Field(ge=0, le=1)
    include_min: bool = True
    include_max: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> CommissionTier:
        if self.max is not None and self.max <= self.min:
            raise ValueError(f"tier max {self.max:g} must be above its min {self.min:g}")
        return self


def _fmt(x: float) -> str:
    return f"{x:,.2f}".rstrip("0").rstrip(".")


class CommissionConfig(Frozen):
    """Business rule 6: sales tiers, satisfaction bonus and retention commission."""

    tiers: tuple[CommissionTier, ...] = (
        CommissionTier(min=0, max=100_000, rate=0.03),
        CommissionTier(min=100_000, max=300_000, rate=0.05, include_max=True),
        CommissionTier(min=300_000, max=None, rate=0.08, include_min=False),
    )
    tier_method: Literal["whole_amount", "marginal"] = "whole_amount"
    """``whole_amount``: the tier's rate applies to all of the month's sales; ``marginal``: each tier's rate applies to the part inside it."""
    satisfaction_bonus_rate: float = Field(0.02, ge=0, le=1)
    satisfaction_bonus_threshold: float = Field(0.80, ge=0, le=1)
    retention_rate: float = Field(0.05, ge=0, le=1)
    retention_kinds: tuple[str, ...] = ("renewal", "upsell")

    @field_validator("tiers")
    @classmethod
    def _contiguous(cls, tiers: tuple[CommissionTier, ...]) -> tuple[CommissionTier, ...]:
        if not tiers:
            raise ValueError("at least one commission tier is needed")
        mins = [t.min for t in tiers]
        if mins != sorted(mins) or len(set(mins)) != len(mins):
            raise ValueError(
                f"tiers must be listed in increasing order of min, got {', '.join(map(_fmt, mins))}"
            )
        first, last = tiers[0], tiers[-1]
        if first.min != 0 or not first.include_min:
            raise ValueError("the first tier must start at 0 inclusive, so every sales amount pays")
        if last.max is not None:
            raise ValueError(
                f"the last tier must have no max; sales above {_fmt(last.max)} are not covered"
            )
        for i, (low, high) in enumerate(zip(tiers, tiers[1:], strict=False), start=1):
            if low.max is None:
                raise ValueError(f"tier {i} has no max but is not the last tier (overlap)")
            edge = _fmt(low.max)
            if high.min < low.max:
                raise ValueError(
                    f"tiers {i} and {i + 1} overlap between {_fmt(high.min)} and {edge}"
                )
            if high.min > low.max:
                raise ValueError(
                    f"sales between {edge} and {_fmt(high.min)} are in no tier "
                    f"(gap between tiers {i} and {i + 1})"
                )
            if low.include_max and high.include_min:
                raise ValueError(
                    f"sales of exactly {edge} are in tiers {i} and {i + 1}; set "
                    "include_max or include_min false on one of them"
                )
            if not low.include_max and not high.include_min:
                raise ValueError(
                    f"sales of exactly {edge} are in no tier; set include_max on "
                    f"tier {i} or include_min on tier {i + 1}"
                )
        return tiers


class GradeBand(Frozen):
    """Scores in ``[min, max)`` get this grade; the band ending at 100 includes 100."""

    grade: str = Field(min_length=1)
    min: float = Field(ge=0, le=100)
    max: float = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _order(self) -> GradeBand:
        if self.max <= self.min:
            raise ValueError(
                f"grade {self.grade!r}: max {self.max:g} must be above min {self.min:g}"
            )
        return self


class ComponentRule(Frozen):
    """Weight of one scorecard component and its linear map from the metric to 0..100 points.

    Points are 0 at ``zero_at``, 100 at ``full_at``, linear between and clipped outside; put
    ``full_at`` below ``zero_at`` for a metric where less is better (complaints, resolution time).
    """

    weight: float = Field(ge=0)
    zero_at: float
    full_at: float

    @model_validator(mode="after")
    def _distinct(self) -> ComponentRule:
        if not (math.isfinite(self.zero_at) and math.isfinite(self.full_at)):
            raise ValueError("zero_at and full_at must be finite numbers")
        if self.zero_at == self.full_at:
            raise ValueError(f"zero_at and full_at are both {self.zero_at:g}; they must differ")
        return self


class Components(Frozen):
    """The scorecard's components (business rule 8: results and process); weights add up to 100."""

    risk_adjusted_retention: ComponentRule = ComponentRule(weight=30, zero_at=0.85, full_at=1.05)
    value_weighted_retention: ComponentRule = ComponentRule(weight=20, zero_at=0.70, full_at=1.0)
    satisfaction: ComponentRule = ComponentRule(weight=15, zero_at=0.50, full_at=1.0)
    complaint_rate: ComponentRule = ComponentRule(weight=10, zero_at=10.0, full_at=0.0)
    resolution_time: ComponentRule = ComponentRule(weight=5, zero_at=14.0, full_at=1.0)
    sales_vs_quota: ComponentRule = ComponentRule(weight=20, zero_at=0.0, full_at=1.0)

    @model_validator(mode="after")
    def _hundred(self) -> Components:
        weights = {name: rule.weight for name, rule in self}
        total = sum(weights.values())
        if abs(total - 100) > 1e-6:
            listed = ", ".join(f"{k}={v:g}" for k, v in weights.items())
            raise ValueError(f"component weights add up to {total:g}, not 100 ({listed})")
        return self


class ScorecardConfig(Frozen):
    """Business rule 5: the 100-point score, its grade bands and the CSAT threshold."""

    components: Components = Components()
    grades: tuple[GradeBand, ...] = (
        GradeBand(grade="Excellent", min=90, max=100),
        GradeBand(grade="Good", min=70, max=90),
        GradeBand(grade="Fair", min=60, max=70),
        GradeBand(grade="Poor", min=0, max=60),
    )
    satisfied_min_score: int = Field(4, ge=1, le=5)
    """A complaint rated at least this (1..5) counts as a satisfied customer in the CSAT share."""

    @field_validator("grades")
    @classmethod
    def _cover(cls, grades: tuple[GradeBand, ...]) -> tuple[GradeBand, ...]:
        if not grades:
            raise ValueError("at least one grade band is needed")
        bands = sorted(grades, key=lambda b: b.min)
        if bands[0].min != 0:
            raise ValueError(f"scores from 0 to {bands[0].min:g} have no grade band")
        if bands[-1].max != 100:
            raise ValueError(f"scores from {bands[-1].max:g} to 100 have no grade band")
        for low, high in zip(bands, bands[1:], strict=False):
            if high.min < low.max:
                raise ValueError(
                    f"grade bands {low.grade!r} and {high.grade!r} overlap between "
                    f"{high.min:g} and {low.max:g}"
                )
            if high.min > low.max:
                raise ValueError(
                    f"scores from {low.max:g} to {high.min:g} have no grade band "
                    f"(between {low.grade!r} and {high.grade!r})"
                )
        return grades


class RankingConfig(Frozen):
    """Business rule 7: monthly ranking, bonus, deduction and improvement-plan flags."""

    first_place_bonus: float = Field(100.0, ge=0)
    last_place_deduction: float = Field(100.0, ge=0)
    improvement_plan_bottom: int = Field(2, ge=0)
    min_ranked: int = Field(2, ge=1)
    """Fewer scored managers than this: no bonus, deduction or flags (first would also be last)."""
    improvement_plan_days: int = Field(7, ge=0)
    """Days a flagged manager has to hand in the improvement plan, from the day the month's
    scorecards were first produced from the store (document 000: within a week)."""
    probation_months: int = Field(3, ge=0)
    """A manager whose ``hire_date`` is less than this many months before the period start is
    listed and scored but neither ranked nor penalised (document 000: 试用期); 0 turns it off."""


class RetentionWeights(Frozen):
    """How much each customer counts in value-weighted and risk-adjusted retention (business rule
    3: by value, not head count). Plain values let a handful of large customers decide a
    manager's result; capping them keeps the weighting by value for all but the largest."""

    method: Literal["capped_value", "value", "log_value", "head_count"] = "capped_value"
    """``capped_value``: V capped at ``cap_quantile`` of the values of every portfolio customer at
    the period start; ``value``: V itself; ``log_value``: log(1 + V); ``head_count``: 1 each."""
    cap_quantile: float = Field(0.5, gt=0, le=1)


class OutcomeConfig(Frozen):
    """Who is in a portfolio at the period start and what counts as churned during the period."""

    population: PopulationConfig = PopulationConfig()
    churn_definition: ChurnDefinition = "auto"
    """As ``features.pipeline.labels``: ``auto`` judges a customer by cancellation when their
    ``contract_end_date`` or ``cancelled_at`` is filled, by inactivity otherwise."""
    horizon_days: int | None = Field(90, gt=0)
    """Outcome window from the period start, in days (90: the model's horizon, so each month's
    portfolio is judged as the model predicted it); ``null``: the month itself."""
    prediction_horizon_days: int | None = Field(90, gt=0)
    """Horizon of the predictions' churn probability; it is rescaled to the outcome window with
    a constant hazard, 1 - (1 - P)^(window / horizon). ``null``: use P as given."""
    weights: RetentionWeights = RetentionWeights()


class CampaignSettings(SegmentedEconomics):
    """The ``kpi.campaign`` section: contacts per manager and the campaign economics by segment
    and plan (``core.economics``)."""

    capacity_per_manager: int = Field(20, ge=0)


class BigCustomerConfig(Frozen):
    """Document 000's big-customer item (公司前50名大客户月总收入较2005年1月大客户总收入增长10%以上加权5%):
    off by default. When on, a manager who looks after any of the ``top_n`` customers with the
    most revenue in ``base_month`` earns ``weight`` points of 100 in a month when those
    customers' revenue is at least ``1 + growth`` times their base-month revenue; the other
    components are scaled to ``100 - weight``. Managers without big customers are scored as
    before."""

    enabled: bool = False
    top_n: int = Field(50, ge=1)
    growth: float = Field(0.10, ge=0)
    weight: float = Field(5.0, gt=0, lt=100)
    base_month: str | None = None
    """``YYYY-MM``; ``null``: the first full month of the transactions."""

    @field_validator("base_month")
    @classmethod
    def _month(cls, value: str | None) -> str | None:
        import re

        if value is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
            raise ValueError(f"base_month must be a month YYYY-MM, got {value!r}")
        return value


class AnnualConfig(Frozen):
    """Document 000's annual assessment (年度考核): the mean of the year's monthly scores (绩)
    with the lead's ability (能) and attitude (德、勤) ratings of ``manager_reviews``. The
    document gives no weights; these are this product's choice (docs/kpi.md)."""

    performance_weight: float = Field(60.0, ge=0)
    ability_weight: float = Field(20.0, ge=0)
    attitude_weight: float = Field(20.0, ge=0)

    @model_validator(mode="after")
    def _some(self) -> AnnualConfig:
        if self.performance_weight + self.ability_weight + self.attitude_weight <= 0:
            raise ValueError("at least one annual assessment weight must be above 0")
        return self


class KpiConfig(Frozen):
    """The ``kpi:`` section of a config file."""

    outcome: OutcomeConfig = OutcomeConfig()
    scorecard: ScorecardConfig = ScorecardConfig()
    commission: CommissionConfig = CommissionConfig()
    ranking: RankingConfig = RankingConfig()
    campaign: CampaignSettings = CampaignSettings()
    annual: AnnualConfig = AnnualConfig()
    big_customers: BigCustomerConfig = BigCustomerConfig()


def kpi_config_from_dict(data: dict | None, source: str = "kpi config") -> KpiConfig:
    """Validate the ``kpi:`` section (already extracted); errors become :class:`KpiError`."""
    return validate_section(data, SECTION, KpiConfig, KpiError, source=source, title="KPI")


def load_kpi_config(path: str | Path | None) -> KpiConfig:
    """Read the ``kpi:`` section of a YAML file (other sections are ignored); no file: defaults."""
    return load_section(path, SECTION, KpiConfig, KpiError, title="KPI")


def service_kpi_config(path: str | Path | None) -> KpiConfig | KpiError:
    """The ``kpi:`` section of the service's config file, read once when the service starts; an
    invalid section is kept as its error, so the KPI routes and pages answer 503 while the
    predictions still work."""
    try:
        return load_kpi_config(path)
    except KpiError as exc:
        return exc

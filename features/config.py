"""Typed configuration of the data and feature stages, validated once from YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class Frozen(BaseModel):
    """Base for every config model: immutable, unknown keys are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class RfmWeights(Frozen):
    """Weights of the R, F and M quintile scores in the weighted RFM value score (brief rule 2)."""

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
    """Churn and value labels over the horizon H after the cutoff (brief rule 1)."""

    horizon_days: int = Field(90, gt=0)
    churn_definition: Literal["auto", "non_contractual", "contractual"] = "auto"
    """``auto``: per customer, contractual (churn = cancelled in the horizon) when the customer's
    ``contract_end_date`` or ``cancelled_at`` is filled, else non-contractual (churn = no
    transaction in the horizon). See ``docs/features.md``."""


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
    engine: Literal["pandas", "duckdb"] = "pandas"
    """Where the window aggregates run: pandas/numpy in memory, or the same specs as DuckDB SQL."""

    @field_validator("windows_days")
    @classmethod
    def _sorted_positive(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(w <= 0 for w in v) or list(v) != sorted(set(v)):
            raise ValueError("windows_days must be positive, distinct and increasing")
        return v


def read_section(path: str | Path | None, section: str, error: type[Exception]) -> dict[str, Any]:
    """The ``section:`` mapping of a YAML config file ({} when no file or no section).

    One file can configure every stage; each stage reads its own section and ignores the others.
    Problems raise ``error`` naming the file and why.
    """
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise error(f"config file {p} does not exist")
    try:
        data = load_yaml(p)
    except (yaml.YAMLError, ValueError, OSError) as exc:  # YAML errors carry line numbers
        raise error(f"{p}: cannot be read as YAML: {exc}") from None
    found = data.get(section)
    if found is not None and not isinstance(found, dict):
        raise error(f"{p}: the '{section}:' section must be a mapping")
    return found or {}


def validation_message(exc: ValidationError, section: str) -> str:
    """Pydantic errors as ``section.key.sub: why`` items, one per problem."""
    return "; ".join(
        f"{section}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )


M = TypeVar("M", bound=BaseModel)


def load_section(
    path: str | Path | None, section: str, model: type[M], error: type[Exception]
) -> M:
    """Validate a config file's ``section:`` into ``model`` (defaults when absent)."""
    try:
        return model.model_validate(read_section(path, section, error))
    except ValidationError as exc:
        raise error(f"invalid configuration: {validation_message(exc, section)}") from None


def load_yaml(path: str | Path) -> dict:
    """Read a YAML mapping; an empty file is an empty mapping."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data

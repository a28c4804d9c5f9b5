"""Campaign economics, the one rule both the model's profit metric and the campaign list follow:
contacting a customer saves ``success_rate`` of the value at risk and costs ``cost_per_contact``.

The campaign list may also price each customer on its own: :class:`ContactCost` and
:class:`SuccessRate` hold a default with overrides by segment and by plan, and
:func:`contact_profit` applies the rule elementwise.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd
from pydantic import AliasChoices, Field, model_validator

from core.config import Frozen

Amount = TypeVar("Amount", float, np.ndarray)


class CampaignEconomics(Frozen):
    """Cost of one retention contact and the share of the value at risk a contact saves."""

    cost_per_contact: float = Field(
        25.0, ge=0, validation_alias=AliasChoices("cost_per_contact", "contact_cost")
    )
    """Also read as ``contact_cost``, the key earlier training configs used."""
    success_rate: float = Field(0.25, ge=0, le=1)


def saved_value(
    value_at_risk: Amount, economics: CampaignEconomics, contacts: Amount | float = 1.0
) -> Amount:
    """Expected value saved, net of cost, by ``contacts`` contacts that reach ``value_at_risk``:
    ``success_rate x value_at_risk - cost_per_contact x contacts`` (elementwise for arrays)."""
    return value_at_risk * economics.success_rate - economics.cost_per_contact * contacts


def contact_profit(
    value_at_risk: np.ndarray, success_rate: np.ndarray | float, cost: np.ndarray | float
) -> np.ndarray:
    """Expected profit of contacting each customer, ``value_at_risk x success_rate - cost``: the
    rule of :func:`saved_value` with a rate and a cost per customer."""
    return np.asarray(value_at_risk, float) * success_rate - cost


class SegmentedFigure(Frozen):
    """A per-customer figure: ``default``, replaced by ``by_segment[segment]``, replaced in turn
    by ``by_plan[plan]`` (a plan is the more specific of the two). A bare number means the
    default with no overrides."""

    low: ClassVar[float] = 0.0
    high: ClassVar[float] = float("inf")
    what: ClassVar[str] = "a number >= 0"

    default: float
    by_segment: dict[str, float] = Field(default_factory=dict)
    by_plan: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _number(cls, data: Any) -> Any:
        return {"default": data} if isinstance(data, (int, float)) else data

    @model_validator(mode="after")
    def _bounds(self) -> SegmentedFigure:
        named = {"default": self.default}
        named |= {f"by_segment.{k}": v for k, v in self.by_segment.items()}
        named |= {f"by_plan.{k}": v for k, v in self.by_plan.items()}
        bad = [f"{k} = {v:g}" for k, v in named.items() if not (self.low <= v <= self.high)]
        if bad:
            raise ValueError(f"must be {self.what}: {', '.join(bad)}")
        return self

    def resolve(
        self, segment: pd.Series | None = None, plan: pd.Series | None = None
    ) -> np.ndarray:
        """The figure of each customer, given their segment and plan (either may be missing)."""
        n = len(segment) if segment is not None else len(plan) if plan is not None else 1
        out = np.full(n, self.default, dtype=float)
        for keys, table in ((segment, self.by_segment), (plan, self.by_plan)):
            if keys is not None and table:
                found = pd.Series(keys).astype(object).map(table).to_numpy(dtype=float)
                out = np.where(np.isnan(found), out, found)
        return out


class ContactCost(SegmentedFigure):
    """Cost of one retention contact, by segment and plan."""


class SuccessRate(SegmentedFigure):
    """Share of contacted would-be churners a contact keeps, by segment and plan."""

    high: ClassVar[float] = 1.0
    what: ClassVar[str] = "a share from 0 to 1"

"""Campaign economics: every setting of what a retention contact costs and what it saves, and the
one rule that prices it, :func:`saved_value`: contacting a customer saves ``success_rate`` of the
value at risk and costs ``cost_per_contact``.

The model's profit metric prices every customer alike (:class:`CampaignEconomics`, the
``training.campaign`` section); the campaign list prices each customer on their own
(:class:`SegmentedEconomics`, the economics of the ``kpi.campaign`` section): a default with
overrides by segment and by plan. Both read the contact cost under one key, ``cost_per_contact``;
the older spelling ``contact_cost`` is still read, with a warning.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from core.config import Frozen

Amount = TypeVar("Amount", float, np.ndarray)

COST_KEY = "cost_per_contact"
OLD_COST_KEY = "contact_cost"
"""The contact cost's earlier key (``kpi.campaign`` used it), read as ``cost_per_contact``."""


def saved_value(
    value_at_risk: Amount, success_rate: Amount | float, cost: Amount | float
) -> Amount:
    """Expected value saved, net of cost, by contacting customers with ``value_at_risk``:
    ``value_at_risk x success_rate - cost`` (elementwise for arrays; ``cost`` is the total cost of
    the contacts that reach that value)."""
    return value_at_risk * success_rate - cost


def _renamed_cost(data: Any) -> Any:
    """A mapping's ``contact_cost`` as ``cost_per_contact``, with a deprecation warning."""
    if not isinstance(data, dict) or OLD_COST_KEY not in data:
        return data
    if COST_KEY in data:
        raise ValueError(f"give {COST_KEY} only ({OLD_COST_KEY} is its earlier name)")
    warnings.warn(
        f"campaign key '{OLD_COST_KEY}' is deprecated; write '{COST_KEY}' instead",
        FutureWarning,
        stacklevel=2,
    )
    return {(COST_KEY if k == OLD_COST_KEY else k): v for k, v in data.items()}


class CampaignEconomics(Frozen):
    """Cost of one retention contact and the share of the value at risk a contact saves, the same
    for every customer (the model's ``campaign_profit`` metric)."""

    cost_per_contact: float = Field(25.0, ge=0)
    success_rate: float = Field(0.25, ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _old_key(cls, data: Any) -> Any:
        return _renamed_cost(data)


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


class SegmentedEconomics(Frozen):
    """Cost of one contact and its success rate, each by segment and plan (the campaign list; a
    customer's own ``contact_cost`` in the data overrides the configured cost)."""

    cost_per_contact: ContactCost = ContactCost(default=25.0)
    success_rate: SuccessRate = SuccessRate(default=0.25)

    @model_validator(mode="before")
    @classmethod
    def _old_key(cls, data: Any) -> Any:
        return _renamed_cost(data)

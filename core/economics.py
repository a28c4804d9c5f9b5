"""Campaign economics, the one rule both the model's profit metric and the campaign list follow:
contacting a customer saves ``success_rate`` of the value at risk and costs ``cost_per_contact``.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
from pydantic import AliasChoices, Field

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

"""The campaign job: one function that turns a data set, its predictions and the campaign
settings into the chosen customers and what each decision rule saves.

``churn campaign`` and the workspace's campaign builder both call :func:`run_campaign`, so the same
inputs give the same contacts, in the same order, and the same savings.

A book without account managers (a plain purchase log: no ``account_manager_id`` column, or no
value in it) is campaigned as one team: every customer counts under :data:`TEAM_WIDE` and the
capacity is the whole team's (``CampaignResult.team_wide``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from core.economics import ContactCost, SuccessRate
from features.dataset import Dataset
from kpi.campaign import INCREMENTAL, UPLIFT, campaign_candidates, rule_savings, select_by
from kpi.config import KpiConfig
from kpi.portfolio import MANAGER


@dataclass(frozen=True)
class CampaignInputs:
    """What a campaign is built from: the data set as of the campaign date, the predictions made
    at that date, and the options that override the configuration (None: the configuration)."""

    dataset: Dataset
    predictions: pd.DataFrame
    asof: pd.Timestamp
    capacity: int | None = None
    by: str | None = None
    """Ranking (``kpi.campaign.STRATEGIES``); None: uplift when ``uplift`` is given, else
    value-at-risk."""
    cost: float | None = None
    """One contact cost for everybody instead of the configured cost by segment and plan."""
    cost_column: str | None = None
    """The predictions' column holding each customer's own contact cost."""
    success_rate: float | None = None
    uplift: pd.Series | None = None
    """Each customer's estimated effect of a contact, by ``customer_id`` (the uplift model)."""
    book: str | None = None
    """Only this account manager's customers (a manager building for their own book)."""


@dataclass(frozen=True)
class CampaignResult:
    """The chosen customers in priority order per manager, what each rule saves, the notes on the
    data (bad own costs, for instance) and the settings the campaign used."""

    chosen: pd.DataFrame
    savings: pd.DataFrame
    notes: tuple[str, ...]
    capacity: int
    by: str
    cost: float | ContactCost
    success_rate: float | SuccessRate
    team_wide: bool = False
    """The book has no account managers: one team, one capacity (:data:`TEAM_WIDE`)."""

    def per_manager(self, incremental: bool = False) -> pd.DataFrame:
        """Contacts, value at risk and expected saved value per manager (and the expected
        incremental value with ``incremental``)."""
        columns = ["value_at_risk", "expected_saved_value"]
        columns += [INCREMENTAL] if incremental else []
        grouped = self.chosen.groupby(MANAGER, observed=True)
        out = grouped[columns].sum()
        out.insert(0, "contacts", grouped.size())
        return out


TEAM_WIDE = "team"
"""The one "manager" of a book without account managers: the capacity is the team's."""


def without_managers(ds: Dataset) -> bool:
    """Whether the customers table names no account manager at all."""
    customers = ds.tables["customers"]
    return MANAGER not in customers.columns or bool(customers[MANAGER].isna().all())


def team_wide(ds: Dataset) -> Dataset:
    """``ds`` with every customer under :data:`TEAM_WIDE` (for a book without managers)."""
    customers = ds.tables["customers"].assign(**{MANAGER: TEAM_WIDE})
    return replace(ds, tables={**ds.tables, "customers": customers})


def run_campaign(inputs: CampaignInputs, cfg: KpiConfig) -> CampaignResult:
    """Choose per manager the first ``capacity`` customers of the ranking and set every decision
    rule's savings beside them (KpiError on inputs the user can fix); a book without managers
    is one team with one capacity (:func:`team_wide`)."""
    team = without_managers(inputs.dataset)
    if team:
        inputs = replace(inputs, dataset=team_wide(inputs.dataset))
    settings = cfg.campaign
    capacity = settings.capacity_per_manager if inputs.capacity is None else inputs.capacity
    cost = settings.cost_per_contact if inputs.cost is None else inputs.cost
    rate = settings.success_rate if inputs.success_rate is None else inputs.success_rate
    notes: list[str] = []
    candidates = campaign_candidates(
        inputs.dataset, inputs.predictions, inputs.asof, cfg.outcome, inputs.cost_column, notes
    )
    if inputs.book is not None:
        candidates = candidates[candidates[MANAGER].astype("str") == inputs.book]
    if inputs.uplift is not None:
        candidates[UPLIFT] = candidates["customer_id"].map(inputs.uplift).to_numpy()
    by = inputs.by or ("uplift" if inputs.uplift is not None else "value-at-risk")
    chosen = select_by(candidates, capacity, by, cost, rate)
    savings = rule_savings(candidates, capacity, cost, rate)
    return CampaignResult(chosen, savings, tuple(notes), capacity, by, cost, rate, team)

"""The campaign builder's selection: ``churn campaign``'s candidates, rules and savings for the
same inputs (the predictions stored at a scoring date, the data folder that scoring read, the KPI
configuration's costs and success rates unless the form overrides them), so the preview and the
CSV list the customers the CLI lists, in its order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.uplift import OUTPUT_COLUMN, UpliftError
from features.dataset import Dataset
from features.loaders import load_dataset
from kpi.campaign import STRATEGIES, UPLIFT
from kpi.campaign_job import CampaignInputs, CampaignResult, run_campaign
from kpi.config import KpiConfig, KpiError
from kpi.inputs import DatasetCache, data_folder, read_predictions
from scoring.store.predictions import PredictionStore
from scoring.uplift import UpliftChampion, uplift_at

AVAILABLE = STRATEGIES
"""The ``churn campaign --by`` rankings the builder offers (``uplift`` needs the service's
``uplift-model@champion``)."""
DEFAULT_STRATEGY = "value-at-risk"
CACHED_CAMPAIGNS = 8


@dataclass(frozen=True)
class CampaignAsk:
    """The builder's inputs: scoring date, contacts per manager, rule, and the cost and success
    rate when they override the configuration."""

    asof: str
    capacity: int
    by: str = DEFAULT_STRATEGY
    cost: float | None = None
    success_rate: float | None = None


@dataclass(frozen=True)
class Campaign:
    """The builder's inputs and the campaign job's result for them."""

    ask: CampaignAsk
    result: CampaignResult

    @property
    def chosen(self) -> pd.DataFrame:
        """The chosen customers, with the columns ``churn campaign`` writes."""
        return self.result.chosen

    @property
    def savings(self) -> pd.DataFrame:
        """What each decision rule saves."""
        return self.result.savings

    @property
    def notes(self) -> tuple[str, ...]:
        """Notes on the data (bad own costs, for instance)."""
        return self.result.notes

    def per_manager(self) -> pd.DataFrame:
        """Contacts, value at risk and expected saved value per manager."""
        return self.result.per_manager()


class CampaignBuilder:
    """Builds campaigns from the store, with the data sets loaded once per folder and date."""

    def __init__(self, datasets: DatasetCache) -> None:
        self.datasets = datasets
        self._lock = threading.Lock()
        self._dated: dict[tuple[Path, str], Dataset] = {}
        self._built: dict[tuple, tuple[Dataset, Campaign]] = {}

    def dataset(self, folder: Path, asof: pd.Timestamp) -> Dataset:
        """The data set as of the campaign date (what ``churn campaign --asof`` loads)."""
        ds = self.datasets(folder)
        if ds.as_of.normalize() == asof:
            return ds
        key = (folder.resolve(), f"{asof:%Y-%m-%d}")
        with self._lock:
            found = self._dated.get(key)
        if found is None:
            found = load_dataset(folder, as_of=f"{asof:%Y-%m-%d}")
            with self._lock:
                self._dated = {key: found}
        return found

    def build(
        self,
        store: PredictionStore,
        ask: CampaignAsk,
        cfg: KpiConfig,
        book: str | None = None,
        uplift: UpliftChampion | None = None,
    ) -> Campaign:
        """The campaign of ``ask`` (only ``book``'s customers when a manager asks); the same
        inputs (scoring run, data set, configuration, uplift model) give the campaign built
        before. ``by=uplift`` ranks by ``uplift``'s effects on the data as of the date, as
        ``churn campaign --by uplift`` does; without an uplift champion it is a KpiError."""
        when = pd.Timestamp(ask.asof).normalize()
        run = store.run(ask.asof)
        folder = Path(run.source) if run.source else None
        model = None
        if ask.by == UPLIFT:
            if uplift is None:
                raise KpiError("by uplift: the service has no uplift model")
            try:
                model = uplift.get()
            except UpliftError as exc:
                raise KpiError(f"by uplift: {exc}") from None
        key = (store.url, ask, book, run.scored_at, id(cfg), model and model[1])
        if folder is not None and folder.is_dir():
            with self._lock:
                hit = self._built.get(key)
            if hit is not None and hit[0] is self.dataset(folder, when):
                return hit[1]
        stored = read_predictions(store, [when])
        ds = self.dataset(data_folder(stored), when)
        effects = (
            None
            if model is None
            else uplift_at(ds, when, model[0]).set_index("customer_id")[OUTPUT_COLUMN]
        )
        inputs = CampaignInputs(
            ds,
            stored.predictions,
            when,
            capacity=ask.capacity,
            by=ask.by,
            cost=ask.cost,
            success_rate=ask.success_rate,
            book=book,
            uplift=effects,
        )
        built = Campaign(ask, run_campaign(inputs, cfg))
        with self._lock:
            while len(self._built) >= CACHED_CAMPAIGNS:
                self._built.pop(next(iter(self._built)))
            self._built[key] = (ds, built)
        return built

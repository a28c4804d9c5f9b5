"""What the HTTP layer uses of the running service: the routes, the request guard and the
workspace read only these six, so they depend on this protocol and not on the BentoML class
(which imports them)."""

from __future__ import annotations

from typing import Protocol

from kpi.config import KpiConfig, KpiError
from scoring.champions import ModelHolder
from scoring.config import ServingConfig
from scoring.store.predictions import PredictionStore
from scoring.uplift import UpliftChampion


class ServiceState(Protocol):
    """The running service as routes, middleware and pages see it."""

    @property
    def config(self) -> ServingConfig:
        """The serving configuration the service started with."""

    @property
    def models(self) -> ModelHolder:
        """The champions being served (or why none are)."""

    @property
    def store(self) -> PredictionStore:
        """The prediction store: scorings, customers, users, contacts."""

    @property
    def uplift_model(self) -> UpliftChampion:
        """``uplift-model@champion``, loaded when first asked for (or why there is none)."""

    @property
    def kpi(self) -> KpiConfig | KpiError:
        """The config file's ``kpi:`` section read at start, or why it is invalid."""

    @property
    def api_key(self) -> str | None:
        """The key the JSON API requires (None: no key; the workspace may then open locally)."""

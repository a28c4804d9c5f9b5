"""The champion models a running service answers with, and how they are swapped.

The registry is the only place models come from: the configured tracking URI, the configured
model names and the champion alias. A request can make the service re-read the alias
(``POST /reload``) but never names a model location itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from core.bundle import BundleError, ModelBundle
from core.registry import client_for, load_registered_bundle
from features.config import FeatureConfig
from serving.config import ModelRefs

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Champions:
    """One consistent pair of churn and value bundles with their registry versions.

    Immutable: a swap replaces the whole object, so a request that holds one keeps answering with
    the same versions from start to end.
    """

    churn: ModelBundle
    value: ModelBundle
    churn_version: str
    value_version: str
    loaded_at: float = field(default_factory=time.time)

    @cached_property
    def feature_names(self) -> tuple[str, ...]:
        """Features either model needs: the churn model's order, then the value model's extras."""
        extra = tuple(f for f in self.value.feature_names if f not in self.churn.feature_names)
        return self.churn.feature_names + extra

    @cached_property
    def categories(self) -> dict[str, frozenset[str]]:
        """Known levels of each categorical feature (union over both models)."""
        out: dict[str, set[str]] = {}
        for bundle in (self.churn, self.value):
            for col, levels in bundle.categories.items():
                out.setdefault(col, set()).update(levels)
        return {k: frozenset(v) for k, v in out.items()}

    def feature_config(self) -> FeatureConfig:
        """The feature configuration the churn model was trained with (defaults if unrecorded)."""
        recorded = self.churn.metadata.get("feature_config")
        return FeatureConfig.model_validate(recorded) if recorded else FeatureConfig()

    @property
    def versions(self) -> dict[str, str]:
        return {
            "churn_model_version": self.churn_version,
            "value_model_version": self.value_version,
        }


def load_champions(refs: ModelRefs, tracking_uri: str) -> Champions:
    """Download the bundles that carry ``refs.alias``; BundleError says which one is missing."""
    churn, churn_version = load_registered_bundle(refs.churn, refs.alias, tracking_uri)
    value, value_version = load_registered_bundle(refs.value, refs.alias, tracking_uri)
    if churn.kind != "churn" or value.kind != "value":
        raise BundleError(
            f"{refs.churn!r} holds a {churn.kind} bundle and {refs.value!r} a {value.kind} "
            "bundle; expected churn and value"
        )
    return Champions(churn, value, churn_version, value_version)


def alias_versions(refs: ModelRefs, tracking_uri: str) -> tuple[str, str]:
    """The versions the alias points at now (a cheap registry read, nothing is downloaded)."""
    from mlflow.exceptions import MlflowException

    client = client_for(tracking_uri)

    def version(name: str) -> str:
        return str(client.get_model_version_by_alias(name, refs.alias).version)

    try:
        return version(refs.churn), version(refs.value)
    except MlflowException as exc:
        raise BundleError(
            f"no champion: registered models {refs.churn!r} and {refs.value!r} need a version "
            f"with alias {refs.alias!r} in {tracking_uri} (train one with `churn train`): "
            f"{exc.message}"
        ) from exc


@dataclass(frozen=True)
class RefreshResult:
    """What a registry check did: whether the champions changed, and the problem if any."""

    changed: bool
    champions: Champions | None
    problem: str | None


class ModelHolder:
    """Holds the current :class:`Champions`; ``refresh`` swaps them when the alias moved.

    Readers take ``holder.current`` once per request (a single attribute read); a refresh loads
    the new pair completely before it replaces the old one, so no request sees a half swap.
    """

    def __init__(
        self,
        refs: ModelRefs,
        tracking_uri: str,
        loader: Callable[[ModelRefs, str], Champions] = load_champions,
        lookup: Callable[[ModelRefs, str], tuple[str, str]] = alias_versions,
    ) -> None:
        self.refs = refs
        self.tracking_uri = tracking_uri
        self._loader = loader
        self._lookup = lookup
        self._lock = threading.Lock()
        self._current: Champions | None = None
        self._problem: str | None = "models not loaded yet"

    @property
    def current(self) -> Champions | None:
        return self._current

    @property
    def problem(self) -> str | None:
        """Why the service cannot answer (no champion), or why the last refresh failed."""
        return self._problem

    def refresh(self) -> RefreshResult:
        """Re-read the alias; load and swap in the new versions when they differ."""
        with self._lock:
            current = self._current
            try:
                wanted = self._lookup(self.refs, self.tracking_uri)
                if current is not None and wanted == (current.churn_version, current.value_version):
                    self._problem = None
                    return RefreshResult(False, current, None)
                loaded = self._loader(self.refs, self.tracking_uri)
            except Exception as exc:  # the service stays up, on its current champions if any
                self._problem = (
                    str(exc) if isinstance(exc, BundleError) else f"{type(exc).__name__}: {exc}"
                )
                log.warning("champion refresh failed: %s", self._problem)
                return RefreshResult(False, current, self._problem)
            self._current = loaded
            self._problem = None
            log.info(
                "serving %s v%s and %s v%s",
                self.refs.churn,
                loaded.churn_version,
                self.refs.value,
                loaded.value_version,
            )
            return RefreshResult(True, loaded, None)


class Poller:
    """A daemon thread that calls ``holder.refresh`` every ``interval_s`` seconds until stopped."""

    def __init__(self, holder: ModelHolder, interval_s: float) -> None:
        self._holder = holder
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="champion-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._holder.refresh()
            except Exception:  # keep serving the current champions whatever the registry does
                log.exception("champion poll failed")

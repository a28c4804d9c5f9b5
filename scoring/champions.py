"""The champion models a running service answers with, and how they are swapped.

The registry is the only place models come from: the configured tracking URI, the configured
model names and the champion alias. A request can make the service re-read the alias
(``POST /reload``) but never names a model location itself. The two models move as a pair: the
versions the alias points at must come from one training run (their ``run_id`` tags); a
mismatched pair is not loaded and the previous pair keeps answering.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from core.bundle import BundleError, ModelBundle
from features.config import FeatureConfig
from scoring.config import ModelRefs

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
    run_id: str | None = None

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

    @cached_property
    def same_encoding(self) -> bool:
        """Whether both models read the same matrix (same features, order and levels), so one
        encoding serves both."""
        return (
            self.churn.feature_names == self.value.feature_names
            and self.churn.categories == self.value.categories
        )

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
    """Download the pair that carries ``refs.alias``; BundleError says which one is missing, or
    that the two versions come from different training runs (as the service refuses them)."""
    pair = alias_pair(refs, tracking_uri)
    problem = pair.mismatch(refs)
    if problem is not None:
        raise BundleError(problem)
    return load_pair(refs, tracking_uri, pair)


class RegistryUnavailable(BundleError):
    """The registry cannot be read or names no usable pair; ``public`` is safe for clients."""

    def __init__(self, public: str, detail: str) -> None:
        super().__init__(f"{public}: {detail}")
        self.public = public


@dataclass(frozen=True)
class AliasPair:
    """The versions the alias points at and the training runs they come from."""

    churn_version: str
    value_version: str
    churn_run: str | None
    value_run: str | None
    unfinished: bool = False
    """Whether their training run never finished registering its set (see core.registry)."""

    @property
    def versions(self) -> tuple[str, str]:
        return self.churn_version, self.value_version

    def mismatch(self, refs: ModelRefs) -> str | None:
        """Why these two versions are not a pair (different training runs, or a run that did not
        finish registering them), or None."""
        if self.unfinished:
            return (
                f"unfinished set: {refs.churn} v{self.churn_version} and {refs.value} "
                f"v{self.value_version} carry {refs.alias!r} but their training run did not "
                "finish registering its models; move both back with `churn rollback`"
            )
        if self.churn_run == self.value_run:
            return None
        return (
            f"mismatched pair: {refs.churn} v{self.churn_version} (run {self.churn_run}) and "
            f"{refs.value} v{self.value_version} (run {self.value_run}) carry {refs.alias!r} but "
            "come from different training runs; move both with `churn promote` or "
            "`churn rollback`"
        )


def alias_pair(refs: ModelRefs, tracking_uri: str) -> AliasPair:
    """The versions the alias points at now and their runs (a registry read, no download)."""
    from mlflow.exceptions import MlflowException  # MLflow: imported by the first registry read

    from core.registry import client_for, set_complete, version_run_id

    client = client_for(tracking_uri)
    found = []
    for name in (refs.churn, refs.value):
        try:
            mv = client.get_model_version_by_alias(name, refs.alias)
        except MlflowException as exc:
            code = str(getattr(exc, "error_code", ""))
            if "RESOURCE_DOES_NOT_EXIST" in code or "INVALID_PARAMETER_VALUE" in code:
                raise RegistryUnavailable(
                    f"no champion: registered model {name!r} has no version with alias "
                    f"{refs.alias!r}; train one (churn train) or promote one",
                    f"{tracking_uri}: {exc.message}",
                ) from exc
            raise RegistryUnavailable(
                f"the model registry cannot be read ({type(exc).__name__})", str(exc)
            ) from exc
        except Exception as exc:  # a broken store file, an unreachable server
            raise RegistryUnavailable(
                f"the model registry cannot be read ({type(exc).__name__})", str(exc)
            ) from exc
        try:
            complete = set_complete(client, mv)
        except Exception as exc:  # a broken store file, an unreachable server
            raise RegistryUnavailable(
                f"the model registry cannot be read ({type(exc).__name__})", str(exc)
            ) from exc
        found.append((str(mv.version), version_run_id(mv), complete))
    (churn_version, churn_run, churn_ok), (value_version, value_run, value_ok) = found
    unfinished = not (churn_ok and value_ok)
    return AliasPair(churn_version, value_version, churn_run, value_run, unfinished)


def load_pair(refs: ModelRefs, tracking_uri: str, pair: AliasPair) -> Champions:
    """Download exactly the versions of ``pair`` (not whatever the alias points at by then)."""
    from core.registry import load_version_bundle

    churn = load_version_bundle(refs.churn, pair.churn_version, tracking_uri)
    value = load_version_bundle(refs.value, pair.value_version, tracking_uri)
    if churn.kind != "churn" or value.kind != "value":
        raise BundleError(
            f"{refs.churn!r} holds a {churn.kind} bundle and {refs.value!r} a {value.kind} "
            "bundle; expected churn and value"
        )
    return Champions(churn, value, pair.churn_version, pair.value_version, run_id=pair.churn_run)


@dataclass(frozen=True)
class RefreshResult:
    """What a registry check did: whether the champions changed, and the problem if any
    (``kind``: ``registry`` unreadable or no champion, ``mismatch``, ``load``)."""

    changed: bool
    champions: Champions | None
    problem: str | None
    kind: str | None = None


class ModelHolder:
    """Holds the current :class:`Champions`; ``refresh`` swaps them when the alias moved.

    Readers take ``holder.current`` once per request (a single attribute read); a refresh loads
    the new pair completely before it replaces the old one, so no request sees a half swap.
    """

    def __init__(
        self,
        refs: ModelRefs,
        tracking_uri: str,
        loader: Callable[[ModelRefs, str, AliasPair], Champions] = load_pair,
        lookup: Callable[[ModelRefs, str], AliasPair] = alias_pair,
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
        """Why the service cannot answer (no champion), or why the last refresh failed (words
        safe for clients: no registry URI; the log has the full error)."""
        return self._problem

    def _fail(
        self, current: Champions | None, kind: str, public: str, detail: str
    ) -> RefreshResult:
        self._problem = public
        log.warning("champion refresh failed (%s): %s", kind, detail)
        return RefreshResult(False, current, public, kind)

    def adopt(self, champions: Champions) -> bool:
        """Start with ``champions`` fetched elsewhere for these refs (see
        :mod:`scoring.prefetch`); False, changing nothing, once a pair is loaded."""
        with self._lock:
            if self._current is not None:
                return False
            self._current = champions
            self._problem = None
        log.info(
            "serving %s v%s and %s v%s (fetched beside the start)",
            self.refs.churn,
            champions.churn_version,
            self.refs.value,
            champions.value_version,
        )
        return True

    def refresh(self) -> RefreshResult:
        """Re-read the alias; load and swap in the new pair when it moved and is a pair."""
        with self._lock:
            current = self._current
            try:
                wanted = self._lookup(self.refs, self.tracking_uri)
            except Exception as exc:  # the service stays up, on its current champions if any
                public = getattr(exc, "public", None) or (
                    f"the model registry cannot be read ({type(exc).__name__})"
                )
                return self._fail(current, "registry", public, str(exc))
            mismatch = wanted.mismatch(self.refs)
            if mismatch is not None:
                kept = (
                    f"; still serving v{current.churn_version} and v{current.value_version}"
                    if current is not None
                    else ""
                )
                return self._fail(current, "mismatch", mismatch + kept, mismatch)
            if current is not None and wanted.versions == (
                current.churn_version,
                current.value_version,
            ):
                self._problem = None
                return RefreshResult(False, current, None)
            try:
                loaded = self._loader(self.refs, self.tracking_uri, wanted)
            except Exception as exc:
                public = (
                    f"cannot load {self.refs.churn} v{wanted.churn_version} and "
                    f"{self.refs.value} v{wanted.value_version} ({type(exc).__name__})"
                )
                return self._fail(current, "load", public, f"{type(exc).__name__}: {exc}")
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


class ReloadWatcher:
    """Follows a shared reload generation: ``POST /reload`` on one worker raises it in the store,
    and every other worker re-reads the champion alias when its :meth:`check` (called every
    ``reload_check_s`` by the service) sees it change (one small read, no registry call)."""

    def __init__(self, holder: ModelHolder, generation: Callable[[], int]) -> None:
        self._holder = holder
        self._generation = generation
        self._seen = self._read()

    def _read(self) -> int | None:
        try:
            return self._generation()
        except Exception as exc:  # the store is down: keep serving, look again next time
            log.debug("reload generation unreadable: %s", exc)
            return None

    def seen(self, generation: int) -> None:
        """This worker has already acted on ``generation`` (it signalled it)."""
        self._seen = generation

    def check(self) -> None:
        """Refresh the champions when the generation moved; a failed refresh is tried again on
        the next check (the signal is not lost)."""
        now = self._read()
        if now is None or now == self._seen:
            return
        result = self._holder.refresh()
        if result.problem is None:
            self._seen = now
        else:
            log.warning("champion refresh after a reload signal failed: %s", result.problem)


def reload_key(refs: ModelRefs) -> str:
    """The store key under which the workers serving ``refs`` share their reload generation."""
    return f"{refs.churn}+{refs.value}@{refs.alias}"[:200]

"""Where KPI scorecards and campaigns get their inputs when no predictions file is given: the
predictions batch scoring stored at each month's start, and the data folder that scoring read.

A month is judged against the predictions made at its first day (``churn score --asof``); a
quarter or year needs each of its months' starts. A missing date is an error that names the
``churn score`` command to run.
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from core.bundle import BundleError, ModelBundle
from core.lang import Lang, catalogue
from features.dataset import Dataset
from features.loaders import load_dataset
from kpi.config import KpiConfig, KpiError, OutcomeConfig
from kpi.periods import Period, parse_period
from kpi.portfolio import MANAGER, outcome_window
from kpi.scorecard import scorecard
from scoring.config import ServingConfig
from scoring.reasons import risk_reason_text
from scoring.store.history import latest_source, predictions_at, run_sources
from scoring.store.predictions import PredictionStore, ScoringRun, StoreError


class MissingPredictionsError(KpiError):
    """The store lacks the batch scoring of a date the period needs."""


class UnknownSelectionError(KpiError):
    """A team or manager asked for is not in the scorecards."""


@dataclass(frozen=True)
class StoredPredictions:
    """Predictions made at some as-of dates (``customer_id, as_of, churn_probability,
    predicted_value``) and the scoring runs that made them, in date order."""

    predictions: pd.DataFrame
    runs: tuple[ScoringRun, ...]

    @property
    def asof(self) -> tuple[str, ...]:
        return tuple(r.asof for r in self.runs)

    def data_folder(self) -> Path:
        """The data folder the runs read (recorded by ``churn score``); they must agree."""
        sources = dict.fromkeys(r.source for r in self.runs)
        if len(sources) != 1:
            listed = ", ".join(f"{r.asof}: {r.source}" for r in self.runs)
            raise KpiError(
                f"the scoring runs of this period read different data folders ({listed}); "
                "pass the data folder to use (--data DIR)"
            )
        return Path(next(iter(sources)))


def score_command(asof: pd.Timestamp | str, data: str | Path | None, extra: str = "") -> str:
    """The ``churn score`` command that stores the predictions of ``asof``."""
    when = asof if isinstance(asof, str) else f"{asof:%Y-%m-%d}"
    return " ".join(
        filter(
            None,
            ["churn score", f"--data {shlex.quote(str(data or 'DIR'))}", f"--asof {when}", extra],
        )
    )


def read_predictions(
    store: PredictionStore,
    dates: Sequence[pd.Timestamp],
    data: str | Path | None = None,
    command_options: str = "",
) -> StoredPredictions:
    """The stored predictions made at each of ``dates``; MissingPredictionsError lists the
    ``churn score`` commands that would store the missing ones (``command_options`` appended)."""
    wanted = [f"{d:%Y-%m-%d}" for d in dates]
    try:
        found = run_sources(store, wanted)
        missing = [d for d in wanted if d not in found]
        if missing:
            folder = data or latest_source(store)
            commands = "\n  ".join(score_command(d, folder, command_options) for d in missing)
            raise MissingPredictionsError(
                f"the prediction store {store.safe_url} has no predictions made at "
                f"{', '.join(missing)} (a month is judged by the predictions made at its first "
                f"day); score {'them' if len(missing) > 1 else 'it'} first:\n  {commands}"
            )
        frame = predictions_at(store, wanted)
        runs = tuple(store.run(d) for d in wanted)
    except (SQLAlchemyError, StoreError) as exc:
        raise KpiError(f"cannot read predictions from the store {store.safe_url}: {exc}") from exc
    frame = frame.rename(columns={"asof": "as_of"}).astype({"customer_id": "str"})
    frame["as_of"] = pd.to_datetime(frame["as_of"], format="%Y-%m-%d")
    return StoredPredictions(frame, runs)


def select_rows(
    frame: pd.DataFrame, team: str | None = None, manager: str | None = None
) -> pd.DataFrame:
    """Scorecard rows of one team (its managers and the team row) and/or one manager (with
    the row of the manager's team); UnknownSelectionError names what exists."""
    managers = frame[frame["level"] == "manager"]
    keep = pd.Series(True, index=frame.index)
    if team is not None:
        teams = sorted(frame["team"].dropna().unique())
        if team not in teams:
            raise UnknownSelectionError(f"unknown team {team!r}; known: {', '.join(teams)}")
        keep &= frame["team"] == team
    if manager is not None:
        known = managers[MANAGER].astype("str")
        if manager not in set(known):
            raise UnknownSelectionError(
                f"unknown account manager {manager!r}; known: {', '.join(sorted(known)[:30])}"
            )
        own = managers.loc[known == manager, "team"].dropna()
        if team is not None and team not in set(own):
            raise UnknownSelectionError(f"account manager {manager!r} is not in team {team!r}")
        is_team_row = (frame["level"] == "team") & frame["team"].isin(set(own))
        keep &= (frame[MANAGER] == manager) | is_team_row
    return frame[keep.to_numpy()].reset_index(drop=True)


def data_folder(stored: StoredPredictions, data: str | Path | None = None) -> Path:
    """``data`` when given, else the folder the scoring runs read; it must exist."""
    folder = Path(data) if data is not None else stored.data_folder()
    if not folder.is_dir():
        raise KpiError(
            f"the data folder {folder} (read by the scoring of {', '.join(stored.asof)}) "
            "does not exist; pass the data folder (--data DIR) or score again"
        )
    return folder


def scorecard_records(frame: pd.DataFrame) -> list[dict]:
    """Scorecard rows as JSON-safe dicts: missing values are None, numbers plain floats/ints."""
    plain = frame.astype(object)
    return plain.where(frame.notna(), None).to_dict("records")


@dataclass(frozen=True)
class PeriodInputs:
    """What a period's scorecards are computed from: the predictions stored at its month starts
    and the data set (the folder those scoring runs read, unless another was given)."""

    period: Period
    stored: StoredPredictions
    data: Path
    dataset: Dataset


def _refuse_unobservable(
    store: PredictionStore,
    period: Period,
    cfg: OutcomeConfig,
    load: Callable[[Path], Dataset],
    data: str | Path | None,
) -> None:
    """A period the data cannot judge yet is refused as such (no point scoring its start)."""
    folder = data or latest_source(store)
    if folder is not None and Path(folder).is_dir():
        ds = load(Path(folder))
        for month in period.months:
            outcome_window(ds, month, cfg)


def period_inputs(
    store: PredictionStore,
    period: str | Period,
    cfg: OutcomeConfig,
    load: Callable[[Path], Dataset] = load_dataset,
    data: str | Path | None = None,
    command_options: str = "",
) -> PeriodInputs:
    """The stored predictions of each month start of ``period`` and the data set to judge them
    with; a period whose outcome the data does not cover yet is refused before a missing date."""
    p = parse_period(period) if isinstance(period, str) else period
    try:
        stored = read_predictions(store, p.months, data, command_options)
    except MissingPredictionsError:
        _refuse_unobservable(store, p, cfg, load, data)
        raise
    folder = data_folder(stored, data)
    return PeriodInputs(p, stored, folder, load(folder))


def store_scorecard(
    store: PredictionStore,
    period: str | Period,
    cfg: KpiConfig,
    load: Callable[[Path], Dataset] = load_dataset,
    data: str | Path | None = None,
) -> tuple[PeriodInputs, pd.DataFrame]:
    """Scorecards of ``period`` from the store (see :func:`period_inputs`), and their inputs."""
    inputs = period_inputs(store, period, cfg.outcome, load, data)
    return inputs, scorecard(inputs.dataset, inputs.stored.predictions, inputs.period, cfg)


def stored_reasons(
    store: PredictionStore,
    asof: pd.Timestamp,
    customer_ids: Sequence[str],
    bundle: ModelBundle,
    k: int = 3,
    lang: Lang = "en",
) -> pd.Series:
    """Top-``k`` risk-raising reasons (joined by "; ") of these customers from the feature rows
    stored at ``asof``, under ``bundle``; customers without stored features get none."""
    _, rows = store.features_for(list(customer_ids), f"{asof:%Y-%m-%d}")
    rows = rows.set_index("customer_id")
    text = pd.Series(risk_reason_text(rows, bundle, k, lang) if len(rows) else [], dtype="str")
    return text.set_axis(rows.index.astype("str")).reindex(pd.Index(customer_ids, dtype="str"))


def champion_reasons(
    cfg: ServingConfig, run: ScoringRun, customer_ids: Sequence[str], lang: Lang = "en"
) -> tuple[pd.Series | None, str]:
    """Reasons of these customers from the features stored by ``run``, under the current
    champion churn model, and a note saying which version explained them (or why none did)."""
    from scoring.champions import load_champions

    uri = cfg.resolved_tracking_uri()
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        return None, f"no reasons: no model registry at {uri} (train one with `churn train`)"
    try:
        champions = load_champions(cfg.models, uri)
    except BundleError as exc:
        return None, f"no reasons: {exc}"
    store = PredictionStore(cfg.resolved_store_url())
    try:
        reasons = stored_reasons(
            store, pd.Timestamp(run.asof), customer_ids, champions.churn, lang=lang
        )
    finally:
        store.close()
    words = catalogue("lists")
    note = words.t("reasons_by", lang, model=cfg.models.churn, version=champions.churn_version)
    if champions.churn_version != run.churn_model_version:
        note += words.t("reasons_other_version", lang, version=run.churn_model_version)
    return reasons, note


class DatasetCache:
    """The data set last loaded from each folder, loaded again when a file in it changes
    (so a service answering scorecards does not re-read an unchanged folder per request)."""

    def __init__(self, load: Callable[[Path], Dataset] = load_dataset, size: int = 2) -> None:
        self._load = load
        self._size = size
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[tuple, Dataset]] = {}

    @staticmethod
    def _signature(folder: Path) -> tuple:
        return tuple(
            (p.name, p.stat().st_mtime_ns, p.stat().st_size)
            for p in sorted(folder.iterdir())
            if p.is_file()
        )

    def __call__(self, folder: Path) -> Dataset:
        folder = Path(folder).resolve()
        signature = self._signature(folder)
        with self._lock:
            hit = self._cache.get(folder)
            if hit is not None and hit[0] == signature:
                return hit[1]
        ds = self._load(folder)
        with self._lock:
            self._cache.pop(folder, None)
            while len(self._cache) >= self._size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[folder] = (signature, ds)
        return ds

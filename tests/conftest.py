"""Suite-wide fixtures: every test session writes under its own CHURN_HOME, never the repo;
a small generated book with tiny LightGBM bundles (no MLflow) for the scoring tests; and, for the
slow tests, models trained by ``training.job`` into a tmp MLflow registry, ``churn score`` into a
tmp store and real ``bentoml serve`` processes on free loopback ports.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import yaml

from core.bundle import Calibrator, ModelBundle
from features.config import FeatureConfig
from features.dataset import Dataset
from features.pipeline.build import build_features
from features.synthetic.generator import generate, write_dataset
from scoring.champions import Champions
from scoring.config import ServingConfig, load_serving_config
from serving.launch import free_port, start_service, stop_service, wait_until_up


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a slow test first, each file's tests kept together and in order: the
    workers (``-n 2 --dist loadfile --no-loadscope-reorder``, as ``make test`` runs them) take
    files in this order, so the long ones start early instead of one of them running alone at
    the end while the other worker waits (xdist's own order is by test count)."""
    slow = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow)


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("churn-home")
    saved = {k: os.environ.get(k) for k in ("CHURN_HOME", "MLFLOW_TRACKING_URI", "CHURN_API_KEY")}
    os.environ["CHURN_HOME"] = str(home)
    for key in ("MLFLOW_TRACKING_URI", "CHURN_API_KEY"):
        os.environ.pop(key, None)
    yield home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


TRAIN_CUTOFF = "2024-03-01"
API_KEY = "test-key-5f1c-9d2e7a40"
START_TIMEOUT_S = 120


# ---- fast fixtures: data and tiny bundles ---------------------------------------------------


@pytest.fixture(scope="session")
def book() -> Dataset:
    return generate(400, seed=3).dataset


def _fit(frame: pd.DataFrame, kind: str, target: np.ndarray) -> ModelBundle:
    names = tuple(frame.attrs["feature_names"])
    cats = {
        c: tuple(str(v) for v in frame[c].cat.categories)
        for c in names
        if isinstance(frame[c].dtype, pd.CategoricalDtype)
    }
    x = pd.DataFrame(
        {
            n: frame[n].cat.codes.astype(float).where(frame[n].cat.codes >= 0)
            if n in cats
            else frame[n]
            for n in names
        }
    )
    params = {
        "objective": "binary" if kind == "churn" else "tweedie",
        "num_leaves": 7,
        "min_data_in_leaf": 10,
        "verbose": -1,
        "seed": 0,
        "deterministic": True,
        "num_threads": 1,
    }
    data = lgb.Dataset(x, target, categorical_feature=list(cats))
    booster = lgb.Booster(model_str=lgb.train(params, data, 25).model_to_string())
    calibrator = Calibrator((0.0, 0.3, 1.0), (0.02, 0.4, 0.95)) if kind == "churn" else Calibrator()
    meta = {"feature_config": FeatureConfig().model_dump(mode="json")}
    return ModelBundle(kind, booster, names, cats, calibrator, meta)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def champions(book: Dataset) -> Champions:
    """Churn and value bundles fitted on the book's labelled rows at TRAIN_CUTOFF."""
    frame = build_features(book, TRAIN_CUTOFF, FeatureConfig(), labels=True)
    churn = _fit(frame, "churn", frame["churned"].fillna(0).to_numpy())
    value = _fit(frame, "value", frame["future_value"].fillna(0).to_numpy())
    return Champions(churn, value, "3", "7")


@pytest.fixture(scope="session")
def scoring_frame(book: Dataset) -> pd.DataFrame:
    """Features of every customer active at the book's as-of date (what batch scoring scores)."""
    return build_features(book, book.as_of, FeatureConfig(), labels=False)


# ---- slow fixtures: registry, store and running services ------------------------------------


@dataclass(frozen=True)
class World:
    """A trained registry, a scored store and the config files the services read."""

    root: Path
    data: Path
    ds: Dataset
    asof: str
    tracking_uri: str
    config: Path  # champion models, auth off
    config_b: Path  # models that have no champion yet, auth on, polling
    csv: Path
    win_back: Path

    @property
    def cfg(self) -> ServingConfig:
        return load_serving_config(self.config)


def _write_config(path: Path, **serving: object) -> Path:
    path.write_text(yaml.safe_dump({"serving": serving, "training": {"seed": 1}}), "utf-8")
    return path


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from typer.testing import CliRunner

    from churn.cli import app, register_commands
    from training.config import (
        BoosterParams,
        ChurnModelConfig,
        SelectionConfig,
        SplitConfig,
        TrainingConfig,
        ValueModelConfig,
    )
    from training.job import train

    root = tmp_path_factory.mktemp("serving-world")
    generated = generate(2000, seed=11)
    write_dataset(generated, root / "data", "parquet")
    ds = generated.dataset
    uri = f"sqlite:///{root / 'mlflow.db'}"
    small = BoosterParams(max_rounds=60, num_leaves=7, min_data_in_leaf=30)
    cfg = TrainingConfig(
        split=SplitConfig(train_cutoffs=2),
        churn=ChurnModelConfig(params=small),
        value=ValueModelConfig(params=small),
        shap_sample=100,
        early_stopping_rounds=10,
        selection=SelectionConfig(validation_cutoffs=1, candidates=("lightgbm",)),  # not under test
    )
    result = train(ds, cfg, tracking_uri=uri, progress=False)
    assert {d.outcome for d in result.decisions.values()} == {"champion"}
    common = {
        "tracking_uri": uri,
        "store_url": f"sqlite:///{root / 'serving.db'}",
        "max_batch_size": 50,
        "max_body_bytes": 300_000,
        "body_timeout_s": 4,
        "header_timeout_s": 4,
        "top_k": 4,
    }
    config = _write_config(root / "serving.yaml", **common, poll_interval_s=0)
    config_b = _write_config(
        root / "serving_b.yaml",
        **common,
        poll_interval_s=0.5,
        models={"churn": "churn-model-b", "value": "value-model-b"},
    )
    asof = f"{ds.as_of:%Y-%m-%d}"
    csv = root / "at_risk.csv"
    register_commands()
    args = ["score", "--data", str(root / "data"), "--asof", asof, "--config", str(config)]
    win_back = root / "win_back.csv"
    run = CliRunner().invoke(app, [*args, "--out", str(csv), "--win-back-out", str(win_back)])
    assert run.exit_code == 0, run.output
    return World(root, root / "data", ds, asof, uri, config, config_b, csv, win_back)


@dataclass
class Service:
    """A running ``bentoml serve`` process and an HTTP client for it."""

    url: str
    client: httpx.Client
    log: Path


def _serve(world: World, config: Path, name: str, env: dict[str, str | None]) -> Iterator[Service]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = world.root / f"{name}.log"
    # a BentoML home of its own: BentoML clears and shares its metrics folder between services
    env = {**env, "BENTOML_HOME": str(world.root / f"bentoml-{name}")}
    proc = start_service(port, config, log, extra_env=env)
    try:
        wait_until_up(proc, url, START_TIMEOUT_S, log)
        with httpx.Client(base_url=url, timeout=30) as client:
            yield Service(url, client, log)
    finally:
        stop_service(proc)


@pytest.fixture(scope="session")
def api_key() -> str:
    return API_KEY


@pytest.fixture(scope="session")
def service(world: World) -> Iterator[Service]:
    """The service with champions loaded and no API key."""
    yield from _serve(world, world.config, "service", {"CHURN_API_KEY": None})


@pytest.fixture(scope="session")
def locked_service(world: World) -> Iterator[Service]:
    """The service with an API key, started before its models have a champion."""
    yield from _serve(world, world.config_b, "locked", {"CHURN_API_KEY": API_KEY})

"""MLflow at the edge: the tracking store, the experiment, and logging bundles as pyfunc models.

Bundles are logged as MLflow "models from code": a three-line script that builds
:class:`core.registry.BundlePyfunc` plus the bundle directory (LightGBM model text and JSON) as
an artifact, so nothing in a logged model is pickled.

A training run registers its models as one set: :func:`open_set` tags the run
``churn.set_complete=false`` before the first version is created and :func:`close_set` flips it
once every version is in, so a run killed in between leaves versions nothing loads or promotes,
and :func:`fail_unfinished_runs` marks such runs FAILED at the next training.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

from core import paths
from core.bundle import ARTIFACT_KEY, ModelBundle
from core.registry import (
    CUSTOMER_ID,
    PYFUNC_SCRIPT,
    SET_TAG,
    pyfunc_input_types,
    pyfunc_signature,
)

log = logging.getLogger(__name__)
_MLFLOW_GLOBALS = threading.RLock()
REQUIREMENTS = ("lightgbm", "mlflow", "numpy", "pandas", "pyyaml", "scikit-learn")


_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
KILL_ENV = "CHURN_TEST_KILL_AT"
"""Test-only: the name of a :func:`kill_point` at which training kills its own process (SIGKILL),
to prove the registry is all-or-nothing. Unset in production, where kill points do nothing."""


def kill_point(name: str) -> None:
    """Kill this process with SIGKILL here when ``CHURN_TEST_KILL_AT`` names this point (tests
    only; inert when the variable is unset)."""
    if os.environ.get(KILL_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def open_set() -> None:
    """Tag the active run as registering an unfinished set (before its first version exists)."""
    mlflow.set_tag(SET_TAG, "false")
    kill_point("set-open")


def close_set() -> None:
    """Mark the active run's set complete: one tag write makes all its versions usable."""
    mlflow.set_tag(SET_TAG, "true")
    kill_point("set-complete")


def fail_unfinished_runs(client: MlflowClient, experiment_id: str) -> list[str]:
    """End as FAILED the runs of the experiment that never finished registering their set (a
    killed ``churn train``); returns their ids."""
    runs = client.search_runs(
        [experiment_id], filter_string=f"tags.`{SET_TAG}` = 'false'", max_results=1000
    )
    failed = []
    for run in runs:
        if run.info.status == "RUNNING":
            client.set_terminated(run.info.run_id, status="FAILED")
            failed.append(run.info.run_id)
    return failed


@contextmanager
def using_store(uri: str) -> Iterator[None]:
    """Point MLflow's process-wide tracking and registry URIs at ``uri`` meanwhile, then restore
    them exactly: the module globals and the ``MLFLOW_*_URI`` variables ``set_tracking_uri`` writes.

    Training needs this for MLflow's fluent API (``start_run``, ``log_model`` and registering a
    logged model use the process-wide URIs whatever client they are called from). It is the only
    place the project sets them; the registry (:mod:`core.registry`) takes the URI on every call.
    ``set_tracking_uri`` writes ``MLFLOW_TRACKING_URI``, which :func:`core.paths.tracking_uri`
    reads, hence the exact restore.
    """
    from mlflow.tracking._model_registry import utils as registry
    from mlflow.tracking._tracking_service import utils as tracking

    with _MLFLOW_GLOBALS:
        saved = tracking._tracking_uri, registry._registry_uri
        saved_env = {k: os.environ.get(k) for k in _URI_VARIABLES}
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        try:
            yield
        finally:
            tracking._tracking_uri = saved[0]
            registry._registry_uri = saved[1]
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def ensure_experiment(client: MlflowClient, name: str, tracking_uri: str) -> str:
    """The experiment's id, creating it when absent.

    With a database store the artifact location is set explicitly under ``paths.artifact_root()``;
    MLflow would otherwise write artifacts relative to the working directory.
    """
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = None
    if not tracking_uri.startswith(("http://", "https://", "databricks")):
        root = paths.artifact_root() / name
        root.mkdir(parents=True, exist_ok=True)
        location = root.as_uri()
    return client.create_experiment(name, artifact_location=location)


def _requirements() -> list[str]:
    return [f"{pkg}=={version(pkg)}" for pkg in REQUIREMENTS]


def log_bundle(bundle: ModelBundle, example: pd.DataFrame, registered_name: str) -> tuple[str, str]:
    """Log a bundle to the active run as a pyfunc model with signature, input example and the
    input columns' types, and register it; returns (model URI, registered version).

    ``example`` holds the bundle's features (and ``customer_id``); the example logged is named
    and typed as the pyfunc takes it (:func:`core.registry.pyfunc_signature`).
    """
    inputs = bundle.pyfunc_input(example.head(5))
    if CUSTOMER_ID in example.columns:
        inputs.insert(0, CUSTOMER_ID, example[CUSTOMER_ID].head(5).astype(object).to_numpy())
    with tempfile.TemporaryDirectory() as tmp:
        bundle_dir = bundle.save(Path(tmp) / ARTIFACT_KEY)
        script = Path(tmp) / "bundle_model.py"
        script.write_text(PYFUNC_SCRIPT, encoding="utf-8")
        printed = io.StringIO()
        with contextlib.redirect_stderr(printed):  # MLflow prints registry news to stderr
            info = mlflow.pyfunc.log_model(
                name=f"{bundle.kind}_model",
                python_model=str(script),
                artifacts={ARTIFACT_KEY: str(bundle_dir)},
                signature=pyfunc_signature(bundle),
                input_example=inputs,
                registered_model_name=registered_name,
                pip_requirements=_requirements(),
                metadata={"kind": bundle.kind, "inputs": pyfunc_input_types(bundle)},
            )
    for line in printed.getvalue().splitlines():
        if line.strip():
            log.info("%s", line)
    return info.model_uri, str(info.registered_model_version)


def flat_params(prefix: str, value: Any) -> dict[str, str]:
    """Nested config as dotted parameter names (MLflow params are flat strings)."""
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(flat_params(f"{prefix}.{k}" if prefix else str(k), v))
        return out
    return {prefix: json.dumps(value) if isinstance(value, list | tuple) else str(value)}


_UNSAFE_METRIC = re.compile(r"[^A-Za-z0-9_\-. :/]")


def log_evaluation_metrics(
    churn: dict[str, dict[str, float]], value: dict[str, dict[str, float]]
) -> None:
    """The models' and references' metrics on the active run. Call it after logging the models:
    MLflow copies every run metric logged before a model onto that model, one query per metric."""
    mlflow.log_metrics({**metric_dict("churn", churn), **metric_dict("value", value)})


def metric_dict(kind: str, table: dict[str, dict[str, float]]) -> dict[str, float]:
    """``{kind}/{scorer}/{metric}`` -> value, finite values only; characters MLflow refuses in
    metric names (rule names may hold commas) become ``_``."""
    return {
        _UNSAFE_METRIC.sub("_", f"{kind}/{scorer}/{name}"): float(v)
        for scorer, metrics in table.items()
        for name, v in metrics.items()
        if v is not None and np.isfinite(v)
    }

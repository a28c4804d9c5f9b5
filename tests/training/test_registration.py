"""All-or-nothing registration: a real ``churn train`` killed (SIGKILL) at each point of its
registration leaves the previous champions and either no usable new version or the complete new
set; the next ``churn train`` marks the unfinished runs FAILED and says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from core.registry import (
    CHAMPION,
    SET_TAG,
    RegistryError,
    alias_version,
    make_champion,
    promote_pair,
    set_complete,
)
from features.synthetic.generator import generate, write_dataset
from scoring.champions import alias_pair
from scoring.config import ModelRefs
from training.tracking import KILL_ENV

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
MODELS = ("churn-model", "value-model")
SMALL = {"max_rounds": 30, "num_leaves": 7, "min_data_in_leaf": 30}


def _train(tmp: Path, uri: str, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHURN_HOME": str(tmp / "home"), "PYTHONPATH": str(ROOT)}
    env.pop(KILL_ENV, None)
    if kill_at:
        env[KILL_ENV] = kill_at
    args = [sys.executable, "-m", "churn", "train", "--data", str(tmp / "data"),
            "--config", str(tmp / "training.yaml"), "--tracking-uri", uri]  # fmt: skip
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _versions(client: MlflowClient, name: str) -> list[str]:
    return sorted((mv.version for mv in client.search_model_versions(f"name = '{name}'")), key=int)


def test_a_killed_train_leaves_the_champions_or_the_whole_new_set(tmp_path: Path) -> None:
    write_dataset(generate(300, seed=5), tmp_path / "data", fmt="csv")
    settings = {
        "training": {
            "split": {"train_cutoffs": 2},
            "early_stopping_rounds": 5,
            "shap_sample": 100,
            "selection": {"validation_cutoffs": 1, "candidates": ["lightgbm"]},
            "churn": {"params": SMALL},
            "value": {"params": SMALL},
        }
    }
    (tmp_path / "training.yaml").write_text(yaml.safe_dump(settings), "utf-8")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = _train(tmp_path, uri)
    assert first.returncode == 0, first.stderr
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    champions = {m: alias_version(client, m, CHAMPION) for m in MODELS}
    assert champions == {m: "1" for m in MODELS}

    held: dict[str, dict[str, list[str]]] = {}
    said = 0  # each train marks the run the previous kill left unfinished FAILED, and says so
    for point in ("set-open", "registered-1", "registered-2", "set-complete"):
        before = {m: _versions(client, m) for m in MODELS}
        killed = _train(tmp_path, uri, point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr[-2000:])
        said += killed.stderr.count("marked FAILED")
        assert {m: alias_version(client, m, CHAMPION) for m in MODELS} == champions, point
        new = {m: [v for v in _versions(client, m) if v not in before[m]] for m in MODELS}
        held[point] = new
        for model, versions in new.items():
            for v in versions:
                mv = client.get_model_version(model, v)
                if point == "set-complete":
                    assert set_complete(client, mv), (point, model, v)
                    continue
                assert not set_complete(client, mv), (point, model, v)
                with pytest.raises(RegistryError, match="did not finish registering"):
                    make_champion(client, model, v, "test")
                with pytest.raises(RegistryError, match="did not finish registering"):
                    promote_pair(client, model, v, "test")
    print("kill point -> new versions:", held)
    assert held["set-open"] == {m: [] for m in MODELS}
    assert [len(v) for v in held["registered-1"].values()] == [1, 0]  # churn only: the bug
    assert [len(v) for v in held["registered-2"].values()] == [1, 1]
    assert [len(v) for v in held["set-complete"].values()] == [1, 1]

    # the service refuses an alias moved by hand onto an unfinished version
    (orphan,) = held["registered-1"]["churn-model"]
    client.set_registered_model_alias("churn-model", CHAMPION, orphan)
    pair = alias_pair(ModelRefs(), uri)
    assert "unfinished set" in (pair.mismatch(ModelRefs()) or "")
    client.set_registered_model_alias("churn-model", CHAMPION, champions["churn-model"])

    unfinished = [
        r.info.run_id
        for r in client.search_runs(
            [e.experiment_id for e in client.search_experiments()],
            filter_string=f"tags.`{SET_TAG}` = 'false'",
        )
    ]
    assert len(unfinished) == 3
    last = _train(tmp_path, uri)
    assert last.returncode == 0, last.stderr
    said += last.stderr.count("marked FAILED")
    assert said == 3  # set-open's, registered-1's and registered-2's runs, once each
    assert {client.get_run(r).info.status for r in unfinished} == {"FAILED"}

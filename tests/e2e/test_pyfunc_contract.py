"""Registered models score what the product writes: from a fresh process,
``mlflow.pyfunc.load_model("models:/...@champion").predict(frame)`` on the Parquet that
``churn features`` writes (pandas ``category`` and ``str`` columns) and on a snapshot CSV as read by
``pd.read_csv`` (its own column names, ints, floats, blanks, the id and the label) returns
``customer_id`` and the prediction, row-aligned and equal to the bundle's own predictions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from churn.cli import register_commands
from core.bundle import Calibrator, ModelBundle, encode_features
from core.registry import CHAMPION, alias_version, client_for, load_registered_bundle, make_champion
from features.feature_io import read_features
from features.synthetic.generator import generate, write_dataset
from training.snapshot.job import read_snapshot_file
from training.tracking import ensure_experiment, log_bundle, using_store

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CUTOFF = "2024-03-01"
SNAPSHOT = "acme customers.csv"  # registered as acme-customers-churn-model / -value-model
FAST = {
    "training": {
        "num_threads": 1,
        "early_stopping_rounds": 10,
        "churn": {"params": {"max_rounds": 40, "num_leaves": 7, "min_data_in_leaf": 20}},
        "value": {"params": {"max_rounds": 40, "num_leaves": 7, "min_data_in_leaf": 20}},
    },
    "snapshot": {"split": {"folds": 5, "inner_folds": 3, "churn_candidates": []}},
}

SCRIPT = """
import sys
import mlflow
import pandas as pd

features, csv, out = sys.argv[1:4]
frame = pd.read_parquet(features)
churn = mlflow.pyfunc.load_model("models:/churn-model@champion")
churn.predict(frame).to_parquet(f"{out}/features.parquet")
as_text = {c: "str" for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)}
churn.predict(frame.astype(as_text)).to_parquet(f"{out}/features_str.parquet")
snapshot = pd.read_csv(csv)
for kind in ("churn", "value"):
    model = mlflow.pyfunc.load_model(f"models:/acme-customers-{kind}-model@champion")
    model.predict(snapshot).to_parquet(f"{out}/snapshot_{kind}.parquet")
"""


def _snapshot_csv(path: Path, n: int = 700) -> Path:
    """A churn export as a CRM writes it: spaces in names, ints, a blank number, junk columns."""
    rng = np.random.default_rng(5)
    usage = rng.gamma(2.0, 50.0, n)
    complaints = rng.poisson(0.5, n)
    plan = rng.choice(["basic", "plus", "pro"], n)
    spend = rng.gamma(2.0, 30.0, n) * np.where(plan == "pro", 2.0, 1.0)
    logit = -1.5 + 2.5 * ((complaints > 0) & (usage < 60)) + 1.0 * (plan == "basic")
    frame = pd.DataFrame(
        {
            "Customer ID": [f"K{i:05d}" for i in range(n)],
            "Exited": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
            "Monthly Usage": usage.round(1),
            "NumComplaints": complaints,
            "Plan Type": plan,
            "Spend": spend.round(2),
            "Contact Cost": rng.uniform(1, 5, n).round(2),
            "Country": "NL",
            "Email": [f"u{i}@example.org" for i in range(n)],
        }
    )
    frame.loc[[3, 40], "Monthly Usage"] = np.nan
    frame.to_csv(path, index=False)
    return path


def _tiny_bundle(frame: pd.DataFrame) -> ModelBundle:
    """A small churn bundle on the features ``churn features`` wrote."""
    names = tuple(frame.attrs["feature_names"])
    cats = {
        c: tuple(str(v) for v in frame[c].cat.categories)
        for c in names
        if isinstance(frame[c].dtype, pd.CategoricalDtype)
    }
    x = encode_features(frame, names, cats)
    params = {"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 10, "verbose": -1}
    params |= {"seed": 0, "deterministic": True, "num_threads": 1}
    data = lgb.Dataset(x, frame["churned"].fillna(0).to_numpy(), categorical_feature=list(cats))
    booster = lgb.train(params, data, 20)
    calibrator = Calibrator((0.0, 0.3, 1.0), (0.02, 0.4, 0.95))
    return ModelBundle("churn", booster, names, cats, calibrator, {"run_id": "test"})


def _churn(*args: str):
    return CliRunner().invoke(register_commands(), list(args))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("pyfunc")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHURN_HOME", str(root / "home"))
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.delenv("MLFLOW_REGISTRY_URI", raising=False)
        write_dataset(generate(300, seed=3), root / "data")
        features = root / "features.parquet"
        run = _churn(
            "features", "--data", str(root / "data"), "--cutoff", CUTOFF, "--out", str(features)
        )
        assert run.exit_code == 0, run.output
        bundle = _tiny_bundle(read_features(features))
        client = client_for(uri)
        with using_store(uri):
            experiment = ensure_experiment(client, "pyfunc-contract", uri)
            with mlflow.start_run(experiment_id=experiment):
                _, version = log_bundle(bundle, pd.read_parquet(features), "churn-model")
        make_champion(client, "churn-model", version, "pyfunc contract test")
        csv = _snapshot_csv(root / SNAPSHOT)
        config = root / "fast.yaml"
        config.write_text(yaml.safe_dump(FAST), encoding="utf-8")
        snap = _churn(
            "train-snapshot",
            str(csv),
            "--id",
            "Customer ID",
            "--label",
            "Exited",
            "--value",
            "Spend",
            "--cost",
            "Contact Cost",
            "--config",
            str(config),
        )
        assert snap.exit_code == 0, snap.output
        out = root / "out"
        out.mkdir()
        env = {k: v for k, v in os.environ.items() if k != "MLFLOW_REGISTRY_URI"}
        fresh = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(features), str(csv), str(out)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert fresh.returncode == 0, fresh.stderr[-3000:]
        yield {
            "uri": uri,
            "features": features,
            "csv": csv,
            "out": out,
            "bundle": bundle,
            "cli": snap.output,
        }


def test_churn_model_scores_the_features_parquet_in_a_fresh_process(world) -> None:
    frame = pd.read_parquet(world["features"])
    assert isinstance(frame["segment"].dtype, pd.CategoricalDtype)
    expected = world["bundle"].predict(frame)
    for name in ("features.parquet", "features_str.parquet"):
        out = pd.read_parquet(world["out"] / name)
        assert list(out.columns) == ["customer_id", "churn_probability"]
        assert list(out["customer_id"]) == list(frame["customer_id"])
        np.testing.assert_allclose(out["churn_probability"].to_numpy(), expected, rtol=0, atol=0)


def test_train_snapshot_registers_champions_in_the_environments_store(world) -> None:
    client = client_for(world["uri"])
    for kind in ("churn", "value"):
        assert alias_version(client, f"acme-customers-{kind}-model", CHAMPION) == "1"
    cli = world["cli"]
    assert "every value differs: an id or free text" in cli  # Email
    assert "one value only" in cli  # Country
    assert "registered acme-customers-churn-model v1 as champion" in cli


def test_snapshot_models_score_the_csv_columns_in_a_fresh_process(world) -> None:
    data, _ = read_snapshot_file(
        world["csv"], label="Exited", id_column="Customer ID", value="Spend", cost="Contact Cost"
    )
    assert data.report.rejected == 0
    for kind, column in (("churn", "churn_probability"), ("value", "predicted_value")):
        bundle, _ = load_registered_bundle(f"acme-customers-{kind}-model", CHAMPION, world["uri"])
        out = pd.read_parquet(world["out"] / f"snapshot_{kind}.parquet")
        assert list(out.columns) == ["customer_id", column]
        assert list(out["customer_id"]) == list(data.frame["customer_id"])
        np.testing.assert_allclose(out[column].to_numpy(), bundle.predict(data.frame), rtol=1e-12)
    cost = bundle.metadata["contact_cost"]
    assert cost["column"] == "Contact Cost" and 2.5 < cost["mean"] < 3.5


def test_the_printed_snippet_works_from_a_fresh_shell_and_writes_nothing_there(
    world, tmp_path: Path
) -> None:
    # given the lines train-snapshot printed for its churn champion
    lines = world["cli"].split("acme-customers-churn-model v1 as champion")[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "import mlflow")
    snippet = "\n".join(line.strip() for line in lines[start : start + 4])
    assert world["uri"] in snippet
    # when they run in an empty folder, with no MLflow settings in the environment
    script = f"import pandas as pd\nframe = pd.read_csv({str(world['csv'])!r})\n{snippet}\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.pop("CHURN_HOME", None)
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    # then they score and leave the folder empty (no stray mlflow.db)
    assert run.returncode == 0, run.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []

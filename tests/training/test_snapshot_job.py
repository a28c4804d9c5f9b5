"""The snapshot job on the Iranian data set: registered as champion, reloadable, better than rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.registry import (
    CHAMPION,
    alias_version,
    client_for,
    load_registered_bundle,
    pyfunc_predict,
)
from training.config import TrainingConfig
from training.snapshot.job import SnapshotJobConfig, load_snapshot, train_snapshot
from training.snapshot.models import LOGISTIC

DATA = Path(__file__).parents[2].parent / "shared" / "data" / "iranian_churn"


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):
    if not DATA.is_dir():
        pytest.skip(f"Iranian churn data set not found at {DATA} (see ../shared/data)")
    home = tmp_path_factory.mktemp("churn_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHURN_HOME", str(home))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield train_snapshot(
            "iranian", DATA, TrainingConfig(num_threads=1), SnapshotJobConfig(), progress=False
        )


def test_registered_as_champion_under_its_own_names(result) -> None:
    client = client_for(result.tracking_uri)
    assert "churn_home" in result.tracking_uri
    assert set(result.versions) == {"iranian-churn-model", "iranian-value-model"}
    for model, version in result.versions.items():
        assert alias_version(client, model, CHAMPION) == version
        assert result.decisions[model].outcome == "champion"
    assert client.search_registered_models(filter_string="name = 'churn-model'") == []


def test_registered_bundles_reproduce_holdout_predictions(result) -> None:
    holdout = result.fit.holdout
    churn, _ = load_registered_bundle("iranian-churn-model", CHAMPION, result.tracking_uri)
    value, _ = load_registered_bundle("iranian-value-model", CHAMPION, result.tracking_uri)
    # the churn model is refitted on every row of the file (snapshot.refit_all, on by default)
    # with the evaluated model's shape and calibrator: the one the holdout scored, refitted
    evaluated = result.fit.churn
    assert churn.metadata["refit_rows"] == 3150
    assert churn.metadata["shape_index"] == evaluated.metadata["shape_index"]
    np.testing.assert_array_equal(
        evaluated.predict(holdout), result.evaluation.churn_test["p_churn"].to_numpy()
    )
    np.testing.assert_array_equal(
        value.predict(holdout), result.evaluation.value_test["value"].to_numpy()
    )


def test_holdout_beats_baselines(result) -> None:
    churn = result.evaluation.churn
    auc = churn["lightgbm"]["roc_auc"]
    assert len(result.fit.holdout) == pytest.approx(3150 * 0.2, rel=0.05)
    assert auc >= churn[LOGISTIC]["roc_auc"] - 0.01
    assert auc >= churn["complained"]["roc_auc"] + 0.1
    value = result.evaluation.value
    assert value["lightgbm"]["spearman"] > value["carry_forward"]["spearman"]


def test_registered_models_read_the_csv_as_pandas_reads_it(result) -> None:
    """The pyfunc takes the file's own columns (``Call  Failure``, ints, the label ignored)."""
    data, _ = load_snapshot("iranian", DATA)
    raw = pd.read_csv(DATA / "Customer_Churn.csv")
    for model, column in (
        ("iranian-churn-model", "churn_probability"),
        ("iranian-value-model", "predicted_value"),
    ):
        bundle, _ = load_registered_bundle(model, CHAMPION, result.tracking_uri)
        assert "Call  Failure" in bundle.input_names
        out = pyfunc_predict(bundle, raw)
        assert list(out.columns) == [column]
        np.testing.assert_array_equal(out[column].to_numpy(), bundle.predict(data.frame))

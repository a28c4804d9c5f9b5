"""End to end with a real MLflow store: logging, registry by alias, the promotion gate, and the
``churn train`` / ``promote`` / ``rollback`` commands.

The store is built once per module (and per xdist worker); tests only read what the fixture
recorded or, for promote/rollback, what they changed themselves, so their order does not matter.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pytest
from typer.testing import CliRunner

from churn.cli import register_commands
from core.bundle import ModelBundle
from core.registry import (
    CHALLENGER,
    CHAMPION,
    alias_version,
    champion_history,
    client_for,
    load_registered_bundle,
)
from features.synthetic.generator import generate, write_dataset
from training.config import TrainingConfig
from training.job import TrainResult, train
from training.tracking import using_store
from training.value_model import value_rows

pytestmark = pytest.mark.slow

WORSE = """\
training:
  num_threads: 1
  churn: {params: {num_leaves: 2, max_rounds: 2}}
  selection: {validation_cutoffs: 1, candidates: [lightgbm]}
"""  # a worse churn model beside a value model as good as the champion's (only the crippled
# plain candidate: the selection would otherwise choose a better-shaped one)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> dict:
    """One store: a first training run (both v1 champions), then `churn train` with a
    deliberately worse configuration on the same data (v2)."""
    home = tmp_path_factory.mktemp("home")
    uri = f"sqlite:///{home / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHURN_HOME", str(home))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        data = generate(2500, seed=11)
        folder = home / "data"
        write_dataset(data, folder)
        from features.loaders import load_dataset
        from training.config import SelectionConfig, TrainingConfig

        quick = SelectionConfig(validation_cutoffs=1, candidates=("lightgbm",))
        first = train(
            load_dataset(folder),
            TrainingConfig(num_threads=1, selection=quick),
            tracking_uri=uri,
            progress=False,
        )
        config = home / "worse.yaml"
        config.write_text(WORSE + "kpi: {ignored: true}\n")
        cli = CliRunner().invoke(
            register_commands(),
            ["train", "--data", str(folder), "--config", str(config), "--tracking-uri", uri],
        )
    client = client_for(uri)
    aliases = {
        name: (alias_version(client, name, CHAMPION), alias_version(client, name, CHALLENGER))
        for name in ("churn-model", "value-model")
    }
    return {"home": home, "uri": uri, "first": first, "cli": cli, "aliases": aliases}


def test_first_run_registers_both_models_as_champions(store):
    first: TrainResult = store["first"]
    # the generated data has contacts: the run also registers the uplift model
    assert first.versions == {"churn-model": "1", "value-model": "1", "uplift-model": "1"}
    assert all(d.outcome == "champion" for d in first.decisions.values())
    client = client_for(store["uri"])
    for name in first.versions:
        assert alias_version(client, name, CHAMPION) == "1"


def test_run_reports_every_phase_it_timed(store):
    """``churn train -v`` and the training benchmark read the same phases: every step of the
    job, the value references included, in order, the models' own timings among them."""
    first: TrainResult = store["first"]
    assert list(first.steps) == [
        "features", "churn model", "value model", "evaluation", "value refs", "uplift model",
        "mlflow",
    ]  # fmt: skip
    assert all(s >= 0 for s in first.steps.values())
    models = {f"{k} model" if k != "evaluation" else k: v for k, v in first.trained.timings.items()}
    assert {k: first.steps[k] for k in models} == models


def test_run_logs_metrics_plots_card_and_artifacts_under_home(store):
    first: TrainResult = store["first"]
    client = client_for(store["uri"])
    run = client.get_run(first.run_id)
    m = run.data.metrics
    for scorer in ("lightgbm", "recency_rule", "rfm_score", "logistic_regression"):
        assert f"churn/{scorer}/roc_auc" in m
    assert "value/carry_forward/spearman" in m
    assert run.data.tags["contract_version"]
    assert "T+90d" in run.data.tags["label_definition"]
    assert run.data.params["training.seed"] == "42"
    assert Path(run.info.artifact_uri.removeprefix("file://")).is_relative_to(store["home"])
    files = {f.path for f in client.list_artifacts(first.run_id)}
    files |= {
        f.path for d in ("plots", "promotion") for f in client.list_artifacts(first.run_id, d)
    }
    for expected in (
        "model_card.md",
        "features.json",
        "label_definition.json",
        "config.yaml",
        "plots/churn_shap_summary.png",
        "plots/churn_calibration.png",
        "plots/churn_gains_lift.png",
        "plots/churn_feature_importance.png",
        "plots/value_deciles.png",
        "promotion/churn-model.json",
    ):
        assert expected in files, expected
    card = Path(
        mlflow.artifacts.download_artifacts(
            run_id=first.run_id, artifact_path="model_card.md", tracking_uri=store["uri"]
        )
    ).read_text()
    assert "logistic_regression" in card and "Label definition" in card
    assert "churn-model: v1 -> champion" in card


def test_champion_loaded_by_alias_reproduces_test_predictions_exactly(store):
    first: TrainResult = store["first"]
    test = first.test_frame[first.test_frame["churned"].notna()]
    # the registered model is the chosen candidate refitted on every labelled cutoff; the test
    # metrics are the same candidate's as fitted on the test fold (out of sample)
    expected = first.trained.churn.predict(test)
    evaluated = first.trained.evaluated["churn"].predict(test)
    assert np.array_equal(evaluated, first.evaluation.churn_test["p_churn"].to_numpy())
    bundle, version = load_registered_bundle("churn-model", "champion", store["uri"])
    assert version == "1"
    assert np.array_equal(bundle.predict(test), expected)
    with using_store(store["uri"]):
        model = mlflow.pyfunc.load_model("models:/churn-model@champion")
    assert isinstance(model.unwrap_python_model().bundle, ModelBundle)
    via_pyfunc = model.predict(bundle.pyfunc_input(test))["churn_probability"].to_numpy()
    assert np.array_equal(via_pyfunc, expected)
    value, _ = load_registered_bundle("value-model", "champion", store["uri"])
    retained = value_rows(test, TrainingConfig())  # the value model is tested on the stayers
    assert np.array_equal(value.predict(retained), first.trained.value.predict(retained))
    assert np.array_equal(
        first.trained.evaluated["value"].predict(retained),
        first.evaluation.value_test["value"].to_numpy(),
    )


def test_logged_models_hold_no_pickles(store):
    first: TrainResult = store["first"]
    location = client_for(store["uri"]).get_model_version_download_uri("churn-model", "1")
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=location))
    names = {p.name for p in local.rglob("*") if p.is_file()}
    assert {"model.txt", "bundle.json", "MLmodel"} <= names
    assert not [n for n in names if n.endswith((".pkl", ".pickle", ".joblib", ".cloudpickle"))]
    mlmodel = (local / "MLmodel").read_text()
    assert "signature" in mlmodel and "input_example" in mlmodel
    assert first.run_id in mlmodel


def test_gate_refuses_a_worse_model_and_logs_why(store):
    assert store["cli"].exit_code == 0, store["cli"].output
    client = client_for(store["uri"])
    # aliases as the worse run left them (a later test moves them by hand)
    assert store["aliases"] == {"churn-model": ("1", "2"), "value-model": ("1", "2")}
    v2 = client.get_model_version("churn-model", "2")
    assert "worse than champion v1" in v2.tags["challenger_reason"]
    assert "roc_auc" in v2.tags["challenger_reason"]
    run = client.get_run(v2.run_id)
    assert run.data.tags["gate.churn-model"] == "v2 -> challenger"
    decision = json.loads(
        Path(
            mlflow.artifacts.download_artifacts(
                run_id=v2.run_id,
                artifact_path="promotion/churn-model.json",
                tracking_uri=store["uri"],
            )
        ).read_text()
    )
    assert decision["outcome"] == "challenger" and decision["champion_version"] == "1"
    failed = {c["metric"] for c in decision["comparisons"] if not c["passed"]}
    assert "roc_auc_live" in failed  # the gate decides on the customers not lapsed at the cutoff
    roc = next(c for c in decision["comparisons"] if c["metric"] == "roc_auc_live")
    assert roc["new"] < roc["champion"] - 0.005


def test_a_passing_model_stays_challenger_when_its_pair_fails(store):
    value_v2 = client_for(store["uri"]).get_model_version("value-model", "2")
    assert "not worse than champion v1" in value_v2.tags["challenger_reason"]
    assert "kept as challenger: churn-model v2 did not pass" in value_v2.tags["challenger_reason"]


def test_promote_and_rollback_record_their_reasons(store):
    app, uri = register_commands(), store["uri"]
    runner = CliRunner()
    done = runner.invoke(
        app,
        [
            "promote",
            "--model",
            "churn-model",
            "--version",
            "2",
            "--reason",
            "A/B test won",
            "--tracking-uri",
            uri,
        ],
    )
    assert done.exit_code == 0, done.output
    client = client_for(uri)
    assert alias_version(client, "churn-model", CHAMPION) == "2"
    assert alias_version(client, "churn-model", CHALLENGER) is None
    v2 = client.get_model_version("churn-model", "2")
    assert v2.tags["promoted_reason"] == "manual: A/B test won"
    assert "A/B test won" in v2.description
    assert champion_history(client, "churn-model") == ["1", "2"]

    back = runner.invoke(
        app, ["rollback", "--model", "churn-model", "--reason", "complaints", "--tracking-uri", uri]
    )
    assert back.exit_code == 0, back.output
    assert alias_version(client, "churn-model", CHAMPION) == "1"
    assert client.get_model_version("churn-model", "2").tags["rolled_back_reason"] == "complaints"
    assert (
        "rollback from v2" in client.get_model_version("churn-model", "1").tags["restored_reason"]
    )

    again = runner.invoke(
        app, ["rollback", "--model", "churn-model", "--reason", "x", "--tracking-uri", uri]
    )
    assert again.exit_code != 0
    assert "first champion" in str(again.exception)


def test_promote_unknown_version_is_a_clear_error(store):
    result = CliRunner().invoke(
        register_commands(),
        [
            "promote",
            "--model",
            "churn-model",
            "--version",
            "99",
            "--reason",
            "x",
            "--tracking-uri",
            store["uri"],
        ],
    )
    assert result.exit_code != 0
    assert "no version 99" in str(result.exception)

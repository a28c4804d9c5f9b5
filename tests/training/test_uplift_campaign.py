"""``churn train-uplift`` on small generated campaigns: bad input is refused with one line naming
the column; a real run registers ``<name>-uplift-model@champion`` whose pyfunc reads the file's
own columns and ranks the customers the campaign moves first; a leaking column is reported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from churn.cli import register_commands
from training.uplift.campaign import leak_warnings, read_campaign_file

ROWS = 3000


def campaign(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """Three arms; the e-mail raises the visit rate of young customers only (``age < 40``)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, rows)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    arm = rng.choice(["mail A", "mail B", "none"], rows)
    mailed = arm != "none"
    p = 0.15 + 0.05 * (plan == "pro") + np.where(mailed & (age < 40), 0.35, 0.0)
    visit = (rng.random(rows) < p).astype(int)
    spend = visit * rng.gamma(2.0, 20.0, rows)
    return pd.DataFrame(
        {
            "cust": [f"c{i:05d}" for i in range(rows)],
            "age": age,
            "plan": plan,
            "segment": arm,
            "visit": visit,
            "spend": spend.round(2),
            "bought": np.where(visit == 1, "yes", "no"),
        }
    )


@pytest.fixture(scope="module")
def csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("campaign") / "spring-mail.csv"
    campaign().to_csv(path, index=False)
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(register_commands(), ["train-uplift", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, " ".join(result.output.split())


@pytest.mark.parametrize(
    ("frame", "args", "message"),
    [
        (
            campaign().assign(segment="none"),
            ("--treatment", "segment", "--outcome", "visit"),
            "treatment column 'segment' holds one value only",
        ),
        (
            campaign(),
            ("--treatment", "segment", "--control", "nobody", "--outcome", "visit"),
            "--control 'nobody' is not a value of treatment column 'segment'",
        ),
        (
            campaign()
            .assign(visit=lambda f: np.where(f["visit"] == 1, "high", "low?"))
            .assign(visit=lambda f: f["visit"].where(f.index % 3 > 0, "mid")),
            ("--treatment", "segment", "--control", "none", "--outcome", "visit"),
            "outcome column 'visit' is neither binary",
        ),
        (
            campaign(600),
            ("--treatment", "segment", "--control", "none", "--outcome", "visit"),
            "treatment column 'segment': arm",
        ),
        (
            campaign(),
            (
                "--treatment",
                "segment",
                "--outcome",
                "visit",
                "--arm",
                "mail C",
                "--control",
                "none",
            ),
            "--arm 'mail C' is not a treated value of treatment column 'segment'",
        ),
        (
            campaign(),
            ("--treatment", "segment", "--outcome", "visit", "--drop", "gone"),
            "missing column(s) 'gone'",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_column(
    tmp_path: Path, frame: pd.DataFrame, args: tuple[str, ...], message: str
):
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    code, output = _run(str(path), *args)
    assert code == 2 and message in output and "Traceback" not in output, output


def test_a_column_that_gives_the_outcome_away_is_reported(csv: Path):
    c = read_campaign_file(csv, treatment="segment", outcome="visit", id_column="cust")
    warnings = " ".join(leak_warnings(c))
    assert "'bought'" in warnings and "'spend'" in warnings and "'age'" not in warnings
    clean = read_campaign_file(
        csv, treatment="segment", outcome="visit", id_column="cust", drop=("spend", "bought")
    )
    assert leak_warnings(clean) == [] and clean.treatment["control"] == "none"
    assert set(clean.features) == {"age", "plan"} and clean.outcome_kind == "binary"


def test_train_uplift_registers_a_model_that_reads_the_files_columns(
    csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.chdir(tmp_path)
    before = set(os.listdir(tmp_path))
    code, output = _run(
        str(csv),
        "--treatment", "segment", "--outcome", "visit", "--id", "cust",
        "--drop", "spend", "--drop", "bought", "--tracking-uri", uri,
    )  # fmt: skip
    assert code == 0, output
    assert "registered spring-mail-uplift-model v1 as champion" in output
    for ranking in ("X-learner", "two models", "transformed outcome (linear)", "random"):
        assert ranking in output
    assert "load_model('models:/spring-mail-uplift-model@champion')" in output
    assert set(os.listdir(tmp_path)) - before <= {"mlflow.db", "mlartifacts"}
    client = mlflow.MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs(
        [e.experiment_id for e in client.search_experiments() if e.name != "Default"]
    )
    others = {"x", "t", "to", "linear"} - {run.data.params["learner"]}
    rankings = {m.split(".")[0] for m in run.data.metrics}
    assert rankings == {"model", "random", *others}  # the chosen model's rows too
    # a fresh interpreter loads it and scores the file as it is (treatment and outcome ignored)
    script = (
        "import mlflow, pandas as pd, sys; mlflow.set_tracking_uri(sys.argv[1]); "
        "m = mlflow.pyfunc.load_model('models:/spring-mail-uplift-model@champion'); "
        "m.predict(pd.read_csv(sys.argv[2])).to_csv(sys.argv[3], index=False)"
    )
    out = tmp_path / "scores.csv"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    subprocess.run([sys.executable, "-c", script, uri, str(csv), str(out)], check=True, env=env)
    scores = pd.read_csv(out)
    frame = pd.read_csv(csv)
    assert list(scores.columns) == ["customer_id", "uplift"] and len(scores) == len(frame)
    assert (scores["customer_id"] == frame["cust"]).all()
    young = frame["age"] < 40
    assert scores["uplift"][young].mean() > scores["uplift"][~young].mean() + 0.15
    # churn campaign --by uplift --uplift-model: scored on the customers table's own columns
    from churn.commands._inputs import champion_effects
    from features.synthetic.generator import generate
    from kpi.config import KpiError

    ds = generate(300, seed=1).dataset
    customers = ds.tables["customers"]
    customers["age"] = np.where(np.arange(len(customers)) % 2 == 0, 25, 60)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    name = "spring-mail-uplift-model"
    effect, note = champion_effects(ds, ds.as_of, None, None, True, model_name=name)
    assert note == f"uplift from {name} v1" and len(effect) == len(customers)
    age = customers.set_index(customers["customer_id"].astype("str"))["age"][effect.index]
    assert effect[age == 25].mean() > effect[age == 60].mean() + 0.15
    ds.tables["customers"] = customers.drop(columns="age")
    with pytest.raises(KpiError, match="customers table cannot be scored.*age"):
        champion_effects(ds, ds.as_of, None, None, True, model_name=name)

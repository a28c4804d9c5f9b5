"""Drift injected by the demo generator: off by default (the same seed gives the same data), and
when asked, it changes what it says it changes from its date on and records it in the truth."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import churn.commands.generate as generate_command
from features.loaders import load_dataset
from features.synthetic.drift import DRIFT_FILE, DriftConfig
from features.synthetic.generator import GeneratorConfig, GeneratorError, generate

N, SEED = 600, 5
START = date(2023, 7, 1)


def _app() -> typer.Typer:
    app = typer.Typer()
    generate_command.register(app)
    app.command("noop")(lambda: None)  # a second command keeps "generate" a subcommand
    return app


@pytest.fixture(scope="module")
def plain():
    return generate(N, SEED)


def drifted(kind: str, **kw) -> object:
    return generate(N, SEED, GeneratorConfig(drift=DriftConfig(kind=kind, start=START, **kw)))


def test_drift_is_off_by_default_and_the_cli_writes_the_same_data(plain, tmp_path):
    assert GeneratorConfig().drift is None and plain.drift is None
    run = CliRunner().invoke(
        _app(), ["generate", "--customers", str(N), "--seed", str(SEED), "--out", str(tmp_path)]
    )
    assert run.exit_code == 0, run.output
    assert not (tmp_path / "_truth" / DRIFT_FILE).exists()
    loaded = load_dataset(tmp_path)
    for name, frame in plain.dataset.tables.items():
        pd.testing.assert_frame_equal(
            loaded.tables[name].reset_index(drop=True),
            frame.reset_index(drop=True),
            check_dtype=False,
            check_categorical=False,
        )


def test_price_drift_scales_amounts_from_its_date_only(plain):
    got = drifted("price", strength=0.5)
    before = plain.dataset.tables["transactions"]
    after = got.dataset.tables["transactions"]
    early_b, early_a = before[before.ts < "2023-07-01"], after[after.ts < "2023-07-01"]
    np.testing.assert_allclose(early_a["amount"].to_numpy(), early_b["amount"].to_numpy())
    late_b, late_a = before[before.ts >= "2023-07-01"], after[after.ts >= "2023-07-01"]
    assert len(late_a) == len(late_b)
    ratio = late_a["amount"].to_numpy() / late_b["amount"].to_numpy()
    np.testing.assert_allclose(ratio[late_b["amount"].to_numpy() > 1], 1.5, rtol=0.01)
    assert got.drift["kind"] == "price" and got.drift["from"] == "2023-07-01"
    assert got.drift["customers_in_scope"] == N


def test_behaviour_drift_in_a_segment_lowers_only_that_segments_purchases(plain):
    got = drifted("behaviour", segment="consumer", strength=1.0)

    def purchases(data, segment: str) -> float:
        truth = data.truth["customers"].set_index("customer_id")["segment"]
        tx = data.dataset.tables["transactions"]
        tx = tx[(tx.kind == "purchase") & (tx.ts >= "2023-10-01")]
        return float((truth.reindex(tx.customer_id).to_numpy() == segment).sum())

    assert purchases(got, "consumer") < 0.75 * purchases(plain, "consumer")
    assert got.drift["segment"] == "consumer"
    assert got.drift["customers_in_scope"] < N


def test_concept_drift_changes_who_churns_not_how_many(plain):
    got = drifted("concept")
    t0, t1 = pd.Timestamp("2023-07-01"), pd.Timestamp("2024-06-30")

    def churners(data) -> set[str]:
        truth = data.truth["customers"]
        hit = truth[(truth.churn_date >= t0) & (truth.churn_date <= t1)]
        return set(hit.customer_id)

    a, b = churners(plain), churners(got)
    assert 0.7 < len(b) / len(a) < 1.3  # the hazard is still steered to the target rate
    assert len(a & b) < 0.8 * len(a)  # but other customers leave


def test_the_cli_records_the_drift_and_names_bad_options(tmp_path):
    args = ["generate", "--customers", "300", "--seed", "1", "--out", str(tmp_path)]
    run = CliRunner().invoke(
        _app(), [*args, "--drift", "price", "--drift-from", "2023-07-01", "--drift-segment", "smb"]
    )
    assert run.exit_code == 0, run.output
    record = json.loads((tmp_path / "_truth" / DRIFT_FILE).read_text("utf-8"))
    assert record["kind"] == "price" and record["segment"] == "smb" and record["strength"] == 0.5
    assert "revenue_" in record["expected_features"]
    for extra, words in (
        (["--drift", "flood", "--drift-from", "2023-07-01"], "--drift must be one of"),
        (["--drift", "price"], "--drift-from"),
        (["--drift-from", "2023-07-01"], "need --drift"),
        (["--drift", "price", "--drift-from", "2030-01-01"], "inside the history"),
        (["--drift", "price", "--drift-from", "2023-07-01", "--drift-segment", "x"], "segment"),
    ):
        with pytest.raises(GeneratorError, match=words):
            CliRunner().invoke(_app(), [*args, *extra], catch_exceptions=False)

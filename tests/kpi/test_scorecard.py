"""The 100-point score, grade bands, ranking flags, quarter = mean of months, and ``churn kpi``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from churn.commands import campaign as campaign_command
from churn.commands import kpi as kpi_command
from features.dataset import Dataset
from kpi.config import ComponentRule, Components, RankingConfig, ScorecardConfig
from kpi.scorecard import (
    COMPONENT_METRICS,
    component_points,
    grade,
    rank_managers,
    scorecard,
    total_score,
)

GRADES = ScorecardConfig().grades
METRICS = list(COMPONENT_METRICS.values())


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0.0, "Poor"),
        (59.99, "Poor"),
        (60.0, "Fair"),
        (69.99, "Fair"),
        (70.0, "Good"),
        (89.99, "Good"),
        (90.0, "Excellent"),
        (100.0, "Excellent"),
    ],
)
def test_grade_bands_at_their_edges(score, expected):
    assert grade(pd.Series([score]), GRADES).iloc[0] == expected


def test_missing_score_has_no_grade():
    assert grade(pd.Series([np.nan]), GRADES).isna().all()


def _metrics(**values: float) -> pd.DataFrame:
    row = dict.fromkeys(METRICS, np.nan) | values
    return pd.DataFrame([row])


def test_points_are_linear_clipped_and_may_run_downwards():
    comps = Components()
    pts = component_points(
        _metrics(risk_adjusted_retention=1.0, complaints_per_100=2.5, sales_vs_quota=1.7), comps
    ).iloc[0]
    assert pts["points_risk_adjusted_retention"] == pytest.approx(75.0)  # 0.85 -> 0, 1.05 -> 100
    assert pts["points_complaint_rate"] == pytest.approx(75.0)  # 10 -> 0 points, 0 -> 100
    assert pts["points_sales_vs_quota"] == 100.0  # above quota is clipped
    assert np.isnan(pts["points_satisfaction"])


def test_score_by_hand_and_missing_components_reweighted():
    comps = Components()
    full = _metrics(
        risk_adjusted_retention=1.0,  # 75 points x 30
        value_weighted_retention=0.85,  # 50 x 20
        satisfaction=1.0,  # 100 x 15
        complaints_per_100=5.0,  # 50 x 10
        mean_resolution_days=14.0,  # 0 x 5
        sales_vs_quota=0.25,  # 25 x 20
    )
    score = total_score(component_points(full, comps), comps).iloc[0]
    assert score == pytest.approx((2250 + 1000 + 1500 + 500 + 0 + 500) / 100)  # 57.5, docs/kpi.md
    partial = full.assign(satisfaction=np.nan, mean_resolution_days=np.nan)
    score = total_score(component_points(partial, comps), comps).iloc[0]
    assert score == pytest.approx(round((2250 + 1000 + 500 + 500) / 80, 2))


weights = st.lists(st.floats(0, 100), min_size=6, max_size=6).filter(lambda w: sum(w) > 1e-3)
edges = st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)).filter(lambda e: e[0] != e[1])
metric = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-10, 10))


@settings(max_examples=200, deadline=None)
@given(
    w=weights,
    e=st.lists(edges, min_size=6, max_size=6),
    rows=st.lists(st.lists(metric, min_size=6, max_size=6), min_size=1, max_size=8),
)
def test_score_is_always_within_0_and_100(w, e, rows):
    scale = 100 / sum(w)
    rules = {
        name: ComponentRule(weight=wi * scale, zero_at=z, full_at=f)
        for name, wi, (z, f) in zip(COMPONENT_METRICS, w, e, strict=True)
    }
    comps = Components(**rules)
    frame = pd.DataFrame(rows, columns=METRICS)
    score = total_score(component_points(frame, comps), comps)
    weighted = np.array([r.weight > 0 for _, r in comps])
    all_missing = frame.isna().to_numpy()[:, weighted].all(axis=1)
    assert ((score >= 0) & (score <= 100)).to_numpy()[~all_missing].all()
    assert score.isna().to_numpy()[all_missing].all()


def test_ranking_flags_bonus_and_deduction():
    scores = pd.Series([90.0, 80.0, 80.0, 70.0, 60.0, np.nan], index=list("abcdef"))
    r = rank_managers(scores, RankingConfig())
    assert r["rank"].tolist()[:5] == [1, 2, 2, 4, 5] and np.isnan(r.loc["f", "rank"])
    assert r.index[r["first_place"]].tolist() == ["a"]
    assert r.index[r["last_place"]].tolist() == ["e"]
    assert r.index[r["improvement_plan"]].tolist() == ["d", "e"]
    assert r["ranking_adjustment"].tolist() == [100, 0, 0, 0, -100, 0]


def test_ranking_ties_at_the_bottom_are_all_flagged_and_amounts_configurable():
    cfg = RankingConfig(first_place_bonus=50, last_place_deduction=20)
    r = rank_managers(pd.Series([90.0, 50.0, 50.0]), cfg)
    assert r["last_place"].tolist() == [False, True, True]
    assert r["improvement_plan"].tolist() == [False, True, True]
    assert r["ranking_adjustment"].tolist() == [50, -20, -20]


def test_a_single_scored_manager_is_not_flagged():
    r = rank_managers(pd.Series([75.0, np.nan]), RankingConfig())
    assert r["rank"].iloc[0] == 1
    assert not r[["first_place", "last_place", "improvement_plan"]].to_numpy().any()
    assert (r["ranking_adjustment"] == 0).all()


def random_book(n: int = 600, seed: int = 3) -> tuple[Dataset, pd.DataFrame]:
    """A random but valid data set: 6 managers in 2 teams, 2022 to 2024, and predictions."""
    rng = np.random.default_rng(seed)
    as_of = pd.Timestamp("2024-12-31")
    ids = pd.Series([f"c{i}" for i in range(n)], dtype="str")
    signup = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    cancel = pd.Series(signup + pd.to_timedelta(rng.integers(60, 1500, n), unit="D"))
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_date": signup,
            "account_manager_id": pd.Series(rng.choice(list("ABCDEF"), n), dtype="str"),
            "cancelled_at": cancel.where((rng.random(n) < 0.6) & (cancel <= as_of)),
        }
    )
    who = rng.integers(0, n, 25 * n)
    ts = signup[who] + pd.to_timedelta(rng.integers(0, 1100, 25 * n), unit="D")
    keep = (ts <= as_of) & ~(ts >= customers["cancelled_at"].to_numpy()[who])
    kinds = pd.Series(rng.choice(["purchase", "renewal", "upsell", "new"], 25 * n), dtype="str")
    tx = pd.DataFrame(
        {"customer_id": ids[who].to_numpy(), "ts": ts, "amount": rng.lognormal(8, 1, 25 * n)}
    ).assign(kind=kinds)[keep]
    who = rng.integers(0, n, n)
    opened = signup[who] + pd.to_timedelta(rng.integers(0, 1000, n), unit="D")
    resolved = pd.Series(opened + pd.to_timedelta(rng.integers(0, 20, n), unit="D"))
    complaints = pd.DataFrame(
        {
            "customer_id": ids[who].to_numpy(),
            "opened_at": opened,
            "resolved_at": resolved.where(resolved <= as_of),
            "satisfaction": rng.integers(1, 6, n).astype(float),
        }
    )[opened <= as_of]
    managers = pd.DataFrame(
        {
            "account_manager_id": pd.Series(list("ABCDEF"), dtype="str"),
            "team": pd.Series(["x", "x", "x", "y", "y", "y"], dtype="str"),
            "monthly_quota": [150_000.0] * 6,
        }
    )
    tables = {"customers": customers, "transactions": tx.reset_index(drop=True)}
    tables |= {"complaints": complaints.reset_index(drop=True), "account_managers": managers}
    preds = pd.DataFrame(
        {"customer_id": ids, "churn_probability": rng.beta(1, 8, n), "predicted_value": 1.0}
    ).assign(predicted_value=rng.lognormal(7, 1, n))
    return Dataset(tables=tables, as_of=as_of), preds


def test_quarter_is_the_mean_of_its_months():
    ds, preds = random_book()
    quarter = scorecard(ds, preds, "2024-Q2").set_index(["level", "account_manager_id", "team"])
    months = [
        scorecard(ds, preds, m).set_index(["level", "account_manager_id", "team"])
        for m in ("2024-04", "2024-05", "2024-06")
    ]
    mean = sum(m["score"] for m in months) / 3
    assert quarter["score"].to_numpy() == pytest.approx(
        mean.loc[quarter.index].to_numpy(), abs=0.01
    )
    assert (quarter["months_scored"] == 3).all()
    paid = sum(m["commission"] for m in months).loc[quarter.index]
    assert quarter["commission"].to_numpy() == pytest.approx(paid.to_numpy())
    assert quarter["grade"].tolist() == grade(quarter["score"], GRADES).tolist()
    assert (quarter["period"] == "2024-Q2").all()


def test_month_scores_are_within_0_and_100_on_random_books():
    for seed in (1, 2):
        ds, preds = random_book(seed=seed)
        score = scorecard(ds, preds, "2024-09")["score"].dropna()
        assert len(score) == 8 and score.between(0, 100).all()


def _write_book(folder, ds: Dataset) -> None:
    folder.mkdir()
    for name, frame in ds.tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    (folder / "dataset.yaml").write_text(f"as_of: {ds.as_of:%Y-%m-%d}\n", encoding="utf-8")


def _app() -> typer.Typer:
    app = typer.Typer()
    kpi_command.register(app)
    campaign_command.register(app)
    return app


def test_churn_kpi_prints_and_writes_the_scorecards(tmp_path):
    ds, preds = random_book(n=300)
    _write_book(tmp_path / "data", ds)
    preds.to_parquet(tmp_path / "preds.parquet")
    out = tmp_path / "out" / "scorecards.csv"
    args = ["kpi", "--period", "2024-06", "--data", str(tmp_path / "data")]
    args += ["--predictions", str(tmp_path / "preds.parquet"), "--out", str(out)]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert "Account managers, 2024-06" in result.output and "Teams, 2024-06" in result.output
    written = pd.read_csv(out)
    assert len(written) == 8 and written["score"].between(0, 100).all()
    assert "CRM indicators, 2024-06" in result.output
    shown = CliRunner().invoke(_app(), [*args[:7], "--format", "json"])
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.output[shown.output.index("{") :])
    for entry in (*body["managers"], *body["teams"]):
        for key in ("repeat_purchase_rate", "upsell_rate", "complaint_rate", "new_customers"):
            assert key in entry
        rate = entry["repeat_purchase_rate"]
        assert rate is None or 0 <= rate <= 1
    config = tmp_path / "bad.yaml"
    config.write_text("kpi:\n  ranking:\n    first_place_bonus: -1\n", encoding="utf-8")
    result = CliRunner().invoke(_app(), [*args, "--config", str(config)])
    assert result.exit_code == 2
    assert "kpi.ranking.first_place_bonus: Input should be greater than or equal to 0" in (
        result.output
    )
    result = CliRunner().invoke(_app(), [*args[:2], "2031-01", *args[4:6]])
    assert result.exit_code == 2


def test_churn_kpi_no_data_period_gives_a_message(tmp_path):
    ds, preds = random_book(n=200)
    _write_book(tmp_path / "data", ds)
    preds.to_csv(tmp_path / "preds.csv", index=False)
    args = ["kpi", "--period", "2025-01", "--data", str(tmp_path / "data")]
    result = CliRunner().invoke(_app(), [*args, "--predictions", str(tmp_path / "preds.csv")])
    assert result.exit_code == 2
    assert "no data for the period starting 2025-01-01" in result.output
    assert "Traceback" not in result.output

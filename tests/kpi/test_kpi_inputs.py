"""KPI inputs from the prediction store: the predictions made at each month start, the data folder
the scoring read, the messages when a date is missing, and ``churn kpi`` / ``churn campaign``
without a predictions file."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from churn.commands import campaign as campaign_command
from churn.commands import kpi as kpi_command
from features.dataset import Dataset
from features.loaders import load_dataset
from kpi.campaign import campaign_candidates, select_campaign
from kpi.config import KpiConfig, KpiError, OutcomeConfig
from kpi.inputs import (
    DatasetCache,
    MissingPredictionsError,
    UnknownSelectionError,
    read_predictions,
    scorecard_records,
    select_rows,
    store_scorecard,
    stored_reasons,
)
from kpi.scorecard import scorecard
from scoring.reasons import explain_frame
from scoring.store.predictions import PredictionStore, ScoringRun

CFG = KpiConfig()
MONTH_CFG = KpiConfig(outcome=OutcomeConfig(horizon_days=None))  # judges a month by the month


def _write_book(folder: Path, ds: Dataset) -> Path:
    folder.mkdir(parents=True)
    for name, frame in ds.tables.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    (folder / "dataset.yaml").write_text(f"as_of: {ds.as_of:%Y-%m-%d}\n", encoding="utf-8")
    return folder


def _predictions(ds: Dataset, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    customers = ds.tables["customers"]
    n = len(customers)
    p = rng.beta(1, 6, n)
    return pd.DataFrame(
        {
            "customer_id": customers["customer_id"].astype(object).to_numpy(),
            "account_manager_id": customers["account_manager_id"].astype(object).to_numpy(),
            "segment": None,
            "churn_probability": p,
            "predicted_value": rng.lognormal(6, 1, n),
        }
    ).assign(
        expected_value_at_risk=lambda f: f["churn_probability"] * f["predicted_value"],
        risk_band="low",
        churn_model_version="3",
        value_model_version="7",
    )


def _save(
    store: PredictionStore,
    asof: str,
    preds: pd.DataFrame,
    source: Path,
    features: pd.DataFrame | None = None,
    categorical: tuple[str, ...] = (),
) -> None:
    if features is None:
        features = preds[["customer_id", "account_manager_id"]].assign(x=1.0)
    names = tuple(c for c in features.columns if c not in ("customer_id", "account_manager_id"))
    run = ScoringRun(
        asof, datetime(2024, 7, 1), len(preds), "churn-model", "3", "value-model", "7", names,
        str(source),
    )  # fmt: skip
    store.write_scores(run, features, list(categorical), preds)


@pytest.fixture(scope="module")
def scored(book: Dataset, tmp_path_factory: pytest.TempPathFactory):
    """The book on disk and a store with predictions at 2024-01-01, -03-01 and -04-01 (not
    2024-02-01), each date's own."""
    root = tmp_path_factory.mktemp("kpi-source")
    folder = _write_book(root / "data", book)
    url = f"sqlite:///{root / 'serving.db'}"
    store = PredictionStore(url)
    preds = {d: _predictions(book, seed=i) for i, d in enumerate(("2024-01-01", "2024-03-01"))}
    preds["2024-04-01"] = _predictions(book, seed=9)
    for asof, frame in preds.items():
        _save(store, asof, frame, folder)
    yield store, folder, preds, url
    store.close()


def test_a_month_is_scored_with_the_predictions_made_at_its_start(scored):
    store, folder, preds, _ = scored
    ds = load_dataset(folder)
    inputs, frame = store_scorecard(store, "2024-03", CFG)
    assert inputs.data == folder and inputs.stored.asof == ("2024-03-01",)
    want = scorecard(ds, preds["2024-03-01"], "2024-03", CFG)
    pd.testing.assert_frame_equal(frame, want)
    other = scorecard(ds, preds["2024-01-01"], "2024-03", CFG)  # another date's predictions
    assert not np.allclose(
        frame["expected_retained_value"].dropna(), other["expected_retained_value"].dropna()
    )


def test_a_quarter_reads_each_month_start_and_names_the_missing_one(scored, tmp_path):
    store, folder, preds, _ = scored
    with pytest.raises(MissingPredictionsError) as err:
        store_scorecard(store, "2024-Q1", CFG)
    msg = str(err.value)
    assert "no predictions made at 2024-02-01" in msg
    assert f"churn score --data {folder} --asof 2024-02-01" in msg
    assert "--asof 2024-01-01" not in msg and "--asof 2024-03-01" not in msg
    _save(store, "2024-02-01", preds["2024-01-01"], folder)
    _save(store, "2024-02-01", _predictions(load_dataset(folder), seed=4), folder)  # replaced
    inputs, quarter = store_scorecard(store, "2024-Q1", CFG)
    assert inputs.stored.asof == ("2024-01-01", "2024-02-01", "2024-03-01")
    stored = inputs.stored.predictions
    assert set(stored["as_of"].dt.strftime("%Y-%m-%d")) == set(inputs.stored.asof)
    months = [
        scorecard(inputs.dataset, stored[stored["as_of"] == f"2024-0{m}-01"], f"2024-0{m}", CFG)
        for m in (1, 2, 3)
    ]
    key = ["level", "account_manager_id", "team"]
    mean = sum(m.set_index(key)["score"] for m in months) / 3
    got = quarter.set_index(key)["score"]
    assert got.to_numpy() == pytest.approx(mean.loc[got.index].to_numpy(), abs=0.01)


def test_a_period_the_data_cannot_judge_is_refused_before_asking_for_scores(scored):
    store, *_ = scored
    with pytest.raises(KpiError, match="no data for the period starting 2024-07-01") as err:
        store_scorecard(store, "2024-07", CFG)
    assert not isinstance(err.value, MissingPredictionsError)


def test_runs_that_read_different_folders_need_a_data_folder(book, tmp_path):
    store = PredictionStore(f"sqlite:///{tmp_path / 's.db'}")
    folder = _write_book(tmp_path / "a", book)
    _save(store, "2024-04-01", _predictions(book, 1), folder)
    _save(store, "2024-05-01", _predictions(book, 2), tmp_path / "elsewhere")
    stored = read_predictions(store, [pd.Timestamp("2024-04-01"), pd.Timestamp("2024-05-01")])
    with pytest.raises(KpiError, match=r"different data folders.*--data DIR"):
        stored.data_folder()
    with pytest.raises(KpiError, match="elsewhere.*does not exist"):
        store_scorecard(store, "2024-05", MONTH_CFG)
    _, frame = store_scorecard(store, "2024-05", MONTH_CFG, data=folder)
    assert frame["score"].notna().any()
    store.close()


def test_select_rows_by_team_and_manager(scored):
    store, *_ = scored
    _, frame = store_scorecard(store, "2024-03", CFG)
    managers = frame[frame["level"] == "manager"]
    team = managers["team"].dropna().iloc[0]
    rows = select_rows(frame, team=team)
    assert set(rows["team"]) == {team} and (rows["level"] == "team").sum() == 1
    assert set(rows.loc[rows["level"] == "manager", "account_manager_id"]) == set(
        managers.loc[managers["team"] == team, "account_manager_id"]
    )
    who = managers.loc[managers["team"] == team, "account_manager_id"].iloc[0]
    one = select_rows(frame, manager=who)
    assert one["level"].tolist() == ["manager", "team"] and one["team"].tolist() == [team] * 2
    assert len(select_rows(frame, team=team, manager=who)) == 2
    other = managers.loc[managers["team"] != team, "account_manager_id"].iloc[0]
    for kwargs, text in (
        ({"team": "nobody"}, "unknown team 'nobody'; known: "),
        ({"manager": "AM999"}, "unknown account manager 'AM999'"),
        ({"team": team, "manager": other}, f"is not in team {team!r}"),
    ):
        with pytest.raises(UnknownSelectionError, match=text):
            select_rows(frame, **kwargs)
    records = scorecard_records(frame)
    assert json.loads(json.dumps(records, allow_nan=False)) == records  # NaN became null


def test_stored_reasons_explain_the_stored_feature_rows(book, champions, scoring_frame, tmp_path):
    store = PredictionStore(f"sqlite:///{tmp_path / 'r.db'}")
    asof = f"{book.as_of:%Y-%m-%d}"
    names = list(champions.feature_names)
    features = scoring_frame[["customer_id", "account_manager_id", *names]]
    preds = _predictions(book, 3)
    preds = preds[preds["customer_id"].isin(features["customer_id"])]
    cats = tuple(n for n in names if n in champions.categories)
    _save(store, asof, preds, tmp_path, features, cats)
    ids = [*features["customer_id"].iloc[[4, 0, 7]], "NOBODY"]
    got = stored_reasons(store, book.as_of, ids, champions.churn, k=2)
    rows = scoring_frame.set_index("customer_id").loc[ids[:3]]
    every = explain_frame(rows, champions.churn, len(names), "en")
    want = ["; ".join([r.sentence for r in why if r.direction == "raises"][:2]) for why in every]
    assert got.index.tolist() == ids
    assert got.iloc[:3].tolist() == want and pd.isna(got.iloc[3])
    assert all(w for w in want)  # every at-risk customer has a reason that raises the risk
    store.close()


def test_dataset_cache_reloads_only_a_changed_folder(book, tmp_path):
    folder = _write_book(tmp_path / "d", book)
    calls: list[Path] = []

    def counted(path: Path) -> Dataset:
        calls.append(path)
        return load_dataset(path)

    cache = DatasetCache(counted)
    first = cache(folder)
    assert cache(folder) is first and len(calls) == 1
    (folder / "dataset.yaml").write_text("as_of: 2024-05-31\n", encoding="utf-8")
    assert cache(folder).as_of == pd.Timestamp("2024-05-31") and len(calls) == 2


# ---- the commands, reading the store by default ---------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer()
    kpi_command.register(app)
    campaign_command.register(app)
    return app


def test_churn_kpi_reads_the_store_and_the_recorded_folder(scored, tmp_path):
    store, folder, preds, url = scored
    out = tmp_path / "cards.csv"
    result = CliRunner().invoke(
        _app(), ["kpi", "--period", "2024-03", "--store", url, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "predictions made at 2024-03-01" in result.output
    written = pd.read_csv(out, dtype={"account_manager_id": "str"})
    want = scorecard(load_dataset(folder), preds["2024-03-01"], "2024-03", CFG)
    assert written["score"].to_numpy() == pytest.approx(want["score"].to_numpy(), nan_ok=True)
    month_window = tmp_path / "kpi.yaml"
    month_window.write_text("kpi: {outcome: {horizon_days: null}}\n", encoding="utf-8")
    missing = CliRunner().invoke(
        _app(), ["kpi", "--period", "2024-05", "--store", url, "--config", str(month_window)]
    )
    assert missing.exit_code == 2 and "Traceback" not in missing.output
    text = " ".join(missing.output.split())
    assert f"churn score --data {folder} --asof 2024-05-01 --config" in text
    assert text.endswith(f"--store '{url}'")
    file_only = CliRunner().invoke(
        _app(), ["kpi", "--period", "2024-03", "--predictions", str(out)]
    )
    assert file_only.exit_code == 2 and "needs --data DIR" in file_only.output


def test_churn_campaign_reads_the_store_at_its_date(scored, tmp_path):
    store, folder, preds, url = scored
    out = tmp_path / "campaign.csv"
    args = ["campaign", "--asof", "2024-04-01", "--store", url, "--out", str(out)]
    result = CliRunner().invoke(_app(), [*args, "--capacity", "3", "--no-reasons"])
    assert result.exit_code == 0, result.output
    listed = pd.read_csv(out, dtype={"customer_id": "str", "account_manager_id": "str"})
    ds = load_dataset(folder, as_of="2024-04-01")
    candidates = campaign_candidates(
        ds, preds["2024-04-01"], pd.Timestamp("2024-04-01"), CFG.outcome
    )
    want = select_campaign(candidates, 3, 25.0, 0.25)
    assert listed["customer_id"].tolist() == want["customer_id"].tolist()
    missing = CliRunner().invoke(_app(), [*args[:2], "2024-04-02", *args[3:]])
    assert missing.exit_code == 2 and "--asof 2024-04-02" in " ".join(missing.output.split())


def test_the_command_and_the_builder_run_one_campaign_job(scored, tmp_path):
    from kpi.campaign_builder import CampaignAsk, CampaignBuilder

    store, folder, _, url = scored
    out = tmp_path / "campaign.csv"
    args = ["campaign", "--asof", "2024-04-01", "--store", url, "--out", str(out), "--by", "risk"]
    options = ["--capacity", "4", "--cost", "30", "--success-rate", "0.3", "--format", "json"]
    result = CliRunner().invoke(_app(), [*args, *options, "--no-reasons"])
    assert result.exit_code == 0, result.output
    listed = pd.read_csv(out, dtype={"customer_id": "str", "account_manager_id": "str"})
    savings = pd.DataFrame(json.loads(result.stdout)["savings"])
    ask = CampaignAsk("2024-04-01", 4, "risk", 30.0, 0.3)
    built = CampaignBuilder(DatasetCache()).build(store, ask, CFG)
    key = ["account_manager_id", "priority", "customer_id"]
    assert len(listed) > 4
    pd.testing.assert_frame_equal(built.chosen[key].astype(str), listed[key].astype(str))
    assert built.chosen["expected_saved_value"].to_numpy() == pytest.approx(
        listed["expected_saved_value"].to_numpy()
    )
    assert built.savings["rule"].tolist() == savings["rule"].tolist()
    assert built.savings["saving_vs_nobody"].to_numpy() == pytest.approx(
        savings["saving_vs_nobody"].to_numpy()
    )


def test_campaign_and_kpi_stop_at_the_configs_bad_row_share(scored, tmp_path):
    import shutil

    _, folder, preds, _ = scored
    data = tmp_path / "data"
    shutil.copytree(folder, data)
    sales = pd.read_parquet(data / "transactions.parquet")
    unknown = sales.head(5).assign(customer_id="NOBODY")  # 5 rows of an unknown customer
    pd.concat([sales, unknown]).to_parquet(data / "transactions.parquet", index=False)
    strict = tmp_path / "strict.yaml"
    strict.write_text("data: {max_bad_row_share: 0.0}\n", encoding="utf-8")
    given = tmp_path / "preds.csv"
    preds["2024-04-01"].to_csv(given, index=False)
    campaign = ["campaign", "--asof", "2024-04-01", "--predictions", str(given), "--data"]
    campaign += [str(data), "--out", str(tmp_path / "c.csv")]
    kpi = ["kpi", "--period", "2024-03", "--predictions", str(given), "--data", str(data)]
    for args in (campaign, kpi):
        loose = CliRunner().invoke(_app(), args)  # the default share, 0.2, lets 5 rows pass
        assert loose.exit_code == 0, loose.output
        stopped = CliRunner().invoke(_app(), [*args, "--config", str(strict)])
        assert stopped.exit_code == 2, stopped.output
        assert "transactions" in stopped.output and "--max-bad-row-share" in stopped.output

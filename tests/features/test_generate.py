"""The demo data generator: contract-shaped, deterministic, and realistic in the ways the product
relies on (value concentration, churn rate, complaint and manager effects, timing, seasonality)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import typer
import yaml
from scipy.stats import spearmanr
from typer.testing import CliRunner

import churn.commands.generate as generate_command
from features.contract import CONTRACT_VERSION, TABLES
from features.loaders import load_dataset
from features.synthetic.generator import GeneratorConfig, GeneratorError, generate, write_dataset

N, SEED = 5000, 11
DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def data():
    return generate(N, SEED)


@pytest.fixture(scope="module")
def big():
    """Enough customers (50 managers) for manager-level statistics."""
    return generate(20_000, 5)


def quarterly_churn(data) -> np.ndarray:
    """90-day churn rate of the customers active at each quarter start (from month 6 on)."""
    truth = data.truth["customers"]
    churn, signup = truth["churn_date"], truth["signup_date"]
    cutoffs = pd.date_range(
        signup.min() + pd.DateOffset(months=6), data.dataset.as_of - 90 * DAY, freq="QS"
    )
    rates = []
    for cut in cutoffs:
        active = (signup <= cut) & ~(churn <= cut)
        rates.append(((churn > cut) & (churn <= cut + 90 * DAY))[active].mean())
    return np.array(rates)


def by_customer(data, column: str) -> pd.Series:
    return data.truth["customers"].set_index("customer_id")[column]


def test_same_seed_same_data_other_seed_differs(data):
    again = generate(N, SEED)
    for name, frame in data.dataset.tables.items():
        pd.testing.assert_frame_equal(frame, again.dataset.tables[name])
    for name, frame in data.truth.items():
        pd.testing.assert_frame_equal(frame, again.truth[name])
    assert again.dataset.as_of == data.dataset.as_of
    other = generate(N, SEED + 1)
    assert not other.dataset.tables["transactions"].equals(data.dataset.tables["transactions"])


def test_columns_and_dtypes_follow_the_contract(data):
    assert set(data.dataset.tables) == set(TABLES)
    for name, frame in data.dataset.tables.items():
        table = TABLES[name]
        assert tuple(frame.columns) == table.column_names, name
        for col in table.columns:
            dtype = frame[col.name].dtype
            if col.kind == "date":
                assert dtype == "datetime64[us]", (name, col.name, dtype)
            elif col.kind in ("float", "int"):
                assert dtype == "float64", (name, col.name, dtype)
            else:
                assert dtype == "str", (name, col.name, dtype)
            values = frame[col.name].dropna()
            if col.required:
                assert frame[col.name].notna().all(), (name, col.name)
            if col.allowed is not None:
                assert set(values) <= set(col.allowed), (name, col.name)
            if col.min is not None:
                assert (values >= col.min).all(), (name, col.name)
            if col.max is not None:
                assert (values <= col.max).all(), (name, col.name)
        if table.key is not None:
            assert frame[table.key].is_unique
    assert data.dataset.as_of == pd.Timestamp("2024-06-30")


def test_history_is_long_with_continuous_signups(data):
    signup = data.dataset.tables["customers"]["signup_date"]
    assert data.dataset.as_of - signup.min() >= pd.Timedelta(days=3 * 365)
    quarters = signup.dt.to_period("Q").value_counts()
    assert len(quarters) == 14 and quarters.min() > 0.02 * N  # steady acquisition


def test_top_fifth_of_customers_bring_most_revenue(data):
    revenue = data.dataset.tables["transactions"].groupby("customer_id")["amount"].sum()
    top = revenue.sort_values(ascending=False).head(len(revenue) // 5)
    assert top.sum() / revenue.sum() >= 0.6


def test_quarterly_churn_rate_is_in_the_default_range(data):
    low, high = GeneratorConfig().target_quarterly_churn
    rates = quarterly_churn(data)
    assert (low, high) == (0.08, 0.20)
    assert low <= rates.min() and rates.max() <= high, rates


def test_quarterly_churn_rate_follows_the_configured_range():
    cfg = GeneratorConfig(target_quarterly_churn=(0.03, 0.06))
    rates = quarterly_churn(generate(3000, 1, cfg))
    assert 0.03 <= rates.mean() <= 0.06, rates


def test_churners_complained_more(data):
    truth = data.truth["customers"].set_index("customer_id")
    end = truth["churn_date"].fillna(data.dataset.as_of)
    months = ((end - truth["signup_date"]) / DAY + 1) / 30.44
    counts = data.dataset.tables["complaints"].groupby("customer_id").size()
    rate = counts.reindex(truth.index, fill_value=0) / months
    churned = truth["churn_date"].notna()
    assert rate[churned].mean() > 1.2 * rate[~churned].mean()


def test_manager_skill_lowers_churn_and_portfolios_differ(big):
    managers = big.truth["managers"]
    assert len(managers) == 50
    assert spearmanr(managers["skill"], managers["churned_share"]).statistic < -0.3
    assert managers["portfolio_risk"].std() > 0.2  # riskier and safer books


def test_skilled_managers_resolve_complaints_faster(big):
    complaints = big.dataset.tables["complaints"]
    manager = complaints["customer_id"].map(by_customer(big, "account_manager_id"))
    skill = manager.map(big.truth["managers"].set_index("account_manager_id")["skill"])
    days = (complaints["resolved_at"] - complaints["opened_at"]) / DAY
    skilled = skill > skill.median()
    assert days[skilled].median() < 0.85 * days[~skilled].median()
    assert (
        complaints["resolved_at"].isna()[skilled].mean()
        < complaints["resolved_at"].isna()[~skilled].mean()
    )


def test_no_event_before_signup_after_as_of_or_after_churn(data):
    end = data.dataset.as_of + DAY
    signup, churn = by_customer(data, "signup_date"), by_customer(data, "churn_date")
    for name, table in TABLES.items():
        if table.event_time is None:
            continue
        frame = data.dataset.tables[name]
        ts = frame[table.event_time]
        assert (ts < end).all(), name
        assert (ts >= frame["customer_id"].map(signup)).all(), name
        assert ts.is_monotonic_increasing, name
        left = frame["customer_id"].map(churn)
        grace = 0 * DAY if name == "transactions" else 5 * DAY
        assert not (ts >= left + grace).any(), name
    customers = data.dataset.tables["customers"]
    assert (customers["signup_date"] < end).all()
    resolved = data.dataset.tables["complaints"]["resolved_at"].dropna()
    assert (resolved < end).all()


def test_contractual_and_pay_as_you_go_customers(data):
    customers = data.dataset.tables["customers"].set_index("customer_id")
    tx = data.dataset.tables["transactions"]
    first = tx.groupby("customer_id")["kind"].first()
    assert (first == "new").all() and len(first) == N
    payg = customers["plan"] == "payg"
    assert 0.2 < payg.mean() < 0.8
    assert customers.loc[payg, ["contract_end_date", "cancelled_at"]].isna().all().all()
    assert customers.loc[~payg, "contract_end_date"].notna().all()
    kinds = tx.groupby(tx["customer_id"].map(payg))["kind"].value_counts().unstack(fill_value=0)
    assert kinds.loc[True, ["renewal", "upsell"]].sum() == 0
    assert kinds.loc[False, "renewal"] > 0 and kinds.loc[False, "upsell"] > 0
    churn = by_customer(data, "churn_date")
    cancelled = customers["cancelled_at"]
    assert cancelled[~payg].equals(churn[~payg].rename("cancelled_at"))
    ended = customers["contract_end_date"][cancelled.notna()]
    assert (ended >= cancelled.dropna()).all()


def test_activity_declines_in_the_90_days_before_churn(data):
    tx, inter = data.dataset.tables["transactions"], data.dataset.tables["interactions"]
    events = pd.concat(
        [
            tx.loc[tx["kind"] == "purchase", ["customer_id", "ts"]],
            inter.loc[inter["channel"] == "app_login", ["customer_id", "ts"]],
        ]
    )
    churn = events["customer_id"].map(by_customer(data, "churn_date"))
    signup = events["customer_id"].map(by_customer(data, "signup_date"))
    keep = churn.notna() & (churn - signup > 200 * DAY)
    before = (churn - events["ts"])[keep] / DAY
    last = before.between(0, 90, inclusive="left").sum()
    previous = before.between(90, 180, inclusive="left").sum()
    assert last < 0.8 * previous


def test_purchases_peak_in_q4(data):
    tx = data.dataset.tables["transactions"]
    per_month = tx[tx["kind"] == "purchase"].groupby(tx["ts"].dt.to_period("M")).size()
    month = per_month.index.month
    assert per_month[month >= 10].mean() > 1.15 * per_month[(month >= 7) & (month <= 9)].mean()


def test_interactions_channels_and_engagement(data):
    inter = data.dataset.tables["interactions"]
    assert set(inter["channel"]) == {"call", "email", "chat", "visit", "app_login", "campaign"}
    campaigns = inter[inter["channel"] == "campaign"]
    assert set(campaigns["direction"].dropna()) == {"outbound"}
    assert set(campaigns["outcome"].dropna()) == {"responded", "no_response"}
    logins = inter[inter["channel"] == "app_login"].groupby("customer_id").size()
    engaged = by_customer(data, "engagement_propensity").reindex(logins.index)
    assert spearmanr(engaged, logins).statistic > 0.2


def test_optional_values_are_sometimes_missing(data):
    customers, inter = data.dataset.tables["customers"], data.dataset.tables["interactions"]
    for column in (customers["segment"], customers["region"], inter["direction"]):
        assert 0.01 < column.isna().mean() < 0.06
    satisfaction = data.dataset.tables["complaints"]["satisfaction"]
    assert 0.03 < satisfaction.isna().mean() < 0.3


def test_manager_monthly_sales_reach_every_commission_tier(data):
    tx = data.dataset.tables["transactions"]
    manager = tx["customer_id"].map(by_customer(data, "account_manager_id"))
    sales = tx.groupby([manager, tx["ts"].dt.to_period("M")])["amount"].sum()
    typical = sales.groupby(level=0).median()
    assert (typical < 100_000).any()
    assert typical.between(100_000, 300_000).any()
    assert (typical > 300_000).any()
    managers = data.dataset.tables["account_managers"]
    assert len(managers) == GeneratorConfig().managers_for(N) == 12


def test_write_dataset_files_manifest_and_truth(data, tmp_path):
    (tmp_path / "customers.csv").write_text("stale")
    write_dataset(data, tmp_path, "parquet")
    assert not (tmp_path / "customers.csv").exists()
    for name in TABLES:
        back = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert len(back) == len(data.dataset.tables[name])
    manifest = yaml.safe_load((tmp_path / "dataset.yaml").read_text())
    assert manifest == {
        "as_of": "2024-06-30",
        "contract_version": CONTRACT_VERSION,
        "generator": {"seed": SEED, "n_customers": N},
    }
    truth = tmp_path / "_truth"
    assert {p.name for p in truth.iterdir()} == {
        "customers.parquet",
        "managers.parquet",
        "README.md",
    }
    churn = pd.read_parquet(truth / "customers.parquet")["churn_date"]
    assert churn.notna().sum() == data.truth["customers"]["churn_date"].notna().sum()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_written_data_loads_without_rejects(data, tmp_path, fmt):
    write_dataset(data, tmp_path, fmt)
    ds = load_dataset(tmp_path)
    assert ds.as_of == data.dataset.as_of
    assert all(r.rejected == 0 for r in ds.reports.values())
    for name, frame in data.dataset.tables.items():
        pd.testing.assert_frame_equal(ds.tables[name], frame)


def test_bad_arguments_are_clear_errors(data, tmp_path):
    with pytest.raises(GeneratorError, match="n_customers"):
        generate(0, 1)
    with pytest.raises(GeneratorError, match="format"):
        write_dataset(data, tmp_path, "xlsx")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="region_risk"):
        GeneratorConfig(regions=("north",))


def test_cli_generates_and_reports(tmp_path):
    out = tmp_path / "demo"
    runner = CliRunner()
    app = typer.Typer()
    app.callback()(lambda: None)  # a command group, as in the churn app
    generate_command.register(app)
    result = runner.invoke(app, ["generate", "--customers", "300", "--seed", "2", "--out", str(out),
                                 "--format", "csv"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "customers" in result.output and "300" in result.output
    assert "2024-06-30" in result.output and "_truth" in result.output.replace("\n", "")
    assert (out / "transactions.csv").is_file() and (out / "_truth" / "README.md").is_file()
    config = tmp_path / "settings.yaml"
    config.write_text("generator:\n  years: 0.5\ntraining:\n  anything: 1\n")
    result = runner.invoke(app, ["generate", "--customers", "10", "--config", str(config)])
    assert result.exit_code != 0
    assert isinstance(result.exception, GeneratorError)
    assert "generator.years" in str(result.exception)


def test_assessment_tables_hire_dates_surveys_and_reviews(data):
    """A few managers are on probation in the latest month the KPI stage can judge; every
    quarter has survey answers; every full year of the history has each manager's review."""
    from kpi.config import RankingConfig
    from kpi.periods import latest_complete_month

    tables = data.dataset.tables
    managers = tables["account_managers"]
    month = latest_complete_month(data.dataset.as_of, 90)
    since = month - pd.DateOffset(months=RankingConfig().probation_months)
    on_trial = managers["hire_date"] > since
    assert 1 <= on_trial.sum() < len(managers) / 2
    answered = tables["surveys"]["ts"].dt.to_period("Q").nunique()
    assert answered >= 4 and tables["surveys"]["score"].between(1, 5).all()
    reviews = tables["manager_reviews"]
    assert set(reviews["account_manager_id"]) == set(managers["account_manager_id"])
    contacts = tables["contacts"]
    assert contacts.loc[contacts["treated"] == 1, "cost"].notna().all()
    assert contacts.loc[contacts["treated"] == 0, "cost"].isna().all()

"""Commission by business rule 6, hand-computed at every tier edge and for each bonus."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpi.commission import commission, sales_commission, tier_rate
from kpi.config import CommissionConfig

DEFAULT = CommissionConfig()


def _pay(sales: float, satisfaction: float = np.nan, retention: float = 0.0, cfg=DEFAULT):
    frame = pd.DataFrame(
        {"sales": [sales], "quarter_satisfaction": [satisfaction], "retention_sales": [retention]}
    )
    return commission(frame, cfg).iloc[0]


@pytest.mark.parametrize(
    ("sales", "rate", "paid"),
    [
        (0.0, 0.03, 0.0),
        (99_999.99, 0.03, 3_000.00),  # 2,999.9997 rounded to cents
        (100_000.00, 0.05, 5_000.00),  # "100,000 to 300,000" includes 100,000
        (200_000.00, 0.05, 10_000.00),
        (300_000.00, 0.05, 15_000.00),  # ... and 300,000
        (300_000.01, 0.08, 24_000.00),  # "above 300,000": 24,000.0008 rounded to cents
        (1_000_000.00, 0.08, 80_000.00),
    ],
)
def test_sales_commission_at_every_tier_edge(sales, rate, paid):
    row = _pay(sales)
    assert row["sales_rate"] == rate
    assert row["sales_commission"] == pytest.approx(paid, abs=1e-9)
    assert row["commission"] == pytest.approx(paid, abs=1e-9)


def test_whole_amount_rate_as_in_the_source():
    # Source 003 applies one rate to the whole amount (its example: 2.5 million x 5%), so
    # 250,000 pays 250,000 x 5% = 12,500, not 100,000 x 3% + 150,000 x 5% = 10,500.
    assert sales_commission(np.array([250_000.0]), DEFAULT)[0] == pytest.approx(12_500)
    assert tier_rate(np.array([2_500_000.0]), DEFAULT)[0] == 0.08


def test_marginal_method_pays_each_tier_on_its_own_part():
    cfg = CommissionConfig(tier_method="marginal")
    paid = sales_commission(np.array([50_000.0, 100_000.0, 350_000.0]), cfg)
    assert paid == pytest.approx([1_500, 3_000, 100_000 * 0.03 + 200_000 * 0.05 + 50_000 * 0.08])


@pytest.mark.parametrize(
    ("satisfaction", "bonus"),
    [(0.80, 3_000.0), (4 / 5, 3_000.0), (12 / 15, 3_000.0), (0.7999, 0.0), (1.0, 3_000.0)],
)
def test_satisfaction_bonus_from_exactly_80_percent(satisfaction, bonus):
    row = _pay(150_000.0, satisfaction)
    assert row["satisfaction_bonus"] == pytest.approx(bonus)  # 2% of 150,000
    assert row["commission"] == pytest.approx(7_500.0 + bonus)


def test_no_survey_means_no_bonus():
    assert _pay(150_000.0, np.nan)["satisfaction_bonus"] == 0.0


def test_retention_commission_is_5_percent_of_renewals_and_upsells():
    row = _pay(150_000.0, 0.85, retention=20_000.0)
    assert row["retention_commission"] == pytest.approx(1_000.0)
    assert row["commission"] == pytest.approx(7_500.0 + 3_000.0 + 1_000.0)
    assert _pay(150_000.0, retention=np.nan)["retention_commission"] == 0.0


def test_rates_come_from_configuration():
    cfg = CommissionConfig(
        satisfaction_bonus_rate=0.01, satisfaction_bonus_threshold=0.9, retention_rate=0.1
    )
    row = _pay(50_000.0, 0.9, retention=1_000.0, cfg=cfg)
    assert (row["sales_commission"], row["satisfaction_bonus"], row["retention_commission"]) == (
        1_500.0,
        500.0,
        100.0,
    )


def test_vectorised_over_many_managers():
    rng = np.random.default_rng(7)
    sales = rng.uniform(0, 500_000, 1000)
    frame = pd.DataFrame({"sales": sales, "quarter_satisfaction": 0.5, "retention_sales": 0.0})
    out = commission(frame, DEFAULT)
    expected = np.where(sales < 100_000, 0.03, np.where(sales <= 300_000, 0.05, 0.08)) * sales
    assert out["sales_commission"].to_numpy() == pytest.approx(expected, abs=0.006)

"""BG/NBD and Gamma-Gamma: the fit recovers the parameters that simulated the data, the summary
counts same-day purchases once, and the conditional quantities behave as the model says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.pipeline.btyd import (
    BgNbd,
    BtydError,
    GammaGamma,
    bgnbd_loglik,
    expected_purchases,
    expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
    p_no_purchase,
    rf_summary,
    simulate_bgnbd,
)

PUBLISHED = BgNbd(r=0.243, alpha=4.41, a=0.793, b=2.43)


def test_fit_recovers_the_published_cdnow_parameters_from_simulated_data():
    rng = np.random.default_rng(7)
    t = rng.uniform(27.0, 39.0, 12_000)  # CDNOW: first purchases spread over 12 weeks
    x, tx = simulate_bgnbd(PUBLISHED, t, rng)
    fitted = fit_bgnbd(x, tx, t)
    assert fitted.r == pytest.approx(PUBLISHED.r, rel=0.15)
    assert fitted.alpha == pytest.approx(PUBLISHED.alpha, rel=0.15)
    assert fitted.a == pytest.approx(PUBLISHED.a, rel=0.25)
    assert fitted.b == pytest.approx(PUBLISHED.b, rel=0.25)
    # the maximum of the likelihood is at least as high as at the true parameters
    assert bgnbd_loglik(fitted, x, tx, t).sum() >= bgnbd_loglik(PUBLISHED, x, tx, t).sum()


def test_fit_tells_apart_different_populations():
    rng = np.random.default_rng(3)
    t = np.full(6000, 39.0)
    loyal = BgNbd(r=2.0, alpha=10.0, a=0.5, b=8.0)  # frequent buyers who rarely drop out
    x, tx = simulate_bgnbd(loyal, t, rng)
    fitted = fit_bgnbd(x, tx, t)
    assert fitted.r / fitted.alpha == pytest.approx(0.2, rel=0.15)  # mean purchase rate
    assert fitted.a / (fitted.a + fitted.b) < 0.15  # mean dropout probability is small


def test_gamma_gamma_recovers_simulated_spend_parameters():
    rng = np.random.default_rng(11)
    true = GammaGamma(p=6.25, q=3.74, v=15.44)
    n = 4000
    x = rng.integers(1, 10, n).astype(float)
    nu = rng.gamma(true.q, 1.0 / true.v, n)  # each customer's spend rate
    m = rng.gamma(true.p * x, 1.0 / nu) / x  # mean of x purchases of Gamma(p, nu)
    fitted = fit_gamma_gamma(x, m)
    assert fitted.p == pytest.approx(true.p, rel=0.2)
    assert fitted.q == pytest.approx(true.q, rel=0.2)
    assert fitted.v == pytest.approx(true.v, rel=0.3)
    spend = expected_spend(fitted, x, m)
    # a shrinkage estimate: between the population mean and the customer's own mean
    pop = fitted.p * fitted.v / (fitted.q - 1)
    assert np.all((spend - pop) * (spend - m) <= 1e-9)


def test_conditional_quantities():
    x = np.array([0.0, 1.0, 5.0, 5.0])
    tx = np.array([0.0, 30.0, 35.0, 5.0])
    t = np.full(4, 39.0)
    alive = p_alive(PUBLISHED, x, tx, t)
    assert alive[0] == 1.0  # no repeat purchase: no chance to have dropped out
    assert alive[2] > alive[3]  # same frequency, recent last purchase: more likely alive
    silent = p_no_purchase(PUBLISHED, 13.0, x, tx, t)
    assert np.all((silent >= 1 - alive - 1e-12) & (silent <= 1))
    short = expected_purchases(PUBLISHED, 4.0, x, tx, t)
    long = expected_purchases(PUBLISHED, 52.0, x, tx, t)
    assert np.all(long > short) and np.all(short > 0)
    assert long[2] > long[3]


def test_rf_summary_counts_days_and_weeks():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "c"],
            "ts": pd.to_datetime(
                ["1997-01-01", "1997-01-01", "1997-01-15", "1997-01-29", "1997-01-08", "1997-03-01"]
            ),
            "amount": [10.0, 5.0, 20.0, 40.0, 7.0, 9.0],
        }
    )
    s = rf_summary(tx, pd.Timestamp("1997-02-05"))
    assert list(s.index) == ["a", "b"]  # c bought after the cutoff
    assert s.loc["a", "frequency"] == 2  # two repeat purchase days; same-day rows are one
    assert s.loc["a", "recency"] == pytest.approx(4.0)
    assert s.loc["a", "T"] == pytest.approx(5.0)
    assert s.loc["a", "monetary"] == pytest.approx(30.0)  # repeat days only: (20 + 40) / 2
    assert (s.loc["b", "frequency"], s.loc["b", "monetary"]) == (0, 0)


def test_too_little_data_is_a_clear_error():
    with pytest.raises(BtydError, match="at least 50 customers"):
        fit_bgnbd(np.zeros(10), np.zeros(10), np.ones(10))

"""The value model's cap (no customer is predicted above a stated multiple of their own history)
and its comparison with carry-forward and BG/NBD + Gamma-Gamma, which the gate reads."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.bundle import Calibrator
from features.config import FeatureConfig
from features.pipeline.build import build_training_set
from features.synthetic.generator import generate
from training.config import TrainingConfig
from training.job import plan_for
from training.promotion import beats_value_references
from training.spec import feature_spec
from training.split import split_frame
from training.value_model import fit_value, value_rows
from training.value_refs import BTYD, CARRY, compare_value

MULTIPLE = 1.5  # the shipped training.value.cap_multiple


@pytest.fixture(scope="module")
def fitted():
    ds = generate(800, seed=3).dataset
    features, cfg = FeatureConfig(), TrainingConfig(num_threads=1)
    assert cfg.value.cap_multiple == MULTIPLE
    plan = plan_for(ds, features, cfg)
    frame = build_training_set(ds, plan.all, features)
    split = split_frame(frame, plan)
    bundle, _ = fit_value(split, feature_spec(frame), cfg, {"horizon_days": plan.horizon_days})
    return bundle, split.test, plan.horizon_days, ds, plan.test, cfg


def test_one_purchase_customer_is_not_valued_above_the_multiple_of_their_order(fitted) -> None:
    bundle, test, *_ = fitted
    one = test[test["txn_count_total"] == 1]
    assert len(one) >= 10
    order = one["avg_order_value"].to_numpy(float)
    uncapped = replace(bundle, metadata={**bundle.metadata, "value_cap": None}).predict(one)
    assert (uncapped > MULTIPLE * order).any()  # the trees alone do extrapolate: the cap bites
    assert (bundle.predict(one) <= MULTIPLE * order + 1e-9).all()


def test_every_customer_with_history_is_capped_by_their_pace_or_one_order(fitted) -> None:
    bundle, test, h, *_ = fitted
    pace = test["revenue_365d"].to_numpy(float) * h / 365
    history = np.fmax(pace, test["avg_order_value"].to_numpy(float))
    pred = bundle.predict(test)
    has = np.isfinite(history) & (history > 0)
    assert (pred[has] <= MULTIPLE * history[has] + 1e-9).all()
    assert bundle.metadata["value_cap"]["window_column"] == "revenue_365d"


def test_the_cap_is_off_with_null(fitted) -> None:
    bundle, test, *_ = fitted
    off = replace(bundle, metadata={**bundle.metadata, "value_cap": None})
    expected = np.clip(bundle.calibrator.apply(bundle.raw_predict(test)), 0, None)
    np.testing.assert_allclose(off.predict(test), expected)


def test_the_value_model_is_compared_with_carry_forward_and_bgnbd(fitted) -> None:
    bundle, test, h, ds, cutoff, cfg = fitted
    rows = value_rows(test, cfg)
    refs = compare_value(ds, rows, bundle, cutoff, h, cfg)
    mae = refs["mae"]
    assert {"model", CARRY} <= set(mae) <= {"model", CARRY, BTYD} and refs["rows"] == len(rows)
    others = [v for k, v in mae.items() if k != "model"]  # BG/NBD+GG: absent when its fit fails
    assert refs["beats_references"] == (mae["model"] < min(others))
    # a value model that predicts a wild constant loses to the references, and the gate sees it
    wild = Calibrator((0.0, 1.0), (1e6, 1e6))
    crippled = replace(bundle, calibrator=wild, metadata={**bundle.metadata, "value_cap": None})
    lost = compare_value(ds, rows, crippled, cutoff, h, cfg)
    assert not lost["beats_references"]
    assert not beats_value_references(
        replace(bundle, metadata={**bundle.metadata, "value_references": lost})
    )
    assert beats_value_references(replace(bundle, metadata={}))  # bundles trained before it

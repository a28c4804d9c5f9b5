"""The model bundle: encoding, calibrated scoring, SHAP contributions, save/load without pickles."""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from core.bundle import (
    BIAS_COLUMN,
    SOURCE_KEY,
    BundleError,
    Calibrator,
    ModelBundle,
    jsonable,
    keep_ranking,
)
from core.registry import BundlePyfunc, pyfunc_input_types, pyfunc_predict, pyfunc_signature

LEVELS = ("enterprise", "smb", "consumer")


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    seg = pd.Categorical(rng.choice(LEVELS, n), categories=list(LEVELS))
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "segment": seg,
            "recency_days": rng.exponential(60, n),
            "spend": rng.gamma(2.0, 100.0, n),
        }
    )


def _bundle(kind: str = "churn", calibrator: Calibrator = Calibrator()) -> ModelBundle:
    frame = _frame(3000, 0)
    rng = np.random.default_rng(1)
    logit = 0.03 * frame["recency_days"] - 2 + (frame["segment"] == "consumer") * 1.0
    y = (rng.random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(float)
    names = ("segment", "recency_days", "spend")
    x = pd.DataFrame(
        {
            "segment": frame["segment"].cat.codes.astype(float),
            "recency_days": frame["recency_days"],
            "spend": frame["spend"],
        }
    )
    params = {
        "objective": "binary" if kind == "churn" else "tweedie",
        "num_leaves": 7,
        "verbose": -1,
        "seed": 0,
        "deterministic": True,
        "num_threads": 1,
    }
    target = y if kind == "churn" else frame["spend"] * (1 - y)
    booster = lgb.train(params, lgb.Dataset(x, target, categorical_feature=["segment"]), 30)
    return ModelBundle(
        kind=kind,
        booster=booster,
        feature_names=names,
        categories={"segment": LEVELS},
        calibrator=calibrator,
        metadata={"label_definition": "no activity for 90 days", "auc": np.float64(0.8)},
    )


def test_matrix_encodes_categories_by_bundle_levels_not_by_input_dtype():
    bundle = _bundle()
    frame = _frame(5, 3)
    as_text = frame.assign(segment=frame["segment"].astype("str"))
    reordered = frame.assign(
        segment=pd.Categorical(frame["segment"], categories=["smb", "consumer", "enterprise"])
    )
    expected = bundle.matrix(frame)
    assert list(expected.columns) == ["segment", "recency_days", "spend"]
    assert (expected.dtypes == np.float64).all()
    pd.testing.assert_frame_equal(bundle.matrix(as_text), expected)
    pd.testing.assert_frame_equal(bundle.matrix(reordered), expected)
    codes = expected["segment"].to_numpy()
    assert np.array_equal(codes, [LEVELS.index(s) for s in frame["segment"]])


def test_unknown_and_missing_levels_are_scored_as_missing_and_listed():
    bundle = _bundle()
    frame = _frame(4, 4).assign(segment=["smb", "martian", None, "consumer"])
    assert np.isnan(bundle.matrix(frame)["segment"].to_numpy()[[1, 2]]).all()
    assert bundle.unknown_levels(frame) == {"segment": ["martian"]}
    assert bundle.unknown_levels(_frame(10, 5)) == {}
    as_missing = frame.assign(segment=["smb", None, None, "consumer"])
    assert np.array_equal(bundle.predict(frame), bundle.predict(as_missing))


def test_missing_or_non_numeric_column_names_the_column():
    bundle = _bundle()
    with pytest.raises(BundleError, match="spend"):
        bundle.predict(_frame(3, 0).drop(columns="spend"))
    with pytest.raises(BundleError, match="recency_days"):
        bundle.predict(_frame(3, 0).assign(recency_days=["1", "two", "3"]))


def test_calibrator_is_applied_to_churn_predictions():
    calibrator = Calibrator(x=(0.0, 0.5, 1.0), y=(0.1, 0.2, 0.9))
    bundle = _bundle(calibrator=calibrator)
    frame = _frame(200, 6)
    raw = bundle.raw_predict(frame)
    assert np.allclose(bundle.predict(frame), np.interp(raw, [0, 0.5, 1], [0.1, 0.2, 0.9]))
    identity = _bundle()
    assert np.array_equal(identity.predict(frame), identity.raw_predict(frame))


def test_value_predictions_are_non_negative():
    bundle = _bundle("value")
    pred = bundle.predict(_frame(500, 7))
    assert (pred >= 0).all() and pred.std() > 0


def test_contributions_sum_to_raw_score():
    bundle = _bundle()
    frame = _frame(50, 8)
    contrib = bundle.contributions(frame)
    assert list(contrib.columns) == ["segment", "recency_days", "spend", BIAS_COLUMN]
    raw_score = bundle.booster.predict(bundle.matrix(frame), raw_score=True)
    assert np.allclose(contrib.sum(axis=1), raw_score)


def test_save_load_roundtrip_is_exact_and_uses_no_pickle(tmp_path):
    bundle = _bundle(calibrator=Calibrator(x=(0.0, 0.3, 1.0), y=(0.05, 0.25, 0.8)))
    bundle.save(tmp_path / "b")
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["bundle.json", "model.txt"]
    assert (tmp_path / "b" / "model.txt").read_text().startswith("tree")
    meta = json.loads((tmp_path / "b" / "bundle.json").read_text())
    assert meta["metadata"]["auc"] == 0.8
    loaded = ModelBundle.load(tmp_path / "b")
    frame = _frame(300, 9)
    assert np.array_equal(loaded.predict(frame), bundle.predict(frame))
    assert loaded.categories == bundle.categories and loaded.calibrator == bundle.calibrator


def test_load_refuses_a_folder_that_is_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match=r"model\.txt is missing"):
        ModelBundle.load(tmp_path)


def test_calibrator_refuses_decreasing_thresholds():
    with pytest.raises(BundleError, match="increasing"):
        Calibrator(x=(0.5, 0.1), y=(0.1, 0.2))


def test_pyfunc_input_has_no_pandas_string_or_category_dtypes():
    bundle = _bundle()
    frame = _frame(5, 10).assign(segment=["smb", None, "consumer", "smb", "enterprise"])
    out = bundle.pyfunc_input(frame)
    assert list(out.columns) == list(bundle.feature_names)
    assert out["segment"].dtype == object and out["segment"].iloc[1] is None
    assert (out[["recency_days", "spend"]].dtypes == np.float64).all()


def test_pyfunc_wrapper_loads_bundle_from_artifacts_and_returns_a_frame(tmp_path):
    bundle = _bundle()
    bundle.save(tmp_path / "b")

    class Context:
        artifacts = {"bundle": str(tmp_path / "b")}

    model = BundlePyfunc()
    model.load_context(Context())
    frame = _frame(20, 11).set_axis(range(100, 120))
    out = model.predict(None, frame)
    assert list(out.columns) == ["customer_id", "churn_probability"]
    assert list(out.index) == list(frame.index)
    assert np.array_equal(out["churn_probability"].to_numpy(), bundle.predict(frame))
    assert list(out["customer_id"]) == list(frame["customer_id"])
    no_ids = model.predict(None, frame.drop(columns="customer_id"))
    assert list(no_ids.columns) == ["churn_probability"]


def test_pyfunc_scores_any_dtype_and_ignores_extra_columns():
    bundle = _bundle("value")
    frame = _frame(30, 12)
    expected = bundle.predict(frame)
    variants = [
        frame.assign(segment=frame["segment"].astype("str")),
        frame.assign(segment=frame["segment"].astype(object)),
        frame.assign(recency_days=frame["recency_days"].round().astype("int64")),
        frame.assign(churned=1.0, label="x")[["label", *frame.columns, "churned"]],
    ]
    for variant in variants[:2] + variants[3:]:
        out = pyfunc_predict(bundle, variant)
        assert np.array_equal(out["predicted_value"].to_numpy(), expected)
    rounded = pyfunc_predict(bundle, variants[2])["predicted_value"].to_numpy()
    assert np.array_equal(rounded, bundle.predict(variants[2]))
    gaps = frame.assign(spend=frame["spend"].where(frame.index % 3 != 0))
    assert np.isfinite(pyfunc_predict(bundle, gaps)["predicted_value"]).all()


def _source_bundle() -> ModelBundle:
    bundle = _bundle()
    source = {
        "columns": {"segment": "Segment", "recency_days": "Recency Days", "spend": "spend"},
        "id_column": "Cust ID",
        "merge_levels": {"segment": {"SMB": "smb"}},
    }
    return ModelBundle(
        bundle.kind,
        bundle.booster,
        bundle.feature_names,
        bundle.categories,
        bundle.calibrator,
        {**bundle.metadata, SOURCE_KEY: source},
    )


def test_source_bundle_reads_the_files_own_columns_text_and_blanks():
    bundle = _source_bundle()
    assert bundle.input_names == ("Segment", "Recency Days", "spend")
    assert bundle.id_column == "Cust ID"
    frame = _frame(6, 13)
    source = pd.DataFrame(
        {
            "Cust ID": [f"k{i}" for i in range(6)],
            "Churn": "No",
            "Segment": [" SMB ", "smb", "consumer ", "", "enterprise", "smb"],
            "Recency Days": frame["recency_days"].map(str).where(frame.index != 2, " "),
            "spend": frame["spend"],
        },
        dtype=object,
    )
    typed = frame.assign(
        segment=["smb", "smb", "consumer", None, "enterprise", "smb"],
        recency_days=frame["recency_days"].where(frame.index != 2),
    )
    out = pyfunc_predict(bundle, source)
    assert list(out.columns) == ["customer_id", "churn_probability"]
    assert list(out["customer_id"]) == [f"k{i}" for i in range(6)]
    assert np.allclose(out["churn_probability"].to_numpy(), bundle.predict(typed))
    # a frame already named by feature is scored as it is
    assert np.array_equal(pyfunc_predict(bundle, typed)["churn_probability"], bundle.predict(typed))


def test_pyfunc_signature_names_every_input_and_types_none_of_them():
    bundle = _source_bundle()
    signature = pyfunc_signature(bundle)
    inputs = {c.name: c for c in signature.inputs.inputs}
    assert list(inputs) == ["Segment", "Recency Days", "spend", "customer_id", "Cust ID"]
    assert [c.required for c in inputs.values()] == [True, True, True, False, False]
    assert signature.outputs.input_names() == ["customer_id", "churn_probability"]
    types = pyfunc_input_types(bundle)
    assert types == {
        "Segment": "category: enterprise | smb | consumer",
        "Recency Days": "number",
        "spend": "number",
    }


def test_jsonable_handles_numpy_nan_and_timestamps():
    out = jsonable({"a": np.int64(3), "b": float("nan"), "c": pd.Timestamp("2024-01-01"), 1: (1,)})
    assert out == {"a": 3, "b": None, "c": "2024-01-01T00:00:00", "1": [1]}


def test_churn_probabilities_keep_the_raw_order_where_the_calibration_is_flat():
    # an isotonic map with a floor plateau and bounds, as training fits one
    calibrator = Calibrator((0.05, 0.2, 0.6), (0.001, 0.3, 0.999))
    raw = np.array([0.0, 0.001, 0.01, 0.04, 0.05, 0.1, 0.6, 0.7, 0.99])
    flat = calibrator.apply(raw)
    kept = keep_ranking(calibrator, raw)
    assert len(np.unique(flat)) < len(raw)  # the plateaus tie customers ...
    assert np.all(np.diff(kept) > 0)  # ... the raw order survives them
    assert np.abs(kept - flat).max() < 1e-6
    assert kept.min() >= 0.001 and kept.max() <= 0.999

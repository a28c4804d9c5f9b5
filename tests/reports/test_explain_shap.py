"""Explanations: exact SHAP values (LightGBM, shap, the tabulated kernel agree), their relation to
the calibrated probability, per-customer reasons and waterfall, global plots and drivers."""

from __future__ import annotations

import warnings

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import shap

from core.bundle import BIAS_COLUMN, ModelBundle, keep_ranking
from reports import i18n
from reports.explain_global import (
    MISSING_GROUP,
    ExplainError,
    bar_figure,
    drivers_by,
    global_explanation,
    global_figures,
    importance,
    png_bytes,
    write_global,
)
from reports.explain_local import (
    explain_customers,
    reasons_frame,
    select_customers,
    waterfall_figure,
    write_waterfall,
)
from reports.i18n import cjk_font
from scoring.treeshap.kernel import FastExplainer
from training.calibration import fit_calibrator

SEGMENTS = ("consumer", "enterprise", "smb")
REGIONS = ("central", "east", "north", "south", "west")
NUMERIC = ("recency_days", "txn_count_90d", "revenue_365d", "complaints_90d", "tenure_days")
FEATURES = ("segment", "region", *NUMERIC)


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "account_manager_id": rng.choice(["AM01", "AM02", "AM03", "AM04"], n),
            "segment": pd.Categorical(rng.choice(SEGMENTS, n), categories=SEGMENTS),
            "region": pd.Categorical(rng.choice(REGIONS, n), categories=REGIONS),
            "recency_days": rng.exponential(60, n),
            "txn_count_90d": rng.poisson(3, n).astype(float),
            "revenue_365d": rng.gamma(2.0, 500.0, n),
            "complaints_90d": rng.poisson(0.3, n).astype(float),
            "tenure_days": rng.uniform(30, 2000, n),
        }
    )
    holes = rng.random((n, 3)) < 0.05  # missing values take LightGBM's default directions
    for col, hole in zip(("recency_days", "revenue_365d", "region"), holes.T, strict=True):
        frame.loc[hole, col] = np.nan
    return frame


def _label(frame: pd.DataFrame, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logit = (
        0.02 * frame["recency_days"].fillna(200)
        - 0.3 * frame["txn_count_90d"]
        + 0.8 * frame["complaints_90d"]
        + (frame["segment"] == "consumer") * 0.7
        + (frame["region"] == "south") * 0.5
        - 1.5
    )
    return (rng.random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(float)


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    """A calibrated churn bundle with two categorical features, fitted here (seconds)."""
    train, cal = _frame(6000, 0), _frame(3000, 1)
    categories = {"segment": SEGMENTS, "region": REGIONS}
    params = {
        "objective": "binary",
        "num_leaves": 15,
        "max_depth": 6,
        "min_data_in_leaf": 40,
        "max_cat_to_onehot": 2,  # force many-vs-many categorical splits
        "learning_rate": 0.1,
        "verbose": -1,
        "seed": 0,
        "deterministic": True,
        "num_threads": 1,
    }
    empty = ModelBundle("churn", _booster(), FEATURES, categories)
    x = empty.matrix(train)
    booster = lgb.train(
        params, lgb.Dataset(x, _label(train, 2), categorical_feature=["segment", "region"]), 120
    )
    raw = booster.predict(empty.matrix(cal))
    return ModelBundle(
        "churn",
        booster,
        FEATURES,
        categories,
        fit_calibrator(raw, _label(cal, 3), "isotonic"),
        {"label_definition": "no purchase for 90 days"},
    )


def _booster() -> lgb.Booster:
    """A throw-away booster with the right feature names (ModelBundle checks them)."""
    x = pd.DataFrame(np.zeros((20, len(FEATURES))), columns=list(FEATURES))
    return lgb.train({"verbose": -1, "num_leaves": 2}, lgb.Dataset(x, np.arange(20.0)), 1)


@pytest.fixture(scope="module")
def scored() -> pd.DataFrame:
    """Rows to explain, with unseen and missing categorical levels among them."""
    frame = _frame(2000, 9)
    frame["segment"] = frame["segment"].astype(object)
    frame.loc[:4, "segment"] = ["government", None, "smb", "consumer", "enterprise"]
    return frame


def test_bundle_has_categorical_splits(bundle: ModelBundle):
    dump = bundle.booster.dump_model()["tree_info"]
    assert any('"decision_type": "=="' in str(t).replace("'", '"') for t in dump)


@pytest.mark.filterwarnings("ignore:LightGBM binary classifier")
def test_pred_contrib_equals_shap_tree_explainer(bundle: ModelBundle, scored: pd.DataFrame):
    contrib = bundle.contributions(scored)
    explainer = shap.TreeExplainer(bundle.booster)
    values = explainer.shap_values(bundle.matrix(scored))
    np.testing.assert_allclose(
        values, contrib.drop(columns=BIAS_COLUMN).to_numpy(), atol=1e-6, rtol=0
    )
    assert abs(float(np.ravel(explainer.expected_value)[0]) - contrib[BIAS_COLUMN].iloc[0]) < 1e-6


def test_tabulated_treeshap_equals_pred_contrib(bundle: ModelBundle, scored: pd.DataFrame):
    fast = FastExplainer(bundle)
    assert fast.method == "tabulated-treeshap"
    got, want = fast.contributions(scored), bundle.contributions(scored)
    assert list(got.columns) == list(want.columns)
    assert np.abs(got.to_numpy() - want.to_numpy()).max() < 1e-6


def test_shap_own_algorithm_agrees_on_numeric_features():
    """An implementation independent of LightGBM's: shap's C++ TreeSHAP (it cannot read
    LightGBM's categorical splits, so the check uses a numeric-only model)."""
    frame = _frame(3000, 4)
    x = frame[list(NUMERIC)]
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 15, "verbose": -1, "seed": 0, "num_threads": 1},
        lgb.Dataset(x, _label(frame, 5)),
        60,
    )
    explainer = shap.TreeExplainer(booster)
    explainer.model.model_type = "internal"  # skip the shortcut to LightGBM's pred_contrib
    own = explainer.shap_values(x.to_numpy(), check_additivity=False)
    np.testing.assert_allclose(own, booster.predict(x, pred_contrib=True)[:, :-1], atol=1e-6)


def test_contributions_sum_to_raw_log_odds(bundle: ModelBundle, scored: pd.DataFrame):
    total = bundle.contributions(scored).sum(axis=1).to_numpy()
    raw_p = bundle.raw_predict(scored)
    np.testing.assert_allclose(total, np.log(raw_p / (1 - raw_p)), atol=1e-9)


def test_calibrated_probability_is_a_monotone_map_of_the_contribution_sum(
    bundle: ModelBundle, scored: pd.DataFrame
):
    """What docs/explain.md states: P = calibrator(sigmoid(sum of contributions)), kept in the
    raw order (within 1e-6 of the calibrator), so the contributions explain the log-odds exactly
    and the probability's order, not its scale."""
    total = bundle.contributions(scored).sum(axis=1).to_numpy()
    p = bundle.predict(scored)
    raw = 1 / (1 + np.exp(-total))
    np.testing.assert_allclose(p, keep_ranking(bundle.calibrator, raw), atol=1e-12)
    np.testing.assert_allclose(p, bundle.calibrator.apply(raw), atol=1e-6)
    order = np.argsort(total, kind="stable")
    assert (np.diff(p[order]) >= -1e-12).all()


def test_customer_explanation_reasons_and_waterfall(
    bundle: ModelBundle, scored: pd.DataFrame, tmp_path
):
    rows = select_customers(scored, ["C00007", "C00003"])
    assert list(rows["customer_id"]) == ["C00007", "C00003"]
    first, second = explain_customers(bundle, rows, k=3, lang="zh")
    assert first.customer_id == "C00007" and len(first.reasons) == 3
    assert abs(first.base_value + first.contributions.sum() - first.raw_score) < 1e-9
    assert first.probability == pytest.approx(float(bundle.predict(rows.iloc[[0]])[0]))
    sizes = [abs(r.contribution) for r in first.reasons]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] == pytest.approx(first.contributions.abs().max())
    assert any("\u4e00" <= ch <= "\u9fff" for ch in first.reasons[0].sentence)
    png = write_waterfall(second, tmp_path / "w" / "C00003.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = reasons_frame([first, second])
    assert list(table["rank"]) == [1, 2, 3, 1, 2, 3]


def test_unknown_customer_is_a_clear_error(scored: pd.DataFrame):
    with pytest.raises(ExplainError, match="NOPE"):
        select_customers(scored, ["C00001", "NOPE"])


def test_drivers_by_group_add_up_to_the_group_mean_score(bundle: ModelBundle, scored: pd.DataFrame):
    g = global_explanation(bundle, scored, sample=None)
    assert g.method == "tabulated-treeshap" and len(g.contributions) == len(scored)
    table = drivers_by(g, "segment", top=len(FEATURES))
    assert MISSING_GROUP in table.index and "government" in table.index
    assert table["customers"].sum() == len(scored)
    raw = g.contributions.sum(axis=1) + g.base_value
    keys = scored["segment"].astype(object).fillna(MISSING_GROUP).astype(str).to_numpy()
    expected = raw.groupby(keys).mean() - g.base_value
    got = table.drop(columns=["customers", "mean_prediction"]).sum(axis=1)
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)
    imp = importance(g)
    assert imp["mean_abs_shap"].is_monotonic_decreasing
    with pytest.raises(ExplainError, match="no_such_column"):
        drivers_by(g, "no_such_column")


def test_global_plots_are_written(bundle: ModelBundle, scored: pd.DataFrame, tmp_path):
    g = global_explanation(bundle, scored, sample=400, seed=1)
    assert len(g.contributions) == 400
    written = write_global(g, tmp_path, dependence=3)
    names = {p.name for p in written}
    top = list(importance(g).index[:3])
    expected = {"shap_beeswarm.png", "shap_bar.png", "importance.csv"}
    expected |= {f"dependence_{f}.png" for f in top}
    expected |= {
        f"drivers_by_{c}.{ext}" for c in ("segment", "account_manager_id") for ext in ("png", "csv")
    }
    assert names == expected
    for path in written:
        if path.suffix == ".png":
            assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 5000
    managers = pd.read_csv(tmp_path / "drivers_by_account_manager_id.csv")
    assert set(managers["account_manager_id"]) <= {"AM01", "AM02", "AM03", "AM04"}


def _texts(fig) -> list[str]:
    """Every text a figure draws: titles, axis labels and tick labels of all its axes."""
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in (*ax.get_xticklabels(), *ax.get_yticklabels())]
    return out


def test_plots_in_chinese_use_a_cjk_font(bundle: ModelBundle, scored: pd.DataFrame):
    assert cjk_font(), "no Chinese font installed: run scripts/ensure_fonts.sh (make test does)"
    g = global_explanation(bundle, scored, sample=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figures = global_figures(g, dependence=1, lang="zh")
        figures["waterfall"] = waterfall_figure(
            explain_customers(bundle, select_customers(scored, ["C00003"]), lang="zh")[0]
        )
        pngs = {stem: png_bytes(fig) for stem, fig in figures.items()}
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []
    texts = {stem: _texts(fig) for stem, fig in figures.items()}
    assert f"流失模型：{len(scored):,} 位客户的 SHAP 值" in texts["shap_beeswarm"]
    assert {"特征值", "高", "低", "SHAP 值（流失的对数几率）"} <= set(texts["shap_beeswarm"])
    assert "流失模型：全局特征重要性" in texts["shap_bar"]
    assert any(t.startswith("个人消费者 (n=") for t in texts["drivers_by_segment"])
    assert any(t.startswith("（缺失） (n=") for t in texts["drivers_by_segment"])
    assert "按客户经理的驱动因素" in texts["drivers_by_account_manager_id"]
    assert any(t.startswith("客户 C00003：流失概率") for t in texts["waterfall"])
    english = {stem: _texts(fig) for stem, fig in global_figures(g, dependence=1).items()}
    assert "churn model: global feature importance" in english["shap_bar"]
    assert {"Feature value", "High", "Low"} <= set(english["shap_beeswarm"])
    assert all(png[:4] == b"\x89PNG" for png in pngs.values())


def test_no_cjk_font_warns_once(bundle: ModelBundle, scored: pd.DataFrame, monkeypatch):
    """A machine without a Chinese font (simulated) still draws, with a warning that says how to
    install one; matplotlib then reports the missing glyphs, which the checks above look for."""
    monkeypatch.setattr(i18n, "cjk_font", lambda: None)
    g = global_explanation(bundle, scored, sample=200, seed=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = png_bytes(bar_figure(g, lang="zh"))
    messages = [str(w.message) for w in caught]
    no_font = i18n.tr("note_no_font", "en")
    assert messages.count(no_font) == 1 and "scripts/ensure_fonts.sh" in no_font
    assert any("missing from font" in m for m in messages)
    assert png[:4] == b"\x89PNG"

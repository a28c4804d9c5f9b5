"""Snapshot mode: churn (and value) models on one row per customer with a churn flag.

Snapshot exports have no event history, so the point-in-time pipelines and the time split do not
apply. Instead: stratified k-fold cross-validation in which every group of duplicate rows stays inside
one fold (duplicates split across folds would let a model recall a test row). In each fold the
project's LightGBM churn model is fitted with early stopping and calibration on an inner validation
part of the training folds, and scored on the test fold with the project's metrics beside logistic
regression (the project's pipeline) and the data set's own simple rules. Where the snapshot has a
customer-value column, the value model predicts the value kept at the label date (the value if the
customer stayed, 0 if they churned) against carrying the value forward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final

import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import Field
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from core.bundle import SOURCE_KEY, Calibrator, ModelBundle, encode_features
from core.config import Frozen
from core.economics import CampaignEconomics, saved_value
from features.adapters.snapshot import LABEL, VALUE, SnapshotData
from training.boosting import fit_booster, lgb_params
from training.calibration import fit_calibrator, fit_isotonic
from training.candidates import fit_candidate
from training.config import BoosterParams, TrainingConfig
from training.evaluation.baselines import as_sklearn, logistic_pipeline
from training.evaluation.metrics import churn_metrics, gains_curve, value_metrics
from training.spec import FeatureSpec, TrainingDataError

MODEL = "lightgbm"
LOGISTIC = "logistic_regression"
CARRY_FORWARD = "carry_forward"
RETAINED = "retained_value"
LR_BOOSTED: Final = "lr_boosted"

Rules = Callable[[pd.DataFrame], dict[str, np.ndarray]]


class SnapshotConfig(Frozen):
    """Cross-validation of snapshot data."""

    folds: int = Field(5, ge=2, le=20)
    inner_folds: int = Field(5, ge=2, le=20)
    """Each training part is split once more: one of ``inner_folds`` parts early-stops,
    calibrates and chooses the tree shape, the rest fit."""
    churn_candidates: tuple[BoosterParams, ...] = (
        BoosterParams(),
        BoosterParams(num_leaves=4, min_data_in_leaf=50),
        BoosterParams(num_leaves=31, min_data_in_leaf=20),
        BoosterParams(num_leaves=63, max_depth=-1, min_data_in_leaf=5, max_rounds=2000),
    )
    """Tree shapes tried in every fold (the training config's own first); the one with the lowest
    inner-validation log loss is kept. Snapshots range from near-linear (Telco) to interaction-rich
    (e-commerce), and a few thousand rows cannot carry one fixed shape well."""
    refit: bool = True
    """Cross-fit the churn model: every one of the ``inner_folds`` parts early-stops a fit on the
    others, the shape of lowest mean log loss is refitted on all the training rows for the mean
    number of rounds (scaled to the larger data), and the calibrator is fitted on the parts'
    out-of-fold predictions. Off: one part early-stops and calibrates and the rest fit (faster,
    but a fifth of the rows never trains the model)."""
    lr_boosted: bool = True
    """With ``refit``, the cross-fit also tries LightGBM boosted from a logistic regression's
    score (:mod:`training.candidates`), chosen like a tree shape by mean out-of-fold log loss:
    on a near-linear snapshot (Telco) trees alone did not reach the logistic regression."""


@dataclass(frozen=True)
class SnapshotResult:
    """Mean and standard deviation over folds of every scorer's metrics, and out-of-fold scores."""

    name: str
    rows: int
    churn_rate: float
    folds: int
    churn: dict[str, dict[str, float]]
    churn_std: dict[str, dict[str, float]]
    value: dict[str, dict[str, float]]
    value_std: dict[str, dict[str, float]]
    out_of_fold: pd.DataFrame
    notes: tuple[str, ...]


def snapshot_spec(data: SnapshotData) -> FeatureSpec:
    """Feature names and categorical levels of a snapshot (levels from its category dtypes)."""
    cats = {
        c: tuple(str(v) for v in data.frame[c].cat.categories)
        for c in data.categorical
        if isinstance(data.frame[c].dtype, pd.CategoricalDtype)
    }
    return FeatureSpec(tuple(data.features), cats)


def group_folds(
    y: np.ndarray, groups: np.ndarray, k: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k folds that never split a group of duplicate rows: (train, test) positions.

    Groups of one label (duplicates share their label) are stratified as units with
    ``StratifiedKFold``; groups mixing labels fall back to ``StratifiedGroupKFold``.
    """
    if len(np.unique(y)) < 2:
        raise TrainingDataError("the churn label has a single value; nothing to rank")
    ids, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    label = y[first]
    if np.array_equal(label[inverse], y):
        kfold = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        rows = np.arange(len(y))
        return [
            (rows[~np.isin(inverse, test)], rows[np.isin(inverse, test)])
            for _, test in kfold.split(np.zeros(len(ids)), label)
        ]
    mixed = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(mixed.split(np.zeros(len(y)), y, groups))


def inner_split(
    rows: np.ndarray, y: np.ndarray, groups: np.ndarray, cfg: SnapshotConfig, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Training ``rows`` split once more into (fit, validation) positions: one of
    ``cfg.inner_folds`` stratified, duplicate-grouped parts early-stops and calibrates."""
    fit, valid = group_folds(y[rows], groups[rows], cfg.inner_folds, seed + 1)[0]
    return rows[fit], rows[valid]


def churn_shapes(cfg: TrainingConfig, snap: SnapshotConfig) -> list[BoosterParams]:
    """The tree shapes a snapshot churn fit tries: the training config's own, then the candidates."""
    return list(dict.fromkeys((cfg.churn.params, *snap.churn_candidates)))


def train_rounds(
    x: pd.DataFrame, y: np.ndarray, params: dict[str, object], categorical: list[str], rounds: int
) -> lgb.Booster:
    """A booster of exactly ``rounds`` trees (no early stopping), re-read from its model text."""
    data = lgb.Dataset(x, y, categorical_feature=categorical, params=params)
    booster = lgb.train(params, data, num_boost_round=rounds)
    return lgb.Booster(model_str=booster.model_to_string())


def refit_churn(
    bundle: ModelBundle,
    frame: pd.DataFrame,
    spec: FeatureSpec,
    rows: np.ndarray,
    trained_rows: int,
    cfg: TrainingConfig,
    snap: SnapshotConfig,
) -> ModelBundle:
    """A cross-fitted ``bundle`` refitted on ``rows`` (more than the ``trained_rows`` it saw):
    same candidate, tree shape and calibrator, rounds scaled with the rows."""
    rounds = max(1, round(int(bundle.metadata["best_iteration"]) * len(rows) / trained_rows))
    x = encode_features(frame.iloc[rows], spec.names, spec.categories)
    y = frame[LABEL].to_numpy(np.float64)[rows]
    meta = {**bundle.metadata, "best_iteration": rounds, "refit_rows": len(rows)}
    if bundle.metadata.get("candidate") == LR_BOOSTED:
        c = fit_candidate(LR_BOOSTED, spec, cfg, (x, y), rounds=rounds)
        return replace(bundle, booster=c.booster, linear=c.linear, metadata=meta)
    shape = churn_shapes(cfg, snap)[int(bundle.metadata["shape_index"])]
    params = lgb_params(shape, {"objective": "binary", "metric": "binary_logloss"}, cfg)
    booster = train_rounds(x, y, params, spec.categorical, rounds)
    return replace(bundle, booster=booster, metadata=meta)


def fit_churn_crossfit(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    rows: np.ndarray,
    groups: np.ndarray,
    cfg: TrainingConfig,
    snap: SnapshotConfig,
    seed: int,
) -> ModelBundle:
    """The churn model cross-fitted on ``rows`` (see :attr:`SnapshotConfig.refit`)."""
    x = encode_features(frame, spec.names, spec.categories)
    y = frame[LABEL].to_numpy(np.float64)
    parts = group_folds(y[rows], groups[rows], snap.inner_folds, seed + 1)
    objective = {"objective": "binary", "metric": "binary_logloss"}
    shapes = churn_shapes(cfg, snap)
    tried: list[tuple[float, BoosterParams | None, dict[str, Any], np.ndarray, float]] = []
    for shape in shapes:
        params = lgb_params(shape, objective, cfg)
        oof, rounds, loss = np.zeros(len(rows)), [], []
        for fit, valid in parts:
            f = fit_booster(
                x.iloc[rows[fit]],
                y[rows[fit]],
                x.iloc[rows[valid]],
                y[rows[valid]],
                params,
                spec.categorical,
                shape.max_rounds,
                cfg.early_stopping_rounds,
            )
            oof[valid] = f.booster.predict(x.iloc[rows[valid]])
            rounds.append(f.best_iteration)
            loss.append(f.best_score)
        tried.append((float(np.mean(loss)), shape, params, oof, float(np.mean(rounds))))
    if snap.lr_boosted:
        oof, rounds, loss = np.zeros(len(rows)), [], []
        for fit, valid in parts:
            c = fit_candidate(
                LR_BOOSTED,
                spec,
                cfg,
                (x.iloc[rows[fit]], y[rows[fit]]),
                (x.iloc[rows[valid]], y[rows[valid]]),
            )
            oof[valid] = c.raw(x.iloc[rows[valid]])
            rounds.append(c.rounds)
            loss.append(log_loss(y[rows[valid]], oof[valid], labels=[0.0, 1.0]))
        tried.append((float(np.mean(loss)), None, {}, oof, float(np.mean(rounds))))
    best = int(np.argmin([t[0] for t in tried]))
    _, chosen, params, oof, mean_rounds = tried[best]
    n_rounds = max(1, round(mean_rounds * snap.inner_folds / (snap.inner_folds - 1)))
    linear = None
    if chosen is None:
        c = fit_candidate(LR_BOOSTED, spec, cfg, (x.iloc[rows], y[rows]), rounds=n_rounds)
        booster, linear = c.booster, c.linear
    else:
        booster = train_rounds(x.iloc[rows], y[rows], params, spec.categorical, n_rounds)
    calibrator = fit_calibrator(oof, y[rows], cfg.churn.calibration, cfg.churn.min_probability)
    meta = {
        "mode": "snapshot",
        "best_iteration": n_rounds,
        "shape_index": best,
        "candidate": LR_BOOSTED if chosen is None else "lightgbm",
        "refit": True,
    }
    return ModelBundle("churn", booster, spec.names, spec.categories, calibrator, meta, linear)


def snapshot_churn(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    rows: np.ndarray,
    groups: np.ndarray,
    cfg: TrainingConfig,
    snap: SnapshotConfig,
    seed: int,
) -> ModelBundle:
    """The snapshot churn model on training ``rows``: cross-fitted (``snap.refit``) or fitted on
    all but one inner part, which early-stops and calibrates."""
    if snap.refit:
        return fit_churn_crossfit(frame, spec, rows, groups, cfg, snap, seed)
    y = frame[LABEL].to_numpy(np.float64)
    fit_rows, valid_rows = inner_split(rows, y, groups, snap, seed)
    return fit_churn_bundle(frame, spec, fit_rows, valid_rows, cfg, snap.churn_candidates)


def _value_objective(cfg: TrainingConfig) -> dict[str, object]:
    v = cfg.value
    if v.objective == "tweedie":
        return {"objective": "tweedie", "tweedie_variance_power": v.tweedie_variance_power}
    return {"objective": v.objective}


def fit_churn_bundle(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    fit_rows: np.ndarray,
    valid_rows: np.ndarray,
    cfg: TrainingConfig,
    candidates: tuple[BoosterParams, ...] = (),
) -> ModelBundle:
    """The project's churn model on ``fit_rows``, early-stopped and calibrated on ``valid_rows``;
    with ``candidates``, the tree shape (``cfg``'s own or a candidate) of lowest validation loss."""
    x = encode_features(frame, spec.names, spec.categories)
    y = frame[LABEL].to_numpy(np.float64)
    objective = {"objective": "binary", "metric": "binary_logloss"}
    fits = [
        fit_booster(
            x.iloc[fit_rows],
            y[fit_rows],
            x.iloc[valid_rows],
            y[valid_rows],
            lgb_params(shape, objective, cfg),
            spec.categorical,
            shape.max_rounds,
            cfg.early_stopping_rounds,
        )
        for shape in dict.fromkeys((cfg.churn.params, *candidates))
    ]
    best = int(np.argmin([f.best_score for f in fits]))
    fitted = fits[best]
    raw = np.asarray(fitted.booster.predict(x.iloc[valid_rows]), dtype=float)
    calibrator = fit_calibrator(
        raw, y[valid_rows], cfg.churn.calibration, cfg.churn.min_probability
    )
    meta = {"mode": "snapshot", "best_iteration": fitted.best_iteration, "shape_index": best}
    return ModelBundle("churn", fitted.booster, spec.names, spec.categories, calibrator, meta)


def fit_value_bundle(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    target: np.ndarray,
    fit_rows: np.ndarray,
    valid_rows: np.ndarray,
    cfg: TrainingConfig,
) -> ModelBundle:
    """The project's value model of ``target`` on ``fit_rows``, early-stopped on ``valid_rows``."""
    x = encode_features(frame, spec.names, spec.categories)
    fitted = fit_booster(
        x.iloc[fit_rows],
        target[fit_rows],
        x.iloc[valid_rows],
        target[valid_rows],
        lgb_params(cfg.value.params, _value_objective(cfg), cfg),
        spec.categorical,
        cfg.value.params.max_rounds,
        cfg.early_stopping_rounds,
    )
    meta = {"mode": "snapshot", "best_iteration": fitted.best_iteration}
    return ModelBundle("value", fitted.booster, spec.names, spec.categories, Calibrator(), meta)


def contact_costs(data: SnapshotData, economics: CampaignEconomics) -> np.ndarray | None:
    """Each customer's contact cost (a blank one is the configured ``cost_per_contact``), or None
    when the snapshot has no cost column."""
    if data.cost is None:
        return None
    cost = data.frame[data.cost].to_numpy(np.float64)
    return np.where(np.isnan(cost), economics.cost_per_contact, cost)


def campaign_with_costs(
    p: np.ndarray,
    y: np.ndarray,
    value: np.ndarray,
    cost: np.ndarray,
    economics: CampaignEconomics,
) -> dict[str, float]:
    """``campaign_profit`` and ``campaign_contact_share`` of the best campaign when each customer
    has their own contact cost.

    The list and the saved value are those of :func:`training.evaluation.metrics.churn_metrics`
    (order by ``p x value``; a contacted churner is saved with ``success_rate``); the cost of the
    top n is the sum of their costs: :func:`core.economics.saved_value` with that sum as the
    cost.
    """
    v = np.nan_to_num(np.asarray(value, float))
    at_risk = np.asarray(p, float) * v
    counts, saved = gains_curve(at_risk, np.where(np.asarray(y) > 0, v, 0.0))
    _, spent = gains_curve(at_risk, np.asarray(cost, float))
    profit = saved_value(saved, economics.success_rate, spent)
    best = int(np.argmax(profit))
    return {
        "campaign_profit": float(profit[best]),
        "campaign_contact_share": float(counts[best] / max(len(at_risk), 1)),
    }


def source_metadata(data: SnapshotData) -> dict[str, object]:
    """The bundle metadata (:data:`core.bundle.SOURCE_KEY`) that lets the logged model read the
    snapshot's own file: feature -> column, the id column, merged level spellings."""
    if data.spec is None:
        return {}
    names = data.spec.feature_names()
    merge = {names[c]: dict(m) for c, m in data.spec.merge_levels.items() if c in names}
    return {
        SOURCE_KEY: {
            "columns": data.source_columns,
            "id_column": data.spec.id_column,
            "merge_levels": merge,
        }
    }


def rule_probability(score: np.ndarray, y: np.ndarray, train: np.ndarray) -> np.ndarray:
    """A rule score as a probability: isotonic map of its training-fold empirical CDF."""
    ref = np.sort(score[train])
    cdf = np.searchsorted(ref, score, side="right") / len(ref)
    return fit_isotonic(cdf[train], y[train]).apply(cdf)


def _summarise(per_fold: list[dict[str, dict[str, float]]]) -> tuple[dict, dict]:
    names = per_fold[0].keys()
    mean, std = {}, {}
    for name in names:
        table = pd.DataFrame([f[name] for f in per_fold])
        mean[name] = table.mean().to_dict()
        std[name] = table.std(ddof=1).to_dict()
    return mean, std


def cross_validate(
    data: SnapshotData,
    rules: Rules,
    cfg: TrainingConfig = TrainingConfig(),
    snap: SnapshotConfig = SnapshotConfig(),
) -> SnapshotResult:
    """Stratified, duplicate-grouped k-fold CV of the churn model, logistic regression and the
    data set's rules (and of the value model against carry-forward when a value column exists)."""
    frame, spec = data.frame, snapshot_spec(data)
    y = frame[LABEL].to_numpy(np.float64)
    value = frame[VALUE].to_numpy(np.float64) if data.value else None
    lost = value if value is not None else np.ones(len(y))
    cost = contact_costs(data, cfg.campaign)
    rule_scores = rules(frame)
    x_lr = as_sklearn(frame, spec)
    oof = pd.DataFrame({"customer_id": frame["customer_id"].to_numpy(), LABEL: y})
    oof["fold"] = -1
    churn_folds: list[dict[str, dict[str, float]]] = []
    value_folds: list[dict[str, dict[str, float]]] = []
    metric_args: dict[str, Any] = {
        "top_k_shares": cfg.top_k_shares,
        "economics": cfg.campaign,
        "bins": cfg.calibration_bins,
    }
    for k, (train, test) in enumerate(group_folds(y, data.groups, snap.folds, cfg.seed)):
        oof.loc[test, "fold"] = k
        fit_rows, valid_rows = inner_split(train, y, data.groups, snap, cfg.seed + k)
        bundle = snapshot_churn(frame, spec, train, data.groups, cfg, snap, cfg.seed + k)
        p_model = bundle.predict(frame.iloc[test])
        oof.loc[test, f"p_{MODEL}"] = p_model
        lr = logistic_pipeline(spec, cfg.seed).fit(x_lr.iloc[train], y[train])
        p_lr = lr.predict_proba(x_lr.iloc[test])[:, 1]
        oof.loc[test, f"p_{LOGISTIC}"] = p_lr
        fold = {
            MODEL: churn_metrics(p_model, y[test], lost[test], **metric_args),
            LOGISTIC: churn_metrics(p_lr, y[test], lost[test], **metric_args),
        }
        probs = {MODEL: p_model, LOGISTIC: p_lr}
        for name, score in rule_scores.items():
            p_rule = rule_probability(score, y, train)[test]
            fold[name] = churn_metrics(
                p_rule, y[test], lost[test], rank_score=score[test], **metric_args
            )
            probs[name] = p_rule
        if cost is not None:
            for name, p in probs.items():
                fold[name].update(
                    campaign_with_costs(p, y[test], lost[test], cost[test], cfg.campaign)
                )
        churn_folds.append(fold)
        if value is not None:
            kept = value * (1.0 - y)
            vb = fit_value_bundle(frame, spec, kept, fit_rows, valid_rows, cfg)
            v_pred = vb.predict(frame.iloc[test])
            oof.loc[test, "value_predicted"] = v_pred
            value_folds.append(
                {
                    MODEL: value_metrics(kept[test], v_pred, cfg.calibration_bins),
                    CARRY_FORWARD: value_metrics(kept[test], value[test], cfg.calibration_bins),
                }
            )
    churn, churn_std = _summarise(churn_folds)
    val, val_std = _summarise(value_folds) if value_folds else ({}, {})
    notes = list(data.notes)
    if data.duplicate_rows:
        notes.append(
            f"{data.duplicate_rows} row(s) repeat another row's features and label; each group of "
            "duplicates is kept inside one fold (folds are drawn over the groups), so none is both "
            "trained on and tested"
        )
    if cost is not None:
        notes.append(
            f"campaign profit counts each customer's own contact cost (mean {cost.mean():.2f}) "
            "instead of one cost per contact"
        )
    if value is not None:
        notes.append(
            f"value target ({RETAINED}): the customer value kept at the label date, i.e. the value "
            "column if the customer stayed and 0 if they churned; carry-forward predicts the value "
            "column for everyone"
        )
    return SnapshotResult(
        name=data.name,
        rows=len(frame),
        churn_rate=float(y.mean()),
        folds=snap.folds,
        churn=churn,
        churn_std=churn_std,
        value=val,
        value_std=val_std,
        out_of_fold=oof,
        notes=tuple(notes),
    )

"""Learn the uplift of a past campaign (``churn train-uplift``): choose the learner by
cross-validated Qini on the training share, judge every learner on a stratified holdout with
bootstrap intervals, and register the chosen one as ``<name>-uplift-model@champion``.

One setting for every data set: the candidates (:data:`CANDIDATES`), the boosters' shape
(:class:`training.uplift.config.UpliftParams` defaults), the folds and the holdout share.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.bundle import SOURCE_KEY, encode_features
from core.csv_out import to_csv_text
from core.uplift import ARTIFACT_KEY, PYFUNC_SCRIPT, TREATED, UpliftError, UpliftModel
from training.uplift.campaign import OUTCOME, Campaign
from training.uplift.config import UpliftConfig
from training.uplift.metrics import auuc, qini_coefficient
from training.uplift.model import Learner, Objective, fit_learner

CANDIDATES: tuple[Learner, ...] = ("x", "t", "to", "linear")
"""The learners cross-validation chooses among (see :mod:`core.uplift`)."""
LEARNER_NAMES = {
    "x": "X-learner (LightGBM)",
    "t": "two models (LightGBM)",
    "to": "transformed outcome (LightGBM)",
    "linear": "transformed outcome (linear)",
}
FOLDS = 3
HOLDOUT_SHARE = 0.3
BOOTSTRAP = 100
TOP_SHARE = 0.3


@dataclass(frozen=True)
class CampaignResult:
    """The chosen model, the cross-validated choice and the holdout table."""

    model: UpliftModel
    chosen: Learner
    cv_qini: dict[str, float]
    evaluation: pd.DataFrame  # one row per ranking: qini, its interval, auuc, its interval
    train_rows: int
    holdout_rows: int


def strata(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Treated x outcome (a numeric outcome: above its median, or above 0 when that is 0)."""
    levels = np.unique(y[~np.isnan(y)])
    high = y > (np.median(y) if len(levels) > 2 else levels[0])
    return t.astype(int) * 2 + high.astype(int)


def stratified_split(groups: np.ndarray, share: float, seed: int) -> np.ndarray:
    """A boolean mask of ``share`` of each group's rows, drawn at random."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(groups), dtype=bool)
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        held[rng.choice(idx, int(round(share * len(idx))), replace=False)] = True
    return held


def fit_model(
    x: pd.DataFrame,
    y: np.ndarray,
    t: np.ndarray,
    learner: Learner,
    objective: Objective,
    categories: dict[str, tuple[str, ...]],
    cfg: UpliftConfig,
    seed: int,
) -> UpliftModel:
    """One learner on encoded rows; its effect is treated minus control (``sign = -1``)."""
    valid = np.random.default_rng(seed).random(len(x)) < cfg.validation_share
    boosters, linear = fit_learner(x, y, t, valid, learner, objective, categories, cfg, seed)
    names = tuple(str(c) for c in x.columns)
    return UpliftModel(learner, boosters, names, categories, float(t.mean()), {}, -1.0, linear)


@dataclass(frozen=True)
class CrossValidation:
    """Each candidate's Qini coefficient on each of the :data:`FOLDS` folds."""

    folds: dict[str, tuple[float, ...]]

    @property
    def mean(self) -> dict[str, float]:
        """Each candidate's mean over the folds."""
        return {k: float(np.mean(v)) for k, v in self.folds.items()}

    @property
    def standard_error(self) -> dict[str, float]:
        """Each candidate's standard error of that mean: the folds' std (ddof 1) / sqrt(folds)."""
        return {k: float(np.std(v, ddof=1) / np.sqrt(len(v))) for k, v in self.folds.items()}


def fold_of(t: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Each row's fold (0 .. :data:`FOLDS` - 1), stratified by treated x outcome."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=int)
    groups = strata(t, y)
    for g in np.unique(groups):
        idx = rng.permutation(np.flatnonzero(groups == g))
        fold[idx] = np.arange(len(idx)) % FOLDS
    return fold


def out_of_fold(
    x: pd.DataFrame,
    y: np.ndarray,
    t: np.ndarray,
    objective: Objective,
    categories: dict[str, tuple[str, ...]],
    cfg: UpliftConfig,
    seed: int,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Each row's fold and each candidate's effect on it from the model fitted on the others."""
    fold = fold_of(t, y, seed)
    effects: dict[str, np.ndarray] = {k: np.empty(len(y)) for k in CANDIDATES}
    for learner in CANDIDATES:
        for k in range(FOLDS):
            tr, te = fold != k, fold == k
            m = fit_model(x[tr], y[tr], t[tr], learner, objective, categories, cfg, seed)
            effects[learner][te] = m.predict(x[te])
    return fold, effects


def fold_qini(
    y: np.ndarray, t: np.ndarray, fold: np.ndarray, effects: dict[str, np.ndarray]
) -> CrossValidation:
    """The Qini coefficient of each ranking in ``effects`` on each fold."""
    return CrossValidation(
        {
            name: tuple(
                float(qini_coefficient(y[fold == k], t[fold == k], e[fold == k]))
                for k in range(FOLDS)
            )
            for name, e in effects.items()
        }
    )


def cross_validated_qini(
    x: pd.DataFrame,
    y: np.ndarray,
    t: np.ndarray,
    objective: Objective,
    categories: dict[str, tuple[str, ...]],
    cfg: UpliftConfig,
    seed: int,
) -> CrossValidation:
    """The Qini coefficient of each candidate on each of :data:`FOLDS` stratified folds."""
    fold, effects = out_of_fold(x, y, t, objective, categories, cfg, seed)
    return fold_qini(y, t, fold, effects)


def evaluate(
    y: np.ndarray, t: np.ndarray, scores: dict[str, np.ndarray], draws: int, seed: int
) -> pd.DataFrame:
    """Qini and AUUC of each ranking with 95% bootstrap intervals (the same draws for all)."""
    rng = np.random.default_rng(seed)
    samples = [rng.integers(0, len(y), len(y)) for _ in range(draws)]
    rows = {}
    for name, s in scores.items():
        row: dict[str, float] = {}
        for metric, fn in (("qini", qini_coefficient), ("auuc", auuc)):
            boot = np.array([fn(y[i], t[i], s[i]) for i in samples])
            lo, hi = np.nanpercentile(boot, [2.5, 97.5])
            row |= {metric: fn(y, t, s), f"{metric}_low": lo, f"{metric}_high": hi}
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def train_campaign(
    campaign: Campaign, cfg: UpliftConfig | None = None, seed: int = 7, draws: int = BOOTSTRAP
) -> CampaignResult:
    """Choose, fit and judge (see the module docstring); the model is fitted on the training
    share, so what the holdout says is what was registered."""
    cfg = cfg or UpliftConfig()
    frame = campaign.frame
    y, t = frame[OUTCOME].to_numpy(np.float64), frame[TREATED].to_numpy(np.int64)
    x = encode_features(frame, campaign.features, campaign.categories)
    objective: Objective = "binary" if campaign.outcome_kind == "binary" else "regression"
    held = stratified_split(strata(t, y), HOLDOUT_SHARE, seed)
    tr = ~held
    if min(t[held].sum(), (1 - t[held]).sum()) == 0:
        raise UpliftError("the holdout has no treated or no control rows")
    cv = cross_validated_qini(x[tr], y[tr], t[tr], objective, campaign.categories, cfg, seed).mean
    chosen: Learner = max(CANDIDATES, key=lambda k: cv[k])
    models = {
        k: fit_model(x[tr], y[tr], t[tr], k, objective, campaign.categories, cfg, seed)
        for k in CANDIDATES
    }
    scores = {f"model: {LEARNER_NAMES[chosen]}": models[chosen].predict(x[held])}
    scores |= {LEARNER_NAMES[k]: m.predict(x[held]) for k, m in models.items() if k != chosen}
    scores["random"] = np.random.default_rng(seed + 1).random(int(held.sum()))
    evaluation = evaluate(y[held], t[held], scores, draws, seed)
    meta = {
        SOURCE_KEY: campaign.source,
        "kind": "campaign uplift",
        "data_set": campaign.name,
        "treatment": campaign.treatment,
        "outcome": campaign.outcome_kind,
        "effect": "treated minus control: P(outcome) for a binary outcome, its mean otherwise",
        "cv_qini": cv,
        "rows": int(tr.sum()),
    }
    model = models[chosen]
    model = UpliftModel(
        model.learner,
        model.boosters,
        model.feature_names,
        model.categories,
        model.treated_share,
        meta,
        model.sign,
        model.linear,
    )
    return CampaignResult(model, chosen, cv, evaluation, int(tr.sum()), int(held.sum()))


def register_campaign(result: CampaignResult, name: str, tracking_uri: str) -> tuple[str, str]:
    """Log the model to a run of the ``uplift`` experiment, register it as ``name`` and make it
    the champion; (version, run id)."""
    import mlflow

    from core.registry import client_for, make_champion
    from training.tracking import ensure_experiment, using_store

    client = client_for(tracking_uri)
    experiment = ensure_experiment(client, "uplift", tracking_uri)
    with using_store(tracking_uri), tempfile.TemporaryDirectory() as tmp:
        with mlflow.start_run(experiment_id=experiment, run_name=name) as run:
            ev = result.evaluation
            keys = {name: key for key, name in LEARNER_NAMES.items()}  # names hold "(", refused
            mlflow.log_metrics(
                {
                    f"{keys.get(str(r), str(r).split(':')[0])}.{m}": float(v)
                    for r, row in ev.iterrows()
                    for m, v in row.items()
                    if np.isfinite(v)
                }
            )
            mlflow.log_params({"learner": result.chosen, "rows.train": result.train_rows})
            mlflow.log_text(to_csv_text(ev, index=True), "uplift/evaluation.csv")
            folder = result.model.save(Path(tmp) / ARTIFACT_KEY)
            script = Path(tmp) / "uplift_model.py"
            script.write_text(PYFUNC_SCRIPT, encoding="utf-8")
            with contextlib.redirect_stderr(io.StringIO()):
                info = mlflow.pyfunc.log_model(
                    name="uplift_model",
                    python_model=str(script),
                    artifacts={ARTIFACT_KEY: str(folder)},
                    registered_model_name=name,
                    pip_requirements=[
                        f"lightgbm=={_version('lightgbm')}",
                        f"mlflow=={_version('mlflow')}",
                    ],
                    metadata={"kind": "uplift", "output": "customer_id, uplift"},
                )
        version = str(info.registered_model_version)
    make_champion(client, name, version, f"train-uplift: {LEARNER_NAMES[result.chosen]}")
    return version, run.info.run_id


def _version(pkg: str) -> str:
    from importlib.metadata import version

    return version(pkg)

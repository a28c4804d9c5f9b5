"""The uplift stage of a training run: learn from the contacts, judge on held-out campaigns, log,
register ``uplift-model`` with the run's churn and value models, and gate the three together."""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

from core.csv_out import to_csv_text
from core.notes import note
from core.registry import CHAMPION, RUN_TAG, alias_version
from core.uplift import ARTIFACT_KEY, PYFUNC_SCRIPT, TREATED, UpliftModel, load_uplift
from features.config import FeatureConfig
from features.dataset import Dataset
from training.fit import Trained
from training.promotion import FIRST, Comparison, Decision, because, cannot_score, worse_metric
from training.spec import CHURN_LABEL
from training.uplift.config import UpliftConfig, UpliftError
from training.uplift.data import contact_rows, split_rows
from training.uplift.metrics import auuc, qini_coefficient, uplift_at
from training.uplift.model import fit_uplift

log = logging.getLogger(__name__)
RANDOM_DRAWS = 20
TOP_SHARE = 0.3
EVALUATION_ARTIFACT = "uplift/evaluation.csv"


@dataclass(frozen=True)
class UpliftResult:
    """A fitted uplift model, its held-out rows and how each ranking did on them."""

    model: UpliftModel
    holdout: pd.DataFrame
    evaluation: pd.DataFrame  # one row per ranking: qini, auuc, uplift_top30
    train_rows: int
    campaigns: dict[str, str]

    @property
    def qini(self) -> float:
        return float(self.evaluation.loc["uplift_model", "qini"])


def evaluate_rankings(
    holdout: pd.DataFrame, scores: dict[str, np.ndarray], seed: int
) -> pd.DataFrame:
    """Qini coefficient, AUUC and the observed uplift among the top 30% of each ranking, plus
    the mean of random rankings; success is staying (not churning)."""
    y = 1.0 - holdout[CHURN_LABEL].to_numpy(float)
    t = holdout[TREATED].to_numpy(int)
    rows = {}
    for name, s in scores.items():
        rows[name] = {
            "qini": qini_coefficient(y, t, s),
            "auuc": auuc(y, t, s),
            f"uplift_top{int(TOP_SHARE * 100)}": uplift_at(y, t, s, TOP_SHARE),
        }
    rng = np.random.default_rng(seed)
    draws = [rng.random(len(y)) for _ in range(RANDOM_DRAWS)]
    rows["random"] = {
        "qini": float(np.mean([qini_coefficient(y, t, d) for d in draws])),
        "auuc": float(np.mean([auuc(y, t, d) for d in draws])),
        f"uplift_top{int(TOP_SHARE * 100)}": float(
            np.nanmean([uplift_at(y, t, d, TOP_SHARE) for d in draws])
        ),
    }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "ranking"
    out.insert(0, "rows", len(y))
    return out


def train_uplift(
    ds: Dataset,
    frame: pd.DataFrame,
    trained: Trained,
    features: FeatureConfig,
    cfg: UpliftConfig,
    seed: int,
) -> UpliftResult | None:
    """Fit and evaluate the uplift model on the data's contacts; None when the data has none.

    Raises :class:`UpliftError` when the contacts are too few to learn from or to judge on."""
    if not cfg.enabled or "contacts" not in ds.tables or ds.tables["contacts"].empty:
        return None
    plan = trained.plan
    rows = contact_rows(ds, features, plan.horizon_days, frame)
    if rows.empty:
        raise UpliftError(note("uplift_no_horizon"))
    split = split_rows(rows, plan.test, plan.horizon_days)
    if split.holdout[TREATED].nunique() < 2:
        after = plan.test - pd.Timedelta(days=plan.horizon_days)
        raise UpliftError(note("uplift_no_holdout", after=after))
    model = fit_uplift(split.train, trained.spec, cfg, seed)
    h = split.holdout
    risk = trained.churn.predict(h)
    scores = {
        "uplift_model": model.predict(h),
        "risk": risk,
        "value_at_risk": risk * trained.value.predict(h),
    }
    evaluation = evaluate_rankings(h, scores, seed)
    when = {
        "train": f"{split.train['cutoff'].min():%Y-%m} to {split.train['cutoff'].max():%Y-%m}",
        "holdout": f"{h['cutoff'].min():%Y-%m} to {h['cutoff'].max():%Y-%m}",
    }
    meta = {
        **model.metadata,
        "campaigns": when,
        "horizon_days": plan.horizon_days,
        "feature_config": features.model_dump(mode="json"),
    }
    model = replace(model, metadata=meta)
    return UpliftResult(model, h, evaluation, len(split.train), when)


def log_uplift(result: UpliftResult, cfg: UpliftConfig, run_id: str, client: MlflowClient) -> str:
    """Log metrics, the evaluation table and the model to the active run, register it with the
    run's ``run_id`` tag; returns the registered version."""
    ev = result.evaluation
    mlflow.log_metrics(
        {
            f"uplift/{ranking}/{metric}": float(v)
            for ranking, row in ev.drop(columns="rows").iterrows()
            for metric, v in row.items()
            if np.isfinite(v)
        }
    )
    mlflow.log_params(
        {
            "uplift.learner": cfg.learner,
            "uplift.rows.train": str(result.train_rows),
            "uplift.rows.holdout": str(len(result.holdout)),
            "uplift.campaigns.train": result.campaigns["train"],
            "uplift.campaigns.holdout": result.campaigns["holdout"],
        }
    )
    mlflow.log_text(to_csv_text(ev, index=True), EVALUATION_ARTIFACT)
    model = replace(result.model, metadata={**result.model.metadata, "run_id": run_id})
    with tempfile.TemporaryDirectory() as tmp:
        folder = model.save(Path(tmp) / ARTIFACT_KEY)
        script = Path(tmp) / "uplift_model.py"
        script.write_text(PYFUNC_SCRIPT, encoding="utf-8")
        printed = io.StringIO()
        with contextlib.redirect_stderr(printed), _no_signature_news():
            info = mlflow.pyfunc.log_model(
                name="uplift_model",
                python_model=str(script),
                artifacts={ARTIFACT_KEY: str(folder)},
                registered_model_name=cfg.model_name,
                pip_requirements=[
                    f"lightgbm=={_version('lightgbm')}",
                    f"mlflow=={_version('mlflow')}",
                ],
                metadata={"kind": "uplift", "output": "reduction in P(churn within the horizon)"},
            )
    version = str(info.registered_model_version)
    client.set_model_version_tag(cfg.model_name, version, RUN_TAG, run_id)
    return version


class _SignatureNews(logging.Filter):
    """MLflow's warning that it cannot infer the signature of a model logged from a script: the
    uplift model takes the frame the reader built, so there is nothing for a user to do."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "infer model signature" not in record.getMessage()


@contextlib.contextmanager
def _no_signature_news() -> Iterator[None]:
    """Drop :class:`_SignatureNews` from MLflow's pyfunc logger while the model is logged."""
    logger, news = logging.getLogger("mlflow.pyfunc"), _SignatureNews()
    logger.addFilter(news)
    try:
        yield
    finally:
        logger.removeFilter(news)


def _version(pkg: str) -> str:
    from importlib.metadata import version

    return version(pkg)


def judge_uplift(
    tracking_uri: str, name: str, version: str, result: UpliftResult, cfg: UpliftConfig
) -> Decision:
    """The new uplift model against the current champion, both on the new held-out campaigns:
    its Qini coefficient may be at most ``qini_tolerance`` below the champion's."""
    new = {"qini": result.qini}
    client = MlflowClient(tracking_uri)
    current = alias_version(client, name, CHAMPION)
    if current is None or current == version:
        return Decision(name, version, "champion", **because(FIRST), new_metrics=new)
    try:
        old, _ = load_uplift(name, CHAMPION, tracking_uri)
        h = result.holdout
        y, t = 1.0 - h[CHURN_LABEL].to_numpy(float), h[TREATED].to_numpy(int)
        champion = {"qini": qini_coefficient(y, t, old.predict(h))}
    except (UpliftError, KeyError, ValueError) as exc:
        said = because(cannot_score(current, exc))
        return Decision(
            name, version, "champion", champion_version=current, new_metrics=new, **said
        )
    allowed = champion["qini"] - cfg.qini_tolerance
    passed = new["qini"] >= allowed
    comp = Comparison("qini", new["qini"], champion["qini"], allowed, True, bool(passed))
    outcome: Literal["champion", "challenger"] = "champion"
    if passed:
        why = note("uplift_not_worse", version=current)
    else:
        why = note("uplift_worse", version=current, worse=[worse_metric(comp)])
        outcome = "challenger"
    return Decision(name, version, outcome, champion_version=current, comparisons=[comp],
                    new_metrics=new, champion_metrics=champion, **because(why))  # fmt: skip

"""The markdown model card logged with every training run."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from features.contract import CONTRACT_VERSION
from training.evaluation.compare import MODEL
from training.fit import Trained

CHURN_COLUMNS = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "top_decile_lift")
CHURN_LIVE = (
    "roc_auc_live",
    "pr_auc_live",
    "brier_live",
    "ece_live",
    "top_decile_lift_live",
    "base_rate_live",
)
CHURN_MORE = ("campaign_profit", "campaign_contact_share", "lost_value_captured_top_decile")
VALUE_COLUMNS = ("mae", "rmse", "spearman", "gini", "top_decile_value_capture")

LIMITS = """\
- Time-split evaluation: training cutoffs end at least one horizon before the calibration
  cutoff, which ends at least one horizon before the test cutoff. The deployed model is the one
  evaluated, so it has not seen the most recent labelled months.
- Customers recur across cutoffs (one row per cutoff at which they are active). Their training
  rows are earlier snapshots whose label windows close before the test cutoff; test metrics
  therefore measure scoring the same book later, as in production.
- Synthetic or short histories limit what the metrics say about a real book; seasonality that
  no feature describes (e.g. renewal months) shows up as value-model bias by cutoff month.
- Probabilities are calibrated on one cutoff; re-train when the churn rate drifts.
- Predicted value is expected revenue over the horizon including the chance of churn.
- Scores describe association, not the effect of a retention action (no uplift model)."""


def _table(metrics: dict[str, dict[str, float]], columns: tuple[str, ...]) -> str:
    frame = pd.DataFrame(metrics).T
    cols = [c for c in columns if c in frame.columns]
    header = "| scorer | " + " | ".join(cols) + " |"
    rule = "|---|" + "---|" * len(cols)
    rows = [
        f"| {'**' + name + '**' if name == MODEL else name} | "
        + " | ".join(_fmt(frame.loc[name, c]) for c in cols)
        + " |"
        for name in frame.index
    ]
    return "\n".join([header, rule, *rows])


def _live_share(metrics: dict[str, dict[str, float]]) -> str:
    share = metrics.get(MODEL, {}).get("live_share", float("nan"))
    return "-" if pd.isna(share) else f"{share:.1%}"


def _fmt(v: float) -> str:
    if pd.isna(v):
        return "-"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4f}"


def model_card(
    trained: Trained,
    *,
    run_id: str,
    versions: Mapping[str, str | None],
    decisions: dict[str, str] | None = None,
) -> str:
    """Markdown: data window, label definition, metrics against baselines, gate, known limits."""
    gate = "\n".join(f"- {name}: {text}" for name, text in (decisions or {}).items()) or "-"
    plan, ev, churn = trained.plan, trained.evaluation, trained.churn
    label = churn.metadata.get("label_definition", {})
    label_text = label.get("text", str(label)) if isinstance(label, dict) else str(label)
    rows = {
        name: len(part)
        for name, part in (
            ("train", trained.split.train),
            ("calibration", trained.split.calibration),
            ("test", trained.split.test),
        )
    }
    return f"""# Churn and value models

MLflow run `{run_id}`; registered versions: {", ".join(f"{k} v{v}" for k, v in versions.items() if v)}.

## Data window
- training cutoffs: {plan.describe()["train_cutoffs"]} ({rows["train"]:,} customer-cutoff rows)
- calibration / early-stopping cutoff: {plan.calibration:%Y-%m-%d} ({rows["calibration"]:,} rows)
- test cutoff: {plan.test:%Y-%m-%d} ({rows["test"]:,} rows)
- horizon: {plan.horizon_days} days; data contract version {CONTRACT_VERSION}
- features: {len(trained.spec.names)} ({len(trained.spec.categories)} categorical);
  `account_manager_id` is a key, never a feature

## Label definition
{label_text}

## Churn model (LightGBM binary, {churn.metadata.get("calibration")} calibration, \
{trained.churn_fit.best_iteration} trees)
{_table(ev.churn, CHURN_COLUMNS)}

On the live customers, the ones a retention contact can still save (not lapsed at the test cutoff by the lifecycle status; {_live_share(ev.churn)} of the test rows); the promotion gate decides on these unless `promotion.population` says `everyone`:

{_table(ev.churn, CHURN_LIVE)}

Campaign economics and value at risk on the test cutoff:

{_table(ev.churn, CHURN_MORE)}

## Value model (LightGBM {trained.value.metadata.get("objective")}, \
{trained.value_fit.best_iteration} trees)
{_table(ev.value, VALUE_COLUMNS)}

## Promotion gate
{gate}

## Known limits
{LIMITS}
"""

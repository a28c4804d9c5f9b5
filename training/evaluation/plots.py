"""Figures logged with each training run.

Built as ``matplotlib.figure.Figure`` objects: no pyplot state, no GUI backend needed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from core.bundle import BIAS_COLUMN, ModelBundle
from training.evaluation.metrics import calibration_table, gains_curve, value_deciles


def _subplots(ncols: int = 1, figsize: tuple[float, float] = (6, 4.5)):
    fig = Figure(figsize=figsize)
    axes = fig.subplots(1, ncols)
    return fig, axes


def _texts(text: Mapping[str, str] | None) -> Callable[[str], str]:
    """A label in the figure's language: its entry in ``text``, else the English label."""
    table = text or {}
    return lambda label: table.get(label, label)


def feature_importance(bundle: ModelBundle, top: int = 25) -> Figure:
    """Total gain per feature, largest first."""
    gain = pd.Series(
        bundle.booster.feature_importance(importance_type="gain"), index=bundle.feature_names
    )
    gain = gain[gain > 0].sort_values().tail(top)
    fig, ax = _subplots(figsize=(7, 0.28 * max(len(gain), 4) + 1.2))
    ax.barh(gain.index, gain.to_numpy())
    ax.set_xlabel("total gain")
    ax.set_title(f"{bundle.kind} model: feature importance (gain)")
    fig.tight_layout()
    return fig


def shap_summary(bundle: ModelBundle, frame: pd.DataFrame, top: int = 20) -> Figure:
    """SHAP beeswarm from LightGBM's own TreeSHAP values (raw-score units): the ``top`` features
    by mean absolute contribution, one dot per row, coloured by the feature's value (low blue,
    high red; a category by its code; grey where missing). Drawn here: the shap package takes
    seconds to import for a picture."""
    contrib = bundle.contributions(frame).drop(columns=BIAS_COLUMN)
    x = bundle.matrix(frame)
    strength = contrib.abs().mean().sort_values(ascending=False).head(top)
    names = list(strength.index[::-1])  # strongest at the top
    fig, ax = _subplots(figsize=(8, 0.35 * len(names) + 1.5))
    rng = np.random.default_rng(0)
    for row, name in enumerate(names):
        dots = contrib[name].to_numpy(dtype=np.float64)
        values = pd.to_numeric(x[name], errors="coerce").to_numpy(dtype=np.float64)
        low, high = np.nanpercentile(values, [5, 95]) if np.isfinite(values).any() else (0, 0)
        shade = np.clip((values - low) / (high - low or 1.0), 0, 1)
        jitter = rng.uniform(-0.3, 0.3, len(dots)) * _density(dots)
        known = np.isfinite(shade)
        ax.scatter(dots[~known], row + jitter[~known], s=6, color="#999999", alpha=0.6)
        ax.scatter(
            dots[known], row + jitter[known], s=6, c=shade[known], cmap="coolwarm", vmin=0, vmax=1
        )
    ax.axvline(0, color="#666666", linewidth=0.8)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("SHAP value (impact on the raw score)")
    ax.set_title(f"{bundle.kind} model: SHAP summary (raw score; colour: feature value)")
    fig.tight_layout()
    return fig


def _density(values: np.ndarray, bins: int = 50) -> np.ndarray:
    """Each value's share of the fullest bin of a histogram: dots spread where they crowd."""
    if not len(values) or np.ptp(values) == 0:
        return np.ones(len(values))
    counts, edges = np.histogram(values, bins=bins)
    at = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, bins - 1)
    return counts[at] / counts.max()


def calibration_curve(
    y: np.ndarray,
    probabilities: dict[str, np.ndarray],
    bins: int = 10,
    text: Mapping[str, str] | None = None,
) -> Figure:
    """Observed churn rate against mean predicted probability per equal-count bin; ``text``
    maps the English labels to another language (the report draws it again in Chinese)."""
    say = _texts(text)
    fig, ax = _subplots(figsize=(5.5, 5))
    top = 0.0
    for name, p in probabilities.items():
        table = calibration_table(p, y, bins)
        ax.plot(table["predicted"], table["observed"], marker="o", label=name)
        top = max(top, table["predicted"].max(), table["observed"].max())
    ax.plot([0, top], [0, top], color="grey", linestyle="--", label=say("perfect"))
    ax.set_xlabel(say("mean predicted P(churn)"))
    ax.set_ylabel(say("observed churn rate"))
    ax.set_title(say("calibration on the test cutoff"))
    ax.legend()
    fig.tight_layout()
    return fig


def gains_chart(
    y: np.ndarray, scores: dict[str, np.ndarray], text: Mapping[str, str] | None = None
) -> Figure:
    """Cumulative share of churners found against share of customers contacted, and lift."""
    say = _texts(text)
    fig, (ax1, ax2) = _subplots(2, figsize=(11, 4.5))
    n, positives = len(y), max(float(np.sum(y)), 1.0)
    for name, s in scores.items():
        counts, found = gains_curve(np.asarray(s, float), np.asarray(y, float))
        share, captured = counts / n, found / positives
        ax1.plot(share, captured, label=name)
        with np.errstate(divide="ignore", invalid="ignore"):
            lift = np.where(share > 0, captured / share, np.nan)
        ax2.plot(share[share >= 0.01], lift[share >= 0.01], label=name)
    ax1.plot([0, 1], [0, 1], color="grey", linestyle="--", label=say("random"))
    ax1.set(xlabel=say("share of customers contacted"), ylabel=say("share of churners found"))
    ax1.set_title(say("gains"))
    ax2.axhline(1, color="grey", linestyle="--")
    ax2.set(xlabel=say("share of customers contacted"), ylabel=say("lift"))
    ax2.set_title(say("lift"))
    ax1.legend()
    fig.tight_layout()
    return fig


def value_decile_chart(actual: np.ndarray, predictions: dict[str, np.ndarray]) -> Figure:
    """Mean predicted and mean actual value per decile of each prediction."""
    fig, ax = _subplots(figsize=(7, 4.5))
    width = 0.8 / (len(predictions) + 1)
    for i, (name, pred) in enumerate(predictions.items()):
        table = value_deciles(actual, pred)
        x = table["bin"].to_numpy() + 1
        ax.bar(x + (i - 0.5) * width, table["actual"], width, label=f"actual ({name} deciles)")
        ax.plot(x, table["predicted"], marker="o", label=f"{name} predicted")
    ax.set(xlabel="decile of the prediction (10 = highest)", ylabel="mean value over horizon")
    ax.set_title("value model: deciles")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig

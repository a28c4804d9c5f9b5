"""Figures logged with a training run: the SHAP summary shows what drives the model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.bundle import BIAS_COLUMN
from scoring.champions import Champions
from training.evaluation import plots


def test_shap_summary_shows_the_strongest_features_first_one_dot_per_row(
    champions: Champions, scoring_frame: pd.DataFrame
):
    fig = plots.shap_summary(champions.churn, scoring_frame, top=5)
    ax = fig.axes[0]
    shown = [label.get_text() for label in ax.get_yticklabels()][::-1]  # top row first
    contrib = champions.churn.contributions(scoring_frame).drop(columns=BIAS_COLUMN)
    assert shown == contrib.abs().mean().sort_values(ascending=False).head(5).index.tolist()
    dots = sum(len(c.get_offsets()) for c in ax.collections)
    assert dots == 5 * len(scoring_frame)
    first = np.vstack([c.get_offsets() for c in ax.collections])
    assert np.isclose(np.sort(first[:, 0]), np.sort(contrib[shown].to_numpy().ravel())).all()

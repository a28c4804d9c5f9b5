"""Configuration of the uplift model (YAML section ``uplift:``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from core.config import Frozen, load_section
from core.uplift import UPLIFT_MODEL, UpliftError

SECTION = "uplift"
__all__ = ["UpliftConfig", "UpliftError", "UpliftParams", "load_uplift_config"]


class UpliftParams(Frozen):
    """LightGBM tree shape of every booster of the learner (small trees: the effect is a small
    difference between noisy outcomes)."""

    num_leaves: int = Field(7, ge=2)
    max_depth: int = Field(4, ge=1)
    learning_rate: float = Field(0.03, gt=0, le=1)
    max_rounds: int = Field(400, ge=1)
    min_data_in_leaf: int = Field(150, ge=1)
    feature_fraction: float = Field(0.8, gt=0, le=1)
    bagging_fraction: float = Field(0.8, gt=0, le=1)
    bagging_freq: int = Field(1, ge=0)
    lambda_l2: float = Field(5.0, ge=0)
    max_bin: int = Field(63, ge=2)
    cat_smooth: float = Field(10.0, ge=0)


class UpliftConfig(Frozen):
    """How ``churn train`` learns the effect of a retention contact when the data has contacts."""

    enabled: bool = True
    model_name: str = UPLIFT_MODEL
    learner: Literal["s", "t", "x"] = "x"
    """``x`` (default): the X-learner, two churn models (contacted, control) whose imputed effects
    are regressed again, weighted towards the regression that borrows the larger group's model;
    ``t``: the difference of the two churn models; ``s``: one churn model with the contact as a
    feature (it may never split on the contact and then predicts no effect for anyone)."""
    params: UpliftParams = UpliftParams()
    validation_share: float = Field(0.2, gt=0, lt=1)
    """Share of the training campaigns' customers held out to stop boosting early."""
    early_stopping_rounds: int = Field(40, ge=1)
    min_rows: int = Field(200, ge=10)
    """Fewest labelled contacts (and 20 of each group) needed to train; fewer: no uplift model."""
    qini_tolerance: float = Field(0.02, ge=0)
    """The promotion gate: a new model's Qini coefficient on the held-out campaigns may be this
    much below the champion's on the same rows."""


def load_uplift_config(path: str | Path | None) -> UpliftConfig:
    """The ``uplift:`` section of a YAML file (defaults when absent or no file)."""
    return load_section(path, SECTION, UpliftConfig, UpliftError)

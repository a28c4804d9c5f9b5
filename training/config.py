"""Typed configuration of the training stage: the ``training:`` section of a YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from core.config import Frozen, load_section, validation_message
from core.economics import CampaignEconomics
from core.errors import ChurnError
from features.config import FeatureConfig
from features.pipeline.lifecycle import LifecycleConfig


class ConfigError(ChurnError):
    """A configuration file cannot be read or breaks the schema (names the field)."""


class BoosterParams(Frozen):
    """LightGBM tree shape and learning rate.

    Kept modest on purpose: explanations (TreeSHAP) cost O(trees x leaves x depth) per row, so
    shallow trees with early stopping keep the API's SHAP answers fast.
    """

    num_leaves: int = Field(15, ge=2, le=255)
    max_depth: int = Field(6, ge=-1)
    learning_rate: float = Field(0.05, gt=0, le=1)
    max_rounds: int = Field(600, ge=1)
    min_data_in_leaf: int = Field(100, ge=1)
    feature_fraction: float = Field(0.8, gt=0, le=1)
    bagging_fraction: float = Field(0.8, gt=0, le=1)
    bagging_freq: int = Field(1, ge=0)
    lambda_l2: float = Field(1.0, ge=0)
    max_bin: int = Field(255, ge=2)
    cat_smooth: float = Field(10.0, ge=0)


class ChurnModelConfig(Frozen):
    """The churn classifier and how its probabilities are calibrated."""

    params: BoosterParams = BoosterParams()
    calibration: Literal["isotonic", "platt", "none"] = "isotonic"
    min_probability: float = Field(0.001, ge=0, lt=0.5)
    """Every churn probability is kept in ``[min_probability, 1 - min_probability]`` after the
    calibrator: a model fitted on one cutoff is never certain."""


class ValueModelConfig(Frozen):
    """The value regressor: tweedie suits zero-inflated, heavy-tailed revenue."""

    params: BoosterParams = BoosterParams(min_data_in_leaf=50)
    objective: Literal["tweedie", "regression", "huber"] = "tweedie"
    tweedie_variance_power: float = Field(1.3, gt=1.0, lt=2.0)
    target: Literal["if_retained", "unconditional"] = "if_retained"
    """``if_retained``: revenue over the horizon of the customers who stayed (trained and tested
    on the rows not labelled churned), the value a retention contact saves, so expected value at
    risk = P(churn) x value counts churn once. ``unconditional``: revenue of every customer,
    which already discounts likely churners."""
    calibration: Literal["isotonic", "none"] = "isotonic"
    """Isotonic regression of the calibration cutoff's realised value on the prediction: summed
    predictions meet summed revenue in every range of predicted value (the trees alone
    under-predict the stayers of a later cutoff); ranking is kept."""
    cap_multiple: float | None = Field(1.5, gt=0)
    """A customer's predicted value is at most this multiple of their own history: the larger of
    one average order and the longest window's revenue scaled to the horizon (a one-purchase
    customer: at most ``cap_multiple`` x that order). Trees extrapolate a rare big first order
    into values no history supports; ``null`` turns the cap off. Above 1 because a customer who
    stays buys at least once in the horizon, often more (CDNOW's stayers spend 1.8-2.0 times
    their average order over 90 days): at 1.0 the cap held most stayers to one order and the
    lowest predicted decile to 0.35-0.50 of what it spent (docs/rules-on-real-data.md, #29.6)."""


class SplitConfig(Frozen):
    """Time split: train on earlier cutoffs, early-stop and calibrate on a later one, test on the last.

    Cutoffs are month starts. A cutoff is only used for training (calibration) when its label
    horizon ends on or before the calibration (test) cutoff, so no label reads the future of a
    later split.
    """

    train_cutoffs: int = Field(6, ge=1, le=60)


CandidateName = Literal["lightgbm", "monotone", "regularised", "lr_boosted"]


class SelectionConfig(Frozen):
    """Rolling-origin model selection (docs/training.md): every candidate is LightGBM-based and
    fitted per fold on earlier cutoffs only; the lowest mean validation log loss wins."""

    validation_cutoffs: int = Field(4, ge=1, le=24)
    """The latest labelled cutoffs each candidate is validated on (fewer when the history is
    short: a fold needs a training and an early-stopping cutoff before it)."""
    candidates: tuple[CandidateName, ...] = ("lightgbm", "monotone", "regularised", "lr_boosted")
    regularised: BoosterParams = BoosterParams(
        num_leaves=7, max_depth=3, min_data_in_leaf=200, lambda_l2=10.0, feature_fraction=0.6
    )
    """Tree shape of ``regularised`` and of the trees that correct ``lr_boosted``'s linear score."""
    linear_c: float = Field(0.5, gt=0)
    """Inverse L2 strength of the logistic regressions (``lr_boosted``'s start and the reference)."""
    monotone_increasing: tuple[str, ...] = (
        "recency_days",
        "overdue_ratio",
        "purchases_missed",
        "silence_vs_max_gap",
        "login_recency_days",
        "bgnbd_p_no_purchase",
    )
    """Recency-like features along which ``monotone`` may only raise P(churn)."""
    monotone_decreasing: tuple[str, ...] = ("bgnbd_p_alive",)
    early_stop: Literal["later_cutoff", "customers"] = "customers"
    """How a fold early-stops. ``later_cutoff``: on a cutoff whose horizon ends before the
    validation cutoff, the training cutoffs' horizons ending before it (two horizons between the
    training labels and the validated cutoff). ``customers``: on a share of the customers
    (``early_stop_share``, all their rows) of the training cutoffs, which are the latest
    ``split.train_cutoffs`` planned cutoffs whose horizon ends on or before the validation cutoff: one horizon between, as
    between the registered model's last labels and the day it scores (default: the folds then
    validate the gap the registered model is used across; with two horizons between, folds on a
    short history trained on books months younger and ranked the candidates wrongly)."""
    early_stop_share: float = Field(0.2, gt=0, lt=1)
    reference_tolerance: float = Field(0.0, ge=0, le=0.1)
    """How far below the best reference's mean validation ROC-AUC the chosen model may be and
    still count as reaching it."""

    @model_validator(mode="after")
    def _some(self) -> SelectionConfig:
        if not self.candidates:
            raise ValueError("selection.candidates must name at least one candidate")
        return self


class PromotionConfig(Frozen):
    """How much worse than the champion a new version may be on each test metric and still win.

    Absolute tolerances for bounded metrics; ``relative`` ones are a share of the champion's value.
    """

    population: Literal["live", "everyone"] = "live"
    """Which test rows the churn metrics are compared on: ``live``, the customers not lapsed at
    the test cutoff (the ones a retention contact can still save; ``roc_auc`` means
    ``roc_auc_live``), or ``everyone`` scored."""
    churn_higher: dict[str, float] = {"roc_auc": 0.005, "pr_auc": 0.01}
    churn_lower: dict[str, float] = {"brier": 0.002, "ece": 0.01}
    value_higher: dict[str, float] = {"spearman": 0.01, "gini": 0.01}
    value_lower_relative: dict[str, float] = {"mae": 0.02, "rmse": 0.05}


class TrainingConfig(Frozen):
    """Everything ``churn train`` needs besides the data and the feature configuration."""

    seed: int = 42
    num_threads: int = Field(1, ge=1)
    """LightGBM threads. One by default: its OpenMP threads busy-wait, and on a shared 2-core
    machine two threads ran 5-15x slower than one (docs/training.md). Raise on dedicated cores."""
    early_stopping_rounds: int = Field(50, ge=1)
    split: SplitConfig = SplitConfig()
    selection: SelectionConfig = SelectionConfig()
    churn: ChurnModelConfig = ChurnModelConfig()
    value: ValueModelConfig = ValueModelConfig()
    campaign: CampaignEconomics = CampaignEconomics()
    """Economics of the ``campaign_profit`` metric (:func:`core.economics.saved_value`)."""
    promotion: PromotionConfig = PromotionConfig()
    top_k_shares: tuple[float, ...] = (0.05, 0.1, 0.2)
    """Contact-list sizes (share of the test population) for precision and recall at k."""
    calibration_bins: int = Field(10, ge=2)
    experiment: str = "churn"
    churn_model_name: str = "churn-model"
    value_model_name: str = "value-model"
    baseline_max_rows: int = Field(200_000, ge=1000)
    """Training rows of the logistic-regression baseline (a random sample above this; its ~100
    coefficients do not need more, and lbfgs time grows with rows)."""
    live: LifecycleConfig = LifecycleConfig()
    """The lifecycle thresholds that decide who is live (not lapsed) at the test cutoff; keep
    them equal to ``serving.lists.lifecycle``, which splits the lists the same way."""
    shap_sample: int = Field(2000, ge=100)
    """Rows of the test cutoff used for the SHAP summary plot."""

    @model_validator(mode="after")
    def _shares(self) -> TrainingConfig:
        if not self.top_k_shares or any(not 0 < s <= 1 for s in self.top_k_shares):
            raise ValueError("top_k_shares must be shares in (0, 1]")
        return self


def load_training_config(path: str | Path | None = None) -> TrainingConfig:
    """The ``training:`` section of a YAML file (defaults when absent); other sections ignored."""
    return load_section(path, "training", TrainingConfig, ConfigError)


def with_overrides(
    features: FeatureConfig,
    cfg: TrainingConfig,
    horizon_days: int | None = None,
    train_cutoffs: int | None = None,
) -> tuple[FeatureConfig, TrainingConfig]:
    """The configs with ``features.labels.horizon_days`` and ``training.split.train_cutoffs``
    replaced where given (``churn train --horizon --train-cutoffs``), validated like the file."""
    try:
        if horizon_days is not None:
            labels = {**features.labels.model_dump(), "horizon_days": horizon_days}
            features = FeatureConfig.model_validate({**features.model_dump(), "labels": labels})
        if train_cutoffs is not None:
            split = {**cfg.split.model_dump(), "train_cutoffs": train_cutoffs}
            cfg = TrainingConfig.model_validate({**cfg.model_dump(), "split": split})
    except ValidationError as exc:
        raise ConfigError(f"invalid option: {validation_message(exc, 'option')}") from None
    return features, cfg

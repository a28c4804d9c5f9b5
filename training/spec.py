"""Which columns of the training set the models use, and the levels of the categorical ones."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.errors import ChurnError
from features.pipeline.build import feature_columns

CHURN_LABEL = "churned"
VALUE_LABEL = "future_value"
NOT_FEATURES = ("customer_id", "cutoff", "account_manager_id", CHURN_LABEL, VALUE_LABEL)


class TrainingDataError(ChurnError):
    """The training set cannot train a model (names the column or cutoff and why)."""


@dataclass(frozen=True)
class FeatureSpec:
    """Feature names in model order and the levels of each categorical feature."""

    names: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]

    @property
    def categorical(self) -> list[str]:
        return [n for n in self.names if n in self.categories]


def feature_spec(frame: pd.DataFrame) -> FeatureSpec:
    """Features of a training set: the build's feature columns, never keys or labels.

    Category levels come from the column's categorical dtype (the build gives every cutoff the
    same levels); a text column gets its sorted distinct values.
    """
    for label in (CHURN_LABEL, VALUE_LABEL):
        if label not in frame.columns:
            raise TrainingDataError(f"training set has no label column {label!r}")
    names = tuple(c for c in feature_columns(frame) if c not in NOT_FEATURES)
    if not names:
        raise TrainingDataError("training set has no feature columns")
    categories: dict[str, tuple[str, ...]] = {}
    for col in names:
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            categories[col] = tuple(str(c) for c in s.cat.categories)
        elif not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            categories[col] = tuple(sorted(s.dropna().astype(str).unique()))
    return FeatureSpec(names, categories)


def labelled(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Rows whose label is known (NaN labels are unlabelled rows, e.g. a horizon past as-of)."""
    return frame[frame[label].notna()]

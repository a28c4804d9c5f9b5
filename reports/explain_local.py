"""Why one customer is at risk: the top reasons as sentences (the API's own top-k reasons, from
``scoring.reasons``) and a SHAP waterfall of the customer's log-odds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from core.bundle import BIAS_COLUMN, ModelBundle
from core.lang import Lang
from features.shown import feature_label
from reports.explain_global import UNITS, ExplainError, _relabel_shap, png_bytes
from reports.i18n import category, plot_language, tr
from scoring.reasons import Reason, explain_frame


@dataclass(frozen=True)
class CustomerExplanation:
    """One customer's score and its exact decomposition.

    ``base_value + contributions.sum()`` is the raw score (log-odds for churn);
    ``probability`` is the calibrated P(churn) the API returns, a monotone map of it.
    """

    customer_id: str
    kind: str
    probability: float
    raw_score: float
    base_value: float
    contributions: pd.Series  # per feature, raw-score units
    values: pd.Series  # the feature values as scored
    reasons: list[Reason]
    lang: Lang = "en"  # of the reasons, and of the waterfall's labels


def select_customers(frame: pd.DataFrame, customer_ids: Sequence[str]) -> pd.DataFrame:
    """The rows of these customers, in the order asked; ExplainError names the unknown ones."""
    if "customer_id" not in frame.columns:
        raise ExplainError("the feature rows have no customer_id column")
    ids = frame["customer_id"].astype(str)
    unknown = [c for c in customer_ids if c not in set(ids)]
    if unknown:
        raise ExplainError(
            f"customer(s) {', '.join(unknown[:10])} not found among the customers scored at "
            "this date (not active then, or not in the data)"
        )
    position = pd.Series(np.arange(len(frame)), index=ids.to_numpy())
    position = position[~position.index.duplicated()]
    return frame.iloc[position.loc[list(customer_ids)].to_numpy()]


def explain_customers(
    bundle: ModelBundle, rows: pd.DataFrame, k: int = 5, lang: Lang = "en"
) -> list[CustomerExplanation]:
    """Exact contributions, the calibrated score and the top-``k`` reasons of every row."""
    reasons = explain_frame(rows, bundle, k, lang)
    contrib = bundle.contributions(rows)
    prediction = bundle.predict(rows)
    raw = contrib.sum(axis=1).to_numpy()
    features = list(bundle.feature_names)
    out = []
    for i in range(len(rows)):
        row = contrib.iloc[i]
        out.append(
            CustomerExplanation(
                customer_id=str(rows["customer_id"].iloc[i]),
                kind=bundle.kind,
                probability=float(prediction[i]),
                raw_score=float(raw[i]),
                base_value=float(row[BIAS_COLUMN]),
                contributions=row.drop(BIAS_COLUMN),
                values=rows[features].iloc[i],
                reasons=reasons[i],
                lang=lang,
            )
        )
    return out


def _shown(value: object, lang: Lang = "en", feature: str = "") -> object:
    """A value as the waterfall labels it: numbers stay numbers, missing is 'missing', category
    levels in ``lang``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return tr("missing", lang)
    if isinstance(value, str) and lang != "en":
        return category(feature, value, lang)
    return value


def waterfall_figure(e: CustomerExplanation, max_display: int = 12) -> Figure:
    """SHAP waterfall from the base value to the customer's raw score (pyplot figure), labelled
    in the language of the customer's reasons."""
    import shap

    lang = e.lang
    shown = [_shown(v, lang, f) for f, v in zip(e.values.index, e.values.to_numpy(dtype=object),
                                                 strict=True)]  # fmt: skip
    explanation = shap.Explanation(
        values=e.contributions.to_numpy(dtype=np.float64),
        base_values=e.base_value,
        data=np.array(shown, dtype=object),
        feature_names=[feature_label(f, lang) for f in e.contributions.index],
    )
    with plot_language(lang):
        plt.figure()
        shap.plots.waterfall(explanation, max_display=max_display, show=False)
        fig = plt.gcf()
        _relabel_shap(fig, lang)
        what = "p_churn" if e.kind == "churn" else "expected_value"
        title = tr("title_customer", lang)
        fig.suptitle(
            title.format(
                customer=e.customer_id,
                what=tr(what, lang),
                p=f"{e.probability:.3f}",
                raw=f"{e.raw_score:+.3f}",
                units=tr(UNITS.get(e.kind, "units_raw"), lang),
            ),
            fontsize=10,
        )
        fig.tight_layout()
    return fig


def write_waterfall(e: CustomerExplanation, path: str | Path) -> Path:
    """Write the waterfall PNG (parent folders created)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png_bytes(waterfall_figure(e)))
    return out


def reasons_frame(explanations: Sequence[CustomerExplanation]) -> pd.DataFrame:
    """One row per reason: customer, rank, feature, value, contribution and sentence."""
    rows = [
        {
            "customer_id": e.customer_id,
            "rank": rank,
            "feature": r.feature,
            "value": r.value,
            "contribution": r.contribution,
            "direction": r.direction,
            "sentence": r.sentence,
        }
        for e in explanations
        for rank, r in enumerate(e.reasons, start=1)
    ]
    return pd.DataFrame(rows)

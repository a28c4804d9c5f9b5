"""What drives churn across the base: SHAP beeswarm, bar and dependence plots, and drivers per
segment and account manager. Values are exact TreeSHAP contributions in raw-score units
(log-odds for churn), computed with :class:`scoring.treeshap.kernel.FastExplainer`."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from core.bundle import BIAS_COLUMN, ModelBundle
from core.csv_out import write_csv
from core.errors import ChurnError
from core.lang import Lang
from features.shown import feature_label
from reports.i18n import category, has_levels, plot_language, shap_label, tr
from scoring.treeshap.kernel import FastExplainer

MISSING_GROUP = "(missing)"
"""The group of customers without a value (a key of the driver tables, shown as ``missing_group``)."""
UNITS = {"churn": "units_churn", "value": "units_value"}


class ExplainError(ChurnError):
    """Nothing to explain (no rows, unknown customer, no grouping column)."""


@dataclass(frozen=True)
class GlobalExplanation:
    """SHAP contributions of a sample of customers with what is needed to plot and group them."""

    kind: str
    contributions: pd.DataFrame  # one column per feature, raw-score units (bias left out)
    base_value: float
    matrix: pd.DataFrame  # the encoded feature values the model saw (categorical as codes)
    frame: pd.DataFrame  # the rows as given (segment, account_manager_id, ... for grouping)
    prediction: np.ndarray  # calibrated probability (churn) or expected value (value)
    method: str

    @property
    def units(self) -> str:
        return UNITS.get(self.kind, "units_raw")

    def title(self, lang: Lang) -> str:
        """The model kind as plot titles name it."""
        return category("kind", self.kind, lang)


def global_explanation(
    bundle: ModelBundle,
    frame: pd.DataFrame,
    sample: int | None = 2000,
    seed: int = 42,
    threads: int | None = None,
) -> GlobalExplanation:
    """Exact contributions of ``sample`` random rows of ``frame`` (all rows when None)."""
    if frame.empty:
        raise ExplainError("no customers to explain: the feature table is empty")
    rows = (
        frame if sample is None or len(frame) <= sample else frame.sample(sample, random_state=seed)
    )
    explainer = FastExplainer(bundle, threads)
    contrib = explainer.contributions(rows)
    return GlobalExplanation(
        kind=bundle.kind,
        contributions=contrib.drop(columns=BIAS_COLUMN),
        base_value=float(contrib[BIAS_COLUMN].iloc[0]),
        matrix=bundle.matrix(rows),
        frame=rows,
        prediction=bundle.predict(rows),
        method=explainer.method,
    )


def importance(g: GlobalExplanation) -> pd.DataFrame:
    """Per feature: mean |SHAP| (how much it moves scores) and mean SHAP (net push), largest
    first."""
    c = g.contributions
    out = pd.DataFrame({"mean_abs_shap": c.abs().mean(), "mean_shap": c.mean()})
    return out.sort_values("mean_abs_shap", ascending=False, kind="stable")


def drivers_by(g: GlobalExplanation, column: str, top: int = 8) -> pd.DataFrame:
    """Per group of ``column``: size, mean prediction and the mean SHAP of the ``top`` features.

    The mean SHAP values of a group add up (with the other features) to the group's mean raw
    score minus the base value: they say why the group's risk differs from the average.
    """
    if column not in g.frame.columns:
        raise ExplainError(f"cannot compare drivers by {column!r}: the rows have no such column")
    keys = g.frame[column].astype(object).where(g.frame[column].notna(), MISSING_GROUP).astype(str)
    features = list(importance(g).index[:top])
    table = g.contributions[features].groupby(keys.to_numpy()).mean()
    table.insert(0, "mean_prediction", pd.Series(g.prediction).groupby(keys.to_numpy()).mean())
    table.insert(0, "customers", keys.value_counts())
    table.index.name = column
    return table.sort_values(["customers", "mean_prediction"], ascending=False, kind="stable")


def _explanation(g: GlobalExplanation, lang: Lang = "en"):
    import shap

    return shap.Explanation(
        values=g.contributions.to_numpy(),
        base_values=np.full(len(g.contributions), g.base_value),
        data=g.matrix.to_numpy(),
        feature_names=[feature_label(c, lang) for c in g.contributions.columns],
    )


def _relabel_shap(fig: Figure, lang: Lang) -> None:
    """SHAP's own texts (colour bar, "N other features") in ``lang``."""
    if lang == "en":
        return
    for ax in fig.axes:
        ax.set_ylabel(shap_label(ax.get_ylabel(), lang))
        for axis in (ax.xaxis, ax.yaxis):
            old = [t.get_text() for t in axis.get_ticklabels()]
            new = [shap_label(t, lang) for t in old]
            if new != old:  # tick labels are redrawn from the ticks: set them, not the texts
                axis.set_ticks(axis.get_ticklocs(), new)


def beeswarm_figure(g: GlobalExplanation, top: int = 20, lang: Lang = "en") -> Figure:
    """Every customer's SHAP value per feature, coloured by the feature's value."""
    import shap

    with plot_language(lang):
        plt.figure()
        shap.plots.beeswarm(
            _explanation(g, lang), max_display=top, show=False, plot_size=(8, 0.35 * top + 1.5)
        )
        fig = plt.gcf()
        _relabel_shap(fig, lang)
        fig.axes[0].set_xlabel(tr("axis_shap", lang).format(units=tr(g.units, lang)))
        title = tr("title_beeswarm", lang)
        fig.suptitle(title.format(kind=g.title(lang), n=f"{len(g.contributions):,}"))
        fig.tight_layout()
    return fig


def bar_figure(g: GlobalExplanation, top: int = 20, lang: Lang = "en") -> Figure:
    """Mean |SHAP| per feature: how much each feature moves the score on average."""
    imp = importance(g).head(top).iloc[::-1]
    with plot_language(lang):
        fig = Figure(figsize=(8, 0.32 * len(imp) + 1.4))
        ax = fig.subplots()
        ax.barh([feature_label(f, lang) for f in imp.index], imp["mean_abs_shap"], color="#1E88E5")
        ax.set_xlabel(tr("axis_mean_shap", lang).format(units=tr(g.units, lang)))
        ax.set_title(tr("title_importance", lang).format(kind=g.title(lang)))
        fig.tight_layout()
    return fig


def dependence_figure(g: GlobalExplanation, feature: str, lang: Lang = "en") -> Figure:
    """SHAP value of one feature against its value: a scatter (numeric) or a box per level."""
    with plot_language(lang):
        return _dependence_figure(g, feature, lang)


def _dependence_figure(g: GlobalExplanation, feature: str, lang: Lang) -> Figure:
    values, shap_values = g.frame[feature], g.contributions[feature]
    fig = Figure(figsize=(6, 4.2))
    ax = fig.subplots()
    if pd.api.types.is_numeric_dtype(values) and not isinstance(values.dtype, pd.CategoricalDtype):
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        lo, hi = np.nanpercentile(x, [1, 99]) if np.isfinite(x).any() else (0.0, 1.0)
        shown = np.isfinite(x) & (x >= lo) & (x <= hi)
        dots = ax.scatter(x[shown], shap_values.to_numpy()[shown], c=g.prediction[shown], s=9,
                          cmap="coolwarm", alpha=0.7)  # fmt: skip
        fig.colorbar(dots, ax=ax, label=tr("colorbar_prediction", lang))
        ax.set_xlabel(tr("axis_percentile", lang).format(feature=feature_label(feature, lang)))
    else:
        keys = values.astype(object).where(values.notna(), MISSING_GROUP).astype(str)
        groups = shap_values.groupby(keys.to_numpy())
        names = list(groups.groups)
        ax.boxplot([groups.get_group(n).to_numpy() for n in names],
                   tick_labels=[_level(feature, n, lang) for n in names])  # fmt: skip
        ax.set_xlabel(feature_label(feature, lang))
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_ylabel(tr("axis_shap", lang).format(units=tr(g.units, lang)))
    ax.set_title(tr("title_dependence", lang).format(feature=feature_label(feature, lang)))
    fig.tight_layout()
    return fig


def _level(column: str | None, key: object, lang: Lang) -> str:
    """A group's name in ``lang``: a category level translated, "(missing)" too."""
    if key == MISSING_GROUP:
        return tr("missing_group", lang)
    return category(column, key, lang) if column and has_levels(column) else str(key)


def drivers_figure(
    table: pd.DataFrame, title: str, max_groups: int = 25, lang: Lang = "en"
) -> Figure:
    """Heatmap of mean SHAP per group (rows, largest groups) and feature (columns); ``title``
    as given, the group names (category levels) and colour bar in ``lang``."""
    with plot_language(lang):
        return _drivers_figure(table, title, max_groups, lang)


def _drivers_figure(table: pd.DataFrame, title: str, max_groups: int, lang: Lang) -> Figure:
    shown = table.head(max_groups)
    values = shown.drop(columns=["customers", "mean_prediction"])
    fig = Figure(figsize=(1.0 + 0.9 * values.shape[1], 1.6 + 0.34 * len(shown)))
    ax = fig.subplots()
    limit = float(np.nanmax(np.abs(values.to_numpy()))) if values.size else 1.0
    image = ax.imshow(values.to_numpy(), cmap="coolwarm", vmin=-limit, vmax=limit, aspect="auto")
    names = [feature_label(c, lang) for c in values.columns]
    ax.set_xticks(range(values.shape[1]), names, rotation=40, ha="right", fontsize=8)
    labels = [f"{_level(shown.index.name, k, lang)} (n={n}, p={p:.2f})" for k, n, p in
              zip(shown.index, shown["customers"], shown["mean_prediction"], strict=True)]  # fmt: skip
    ax.set_yticks(range(len(shown)), labels, fontsize=8)
    fig.colorbar(image, ax=ax, label=tr("colorbar_mean_shap", lang))
    ax.set_title(title)
    fig.tight_layout()
    return fig


def global_figures(
    g: GlobalExplanation,
    dependence: int = 4,
    groups: tuple[str, ...] = ("segment", "account_manager_id"),
    lang: Lang = "en",
) -> dict[str, Figure]:
    """All global plots by file stem: beeswarm, bar, dependence of the top features, drivers;
    titles and labels in ``lang``."""
    figures = {"shap_beeswarm": beeswarm_figure(g, lang=lang), "shap_bar": bar_figure(g, lang=lang)}
    for feature in importance(g).index[:dependence]:
        figures[f"dependence_{feature}"] = dependence_figure(g, feature, lang)
    for column in groups:
        if column in g.frame.columns:
            title = tr("title_drivers", lang).format(
                column=tr("by_manager", lang) if column == "account_manager_id" else column
            )
            figures[f"drivers_by_{column}"] = drivers_figure(
                drivers_by(g, column), title, lang=lang
            )
    return figures


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes; a pyplot figure is closed afterwards."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    if plt.fignum_exists(getattr(fig, "number", -1)):
        plt.close(fig)
    return buf.getvalue()


def write_global(
    g: GlobalExplanation, out_dir: str | Path, dependence: int = 4, lang: Lang = "en"
) -> list[Path]:
    """Write the plots (PNG, labelled in ``lang``) and the importance and driver tables (CSV)
    into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, fig in global_figures(g, dependence, lang=lang).items():
        path = out / f"{stem}.png"
        path.write_bytes(png_bytes(fig))
        written.append(path)
    write_csv(importance(g), out / "importance.csv", index=True, index_label="feature")
    written.append(out / "importance.csv")
    for column in ("segment", "account_manager_id"):
        if column in g.frame.columns:
            write_csv(drivers_by(g, column), out / f"drivers_by_{column}.csv", index=True)
            written.append(out / f"drivers_by_{column}.csv")
    return written

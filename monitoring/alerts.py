"""Alerts of a monitoring run: every crossed threshold as an :class:`Alert` (an id of the
catalogue's ``monitor`` area and its values), so that the result's English ``alerts`` and any
page in another language say the same thing (``alert_items`` in the result JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.lang import Lang, catalogue, value_name
from features.shown import feature_label
from monitoring.config import MonitorConfig
from monitoring.drift import Drift


@dataclass(frozen=True)
class Alert:
    """One crossed threshold: its kind (a catalogue id), the values its sentence shows, and for
    a long list the count left out."""

    key: str
    values: dict[str, Any]
    more: dict[str, Any] | None = None

    def text(self, lang: Lang) -> str:
        """The alert in ``lang``."""
        return alert_text(self.as_dict(), lang)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "values": self.values, "more": self.more}


def alert_text(item: dict[str, Any], lang: Lang) -> str:
    """A stored alert item (``alert_items`` of a result) in ``lang``."""
    words = catalogue("monitor")
    values = dict(item.get("values") or {})
    if lang != "en" and "statistic" in values:
        values["statistic"] = (
            value_name("statistic", values["statistic"], lang) or values["statistic"]
        )
    if item["key"] == "feature_drift":
        more = item.get("more")
        values["more"] = words.t("feature_drift_more", lang, **more) if more else ""
        listed = values.pop("features", None)
        if lang != "en" and isinstance(listed, list):
            values["named"] = words.t("feature_separator", lang).join(
                words.t(
                    "drifted_feature",
                    lang,
                    **(f | {"statistic": value_name("statistic", f["statistic"], lang)}),
                    label=feature_label(f["name"], lang),
                )
                for f in listed
            )
    return words.t(str(item["key"]), lang, **values)


def alert_items(
    features: list[Drift],
    prediction: Drift,
    population: dict[str, Any],
    estimated: dict[str, Any],
    realized: list[dict[str, Any]],
    test_auc: float | None,
    cfg: MonitorConfig,
) -> list[Alert]:
    """Every crossed threshold as an :class:`Alert` (the catalogue's ``monitor`` area names it
    in each language)."""
    out: list[Alert] = []
    drifted = sorted((d for d in features if d.drifted), key=lambda d: -d.value / d.threshold)
    if drifted:
        named = ", ".join(
            f"{d.name} ({d.statistic} {d.value:.3f} > {d.threshold:g})"
            for d in drifted[: cfg.max_listed]
        )
        extra = len(drifted) - cfg.max_listed
        listed = [
            {"name": d.name, "statistic": d.statistic, "value": f"{d.value:.3f}",
             "threshold": f"{d.threshold:g}"}
            for d in drifted[: cfg.max_listed]
        ]  # fmt: skip
        values = {"n": len(drifted), "total": len(features), "named": named, "features": listed}
        out.append(Alert("feature_drift", values, {"n": extra} if extra > 0 else None))
    if prediction.drifted:
        values = {"statistic": prediction.statistic, "value": f"{prediction.value:.3f}"}
        out.append(Alert("prediction_drift", values | {"threshold": f"{prediction.threshold:g}"}))
    change = population.get("size_change")
    if change is not None and abs(change) > cfg.size_change:
        values = {
            "current": f"{population['current_size']:,}",
            "reference": f"{population['reference_size']:,.0f}",
            "change": f"{change:+.0%}",
            "limit": f"{cfg.size_change:.0%}",
        }
        out.append(Alert("population_size", values))
    for level, row in population.get("segments", {}).items():
        if abs(row["change"]) > cfg.share_change:
            values = {
                "level": repr(level),
                "reference": f"{row['reference']:.1%}",
                "current": f"{row['current']:.1%}",
                "limit": f"{cfg.share_change:.0%}",
            }
            out.append(Alert("population_share", values))
    est = estimated.get("roc_auc")
    if est is not None and test_auc is not None and test_auc - est > cfg.auc_gap:
        values = {"est": f"{est:.3f}", "gap": f"{test_auc - est:.3f}", "test": f"{test_auc:.3f}"}
        out.append(Alert("estimated_performance", values | {"limit": f"{cfg.auc_gap:g}"}))
    for r in realized:
        auc, then = r.get("roc_auc"), r.get("estimated_roc_auc")
        gap = max(cfg.auc_gap, 3 * (r.get("roc_auc_se") or 0.0))
        base = {"asof": r["asof"], "limit": f"{gap:.3f}"}
        if auc is not None and then is not None and then - auc > gap:
            values = {"auc": f"{auc:.3f}", "gap": f"{then - auc:.3f}", "then": f"{then:.3f}"}
            out.append(Alert("realized_concept_shift", base | values))
        elif auc is not None and test_auc is not None and test_auc - auc > gap:
            values = {
                "auc": f"{auc:.3f}",
                "gap": f"{test_auc - auc:.3f}",
                "test": f"{test_auc:.3f}",
            }
            out.append(Alert("realized_performance", base | values))
        rate, mean_p = r.get("churn_rate"), r.get("mean_probability")
        if rate is not None and mean_p and abs(rate - mean_p) / mean_p > cfg.churn_rate_gap:
            values = {
                "rate": f"{rate:.1%}",
                "asof": r["asof"],
                "predicted": f"{mean_p:.1%}",
                "limit": f"{cfg.churn_rate_gap:.0%}",
            }
            out.append(Alert("realized_calibration", values))
    return out


def alerts_for(
    features: list[Drift],
    prediction: Drift,
    population: dict[str, Any],
    estimated: dict[str, Any],
    realized: list[dict[str, Any]],
    test_auc: float | None,
    cfg: MonitorConfig,
) -> list[str]:
    """Every crossed threshold, in English words (the result's ``alerts``)."""
    items = alert_items(features, prediction, population, estimated, realized, test_auc, cfg)
    return [a.text("en") for a in items]

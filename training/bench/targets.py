"""Published figures, targets and the reading of each benchmark result (why, and what would help).

Figures and their sources come from each data set's SOURCE.md under ``../shared/data``; targets
from the benchmark issue. :func:`assess` turns a result dict into ``published``, ``targets`` (met or
not, with the numbers) and ``analysis`` sentences written from the measured figures.
"""

from __future__ import annotations

from typing import Any

MODEL = "lightgbm"
LOGISTIC = "logistic_regression"
CLEAR_MARGIN = 0.01
"""ROC-AUC margin that counts as beating a baseline "clearly" on CDNOW."""

BGNBD_PUBLISHED = {"r": 0.243, "alpha": 4.41, "a": 0.793, "b": 2.43}
GAMMA_GAMMA_PUBLISHED = {"p": 6.25, "q": 3.74, "v": 15.44}

PUBLISHED: dict[str, list[dict[str, str]]] = {
    "telco": [
        {
            "metric": "roc_auc",
            "figure": "0.82–0.85 (leak-free); logistic regression within ~0.003 of boosting",
            "source": "repository reports, not peer reviewed (telco_ibm/SOURCE.md)",
        },
        {
            "metric": "top_decile_lift",
            "figure": "2.7–2.8",
            "source": "repository reports, not peer reviewed (telco_ibm/SOURCE.md)",
        },
    ],
    "iranian": [
        {
            "metric": "roc_auc",
            "figure": "~0.93 (logistic regression)",
            "source": "empulse README (iranian_churn/SOURCE.md)",
        },
    ],
    "cdnow": [
        {
            "metric": "roc_auc",
            "figure": "recency rule 0.828, purchase count 0.825 (all 23,570 customers)",
            "source": "cdnow_half/SOURCE.md, cutoff 1998-03-31, H = 90",
        },
        {
            "metric": "bgnbd",
            "figure": "r = 0.243, alpha = 4.41, a = 0.793, b = 2.43",
            "source": "Fader, Hardie & Lee 2005, 2,357-customer sample, 39-week calibration",
        },
        {
            "metric": "gamma_gamma",
            "figure": "p = 6.25, q = 3.74, v = 15.44",
            "source": "Fader & Hardie 2013, Gamma-Gamma note, same sample",
        },
    ],
    "ecommerce": [],
}


def _auc(result: dict[str, Any], scorer: str) -> float:
    return float(result["churn"][scorer]["roc_auc"])


def _best_baseline(result: dict[str, Any], exclude: tuple[str, ...] = ()) -> tuple[str, float]:
    rows = {k: v["roc_auc"] for k, v in result["churn"].items() if k != MODEL and k not in exclude}
    name = max(rows, key=lambda k: rows[k])
    return name, float(rows[name])


def _target(text: str, met: bool) -> dict[str, Any]:
    return {"text": text, "met": bool(met)}


def _telco(result: dict[str, Any]) -> tuple[list, list]:
    auc, lift = _auc(result, MODEL), float(result["churn"][MODEL]["top_decile_lift"])
    lr = _auc(result, LOGISTIC)
    targets = [
        _target(f"ROC-AUC >= 0.85 (measured {auc:.5f})", auc >= 0.85),
        _target(f"top-decile lift >= 2.8 (measured {lift:.2f})", lift >= 2.8),
        _target(f"ROC-AUC below 0.88, the leakage alarm (measured {auc:.4f})", auc < 0.88),
    ]
    sd = float(result["churn_std"][MODEL]["roc_auc"])
    same = abs(auc - lr) < sd and abs(auc - 0.85) < sd
    verdict = (
        "the two are equal within noise, and so is the distance to the 0.85 target"
        if same
        else f"a difference of {auc - lr:+.4f} to logistic regression and {auc - 0.85:+.4f} to "
        "the target"
    )
    analysis = [
        f"LightGBM {auc:.5f} against logistic regression {lr:.5f}, with a fold-to-fold standard "
        f"deviation of {sd:.3f}: {verdict}. Telco's signal is nearly additive (contract, tenure, "
        "charges, fibre, electronic cheque), so trees add little over a linear model, as the "
        "published reports also find (logistic regression within ~0.003 of boosting).",
        "What could add more: interaction history (support calls, complaints) or billing events "
        "over time; the snapshot has neither. Resampling before the split or tuning on the test "
        "folds would raise the number without raising the model's worth.",
    ]
    more_targets, more_analysis = _value(result)
    return targets + more_targets, analysis + more_analysis


def _snapshot_generic(result: dict[str, Any], published_lr: float | None) -> tuple[list, list]:
    auc, lr = _auc(result, MODEL), _auc(result, LOGISTIC)
    name, best = _best_baseline(result)
    targets = [_target(f"beats every baseline in ROC-AUC (best: {name} {best:.4f})", auc > best)]
    analysis = [
        f"LightGBM {auc:.4f} against logistic regression {lr:.4f}: the gap is what thresholds "
        "and interactions add over one slope per attribute."
    ]
    if published_lr is not None:
        analysis.append(
            f"Our logistic regression ({lr:.4f}) reproduces the published ~{published_lr:.2f}."
        )
    more_targets, more_analysis = _value(result)
    return targets + more_targets, analysis + more_analysis


def _value(result: dict[str, Any]) -> tuple[list, list]:
    value = result.get("value") or {}
    if not value:
        return [], []
    m, c = value[MODEL], value["carry_forward"]
    targets = [
        _target(
            f"value model beats carry-forward in Spearman ({m['spearman']:.3f} vs "
            f"{c['spearman']:.3f})",
            m["spearman"] > c["spearman"],
        ),
        _target(
            f"value model beats carry-forward in MAE ({m['mae']:.3f} vs {c['mae']:.3f})",
            m["mae"] < c["mae"],
        ),
    ]
    analysis = []
    if m["mae"] >= c["mae"]:
        analysis.append(
            "The value model predicts the expected kept value (value x P(stay)), which ranks "
            "and totals better (Spearman, Gini, RMSE) but is not the median that MAE rewards: "
            "for a customer likely to stay, carrying the value forward is the MAE-optimal "
            "answer. A quantile (L1) objective would win MAE and lose the expected value the "
            "KPIs need."
        )
    return targets, analysis


def _cdnow(result: dict[str, Any]) -> tuple[list, list]:
    auc = _auc(result, MODEL)
    recency = _auc(result, "recency_rule")
    silent = _auc(result, "bgnbd_p_no_purchase")
    alive = _auc(result, "bgnbd_p_alive")
    ceiling = float(result["in_time_cv_roc_auc"])
    targets = [
        _target(f"beats the recency rule ({auc:.4f} vs {recency:.4f})", auc > recency),
        _target(
            f"beats BG/NBD clearly, by >= {CLEAR_MARGIN} ({auc:.4f} vs P(no purchase) {silent:.4f})",
            auc >= silent + CLEAR_MARGIN,
        ),
    ]
    value = result["value"]
    m, b, c = value[MODEL], value["bgnbd_gamma_gamma"], value["carry_forward"]
    targets.append(
        _target(
            f"value model beats BG/NBD + Gamma-Gamma in Gini ({m['gini']:.3f} vs {b['gini']:.3f})",
            m["gini"] > b["gini"],
        )
    )
    weighted = {"gini": "Gini", "top_decile_value_capture": "top-decile value capture"}
    won = [n for k, n in weighted.items() if m[k] > max(b[k], c[k])]
    won += ["RMSE"] if m["rmse"] < min(b["rmse"], c["rmse"]) else []
    wins = ", ".join(won) or "none (see the table)"
    analysis = [
        f"BG/NBD's P(alive) ranks churners badly (ROC-AUC {alive:.3f}): the model sets P(alive) = 1 "
        "for every customer without a repeat purchase, and those one-time buyers are the likeliest "
        "to stay silent. Its probability of no purchase in the horizon (dead, or alive and silent) "
        f"is the fair BG/NBD churn score ({silent:.4f}).",
        f"The data's ceiling is low: the churn model cross-validated within the test cutoff itself "
        f"(labels from the very period it is scored on) reaches {ceiling:.4f}. A log of dates and "
        "amounts only carries recency, frequency and spend, which the rule and BG/NBD already "
        f"use; LightGBM's {auc - recency:+.4f} over recency and {auc - silent:+.4f} over BG/NBD "
        "are near that ceiling, not a tuning gap.",
        f"Logistic regression on the same features scores {_auc(result, LOGISTIC):.4f} "
        f"({_auc(result, LOGISTIC) - auc:+.4f} against LightGBM): with RFM features only, the "
        "relation is close to monotone and additive, and trees have nothing extra to find.",
        "What would close it: signals beyond RFM (product categories, the number of CDs, "
        "interactions, complaints), or a larger cohort; CDNOW's training cutoffs also see "
        "customers 1-9 months old while the test sees them at 12-15 months, a shift in tenure "
        "that no earlier cutoff can teach.",
        f"Top-decile lift cannot exceed 1 / {result['churn_rate']:.3f} = "
        f"{1 / result['churn_rate']:.2f} when {result['churn_rate']:.0%} of customers churn, so "
        "it separates nothing here; ROC-AUC is the churn measure that matters on CDNOW.",
        f"Value, measured on the {1 - result['churn_rate']:.0%} of customers who bought again "
        "(what the value if retained predicts): MAE carry-forward "
        f"{c['mae']:.2f}, LightGBM {m['mae']:.2f}, BG/NBD + Gamma-Gamma {b['mae']:.2f}; Spearman "
        f"{c['spearman']:.3f}, {m['spearman']:.3f}, {b['spearman']:.3f}. Of the value-weighted "
        f"measures the KPIs rely on, the model is best in {wins}.",
    ]
    return targets, analysis


def btyd_fit_check(check: dict[str, Any]) -> list[dict[str, Any]]:
    """Fitted against published parameters, with the relative difference of each."""
    rows = []
    for model, published in (("bgnbd", BGNBD_PUBLISHED), ("gamma_gamma", GAMMA_GAMMA_PUBLISHED)):
        for k, pub in published.items():
            ours = float(check[model][k])
            rows.append(
                {
                    "model": model,
                    "param": k,
                    "ours": ours,
                    "published": pub,
                    "relative": ours / pub - 1.0,
                }
            )
    return rows


def assess(result: dict[str, Any]) -> dict[str, Any]:
    """``published``, ``targets`` and ``analysis`` of one data set's result."""
    name = result["name"]
    if name == "telco":
        targets, analysis = _telco(result)
    elif name == "cdnow":
        targets, analysis = _cdnow(result)
        rel = max(abs(r["relative"]) for r in btyd_fit_check(result["btyd_check"]))
        targets.append(
            _target(
                f"BG/NBD and Gamma-Gamma fit on the 39-week calibration within 15% of every "
                f"published parameter (largest difference {rel:.0%})",
                rel <= 0.15,
            )
        )
    else:
        targets, analysis = _snapshot_generic(result, 0.93 if name == "iranian" else None)
    return {"published": PUBLISHED.get(name, []), "targets": targets, "analysis": analysis}

"""Render benchmark results (dicts from :mod:`training.bench.suite`) as ``docs/benchmarks.md``."""

from __future__ import annotations

from typing import Any

from training.bench.targets import btyd_fit_check

NAMES = {
    "lightgbm": "LightGBM (ours)",
    "logistic_regression": "logistic regression",
    "recency_rule": "recency rule",
    "rfm_score": "weighted RFM score",
    "bgnbd_p_alive": "BG/NBD 1 - P(alive)",
    "bgnbd_p_no_purchase": "BG/NBD P(no purchase in H)",
    "carry_forward": "carry-forward",
    "bgnbd_gamma_gamma": "BG/NBD + Gamma-Gamma",
}
CHURN_METRICS = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "top_decile_lift": "top-decile lift",
    "brier": "Brier",
    "ece": "ECE",
}
VALUE_METRICS = {
    "mae": "MAE",
    "rmse": "RMSE",
    "spearman": "Spearman",
    "gini": "normalised Gini",
    "top_decile_value_capture": "top-decile value capture",
}
SUMMARY_CHURN = ("roc_auc", "pr_auc", "top_decile_lift")
SUMMARY_VALUE = ("spearman", "gini", "mae")


def _name(key: str) -> str:
    return NAMES.get(key, key)


def _fmt(value: float, metric: str) -> str:
    if metric in ("mae", "rmse"):
        return f"{value:.2f}"
    if metric == "top_decile_lift":
        return f"{value:.2f}"
    return f"{value:.4f}" if metric in ("roc_auc", "pr_auc") else f"{value:.3f}"


def _cell(result: dict[str, Any], kind: str, scorer: str, metric: str) -> str:
    text = _fmt(result[kind][scorer][metric], metric)
    std = result.get(f"{kind}_std", {}).get(scorer, {}).get(metric)
    return f"{text} ± {_fmt(std, metric)}" if std is not None else text


def _published(result: dict[str, Any], metric: str) -> str:
    rows = [p for p in result.get("published", []) if p["metric"] == metric]
    return "; ".join(f"{p['figure']} ({p['source']})" for p in rows) or "-"


def _summary_rows(result: dict[str, Any]) -> list[str]:
    label = f"{result['title']} ({result['rows']:,} customers, {result['churn_rate']:.1%} churn)"
    protocol = result["protocol"].split(";")[0]
    command = f"`{result['command']}`"
    rows = []
    for kind, metrics, model in (
        ("churn", SUMMARY_CHURN, "churn"),
        ("value", SUMMARY_VALUE, "value"),
    ):
        table = result.get(kind) or {}
        if not table:
            continue
        for metric in metrics:
            ours = _cell(result, kind, "lightgbm", metric)
            base = "; ".join(
                f"{_name(k)} {_cell(result, kind, k, metric)}" for k in table if k != "lightgbm"
            )
            name = f"{model} {CHURN_METRICS.get(metric) or VALUE_METRICS[metric]}"
            pub = _published(result, metric) if kind == "churn" else "-"
            rows.append(f"| {label} | {protocol} | {name} | {ours} | {base} | {pub} | {command} |")
    return rows


def _metric_table(result: dict[str, Any], kind: str, metrics: dict[str, str]) -> list[str]:
    table = result.get(kind) or {}
    if not table:
        return []
    lines = ["| scorer | " + " | ".join(metrics.values()) + " |", "|---" * (len(metrics) + 1) + "|"]
    for scorer in table:
        cells = " | ".join(_cell(result, kind, scorer, m) for m in metrics)
        lines.append(f"| {_name(scorer)} | {cells} |")
    return lines


def _btyd_lines(result: dict[str, Any]) -> list[str]:
    check = result.get("btyd_check")
    if not check:
        return []
    lines = [
        f"BTYD fit check: fitted on the {check['customers']:,} customers of this file with "
        f"purchases before {check['cutoff']} (the published 39-week calibration period), time in "
        "weeks, purchases on one day counted once. The published fit used the 2,357-customer "
        "sample, a 1-in-10 draw from the same master file, so the parameters should agree within "
        "sampling error, not exactly.",
        "",
        "| model | parameter | ours | published | difference |",
        "|---|---|---|---|---|",
    ]
    for r in btyd_fit_check(check):
        lines.append(
            f"| {r['model']} | {r['param']} | {r['ours']:.3f} | {r['published']:.3f} | "
            f"{r['relative']:+.1%} |"
        )
    at = result["bgnbd_at_cutoff"]
    gg = result["gamma_gamma_at_cutoff"]
    lines += [
        "",
        "Refitted on all purchases before the test cutoff (the baselines' calibration period): "
        + ", ".join(f"{k} = {v:.3f}" for k, v in at.items())
        + "; Gamma-Gamma "
        + ", ".join(f"{k} = {v:.3f}" for k, v in gg.items())
        + ".",
    ]
    return lines


def _section(result: dict[str, Any]) -> list[str]:
    imports = "; ".join(
        f"{t}: {r['read']:,} read, {r['accepted']:,} accepted, {r['rejected']:,} rejected"
        for t, r in result["import"].items()
    )
    lines = [
        f"## {result['title']}",
        "",
        f"- Source: `../shared/data/{result['source']}`; import: {imports}.",
        f"- Protocol: {result['protocol']}.",
        f"- Rows scored: {result['rows']:,}; churn rate {result['churn_rate']:.1%}; "
        f"run time {result['seconds']} s; generated {result['generated']}.",
        f"- Reproduce: `{result['command']}`.",
    ]
    if result.get("label_definition"):
        lines.append(f"- Label: {result['label_definition']}.")
    lines += [f"- {n}" for n in result.get("notes", [])]
    lines += ["", "Churn:", "", *_metric_table(result, "churn", CHURN_METRICS)]
    value = _metric_table(result, "value", VALUE_METRICS)
    if value:
        lines += ["", "Value:", "", *value]
    btyd = _btyd_lines(result)
    if btyd:
        lines += ["", *btyd]
    lines += ["", "Targets:", ""]
    lines += [f"- {'met' if t['met'] else 'NOT met'}: {t['text']}" for t in result["targets"]]
    lines += ["", "Reading:", ""]
    lines += [f"- {a}" for a in result["analysis"]]
    return lines


def render(
    results: list[dict[str, Any]], missing: list[str], user_path: list[str] | None = None
) -> str:
    """The whole benchmarks page: the user-path section (``user_path``, already rendered), the
    summary table, then one section per data set."""
    lines = [
        "# Real-data benchmarks",
        "",
        "Generated by `churn bench` (`training/bench/suite.py`) from the public data sets under "
        "`../shared/data` (each folder's SOURCE.md gives origin, licence and published figures). "
        "Do not edit by hand: rerun the command. `--data-root ../shared/data` is the default; "
        "`--only NAME` reruns one data set and keeps the others' last cached results "
        "(`$CHURN_HOME/bench/`). Snapshot figures are mean ± standard deviation over folds; "
        "event-log figures are one test cutoff. How each data set is adapted: `docs/adapters.md`. "
        "The model against the rules before and after, with bootstrap intervals: "
        "`docs/rules-on-real-data.md`.",
        "",
        *[*(user_path or []), *([""] if user_path else [])],
        "## Summary",
        "",
        "| data set | protocol | metric | ours | baselines | published (source) | reproduce |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines += _summary_rows(r)
    lines += ["", "Targets:", ""]
    for r in results:
        for t in r["targets"]:
            lines.append(f"- {r['name']}: {'met' if t['met'] else 'NOT met'}: {t['text']}")
    for r in results:
        lines += ["", *_section(r)]
    if missing:
        lines += ["", "## Not run", ""] + [f"- {m}" for m in missing]
    return "\n".join(lines) + "\n"

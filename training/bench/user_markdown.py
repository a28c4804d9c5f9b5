"""Render the user-path suite (:mod:`training.bench.user_path`) as a Markdown section."""

from __future__ import annotations

from typing import Any

from training.bench.as_of import PXV, RXM

INTRO = (
    "Each data set under `../shared/data` the way a user runs it, one setting for all. Purchase "
    "logs: imported (adapter or mapping spec), `churn train` with defaults on the data up to the "
    "as-of date T (the last day less the horizon, later events rejected; the horizon is the "
    "configured 90 days unless the history to T is too short, then the longest that fits), the "
    "registered champion scored at T, labels from the H days after T. LightGBM defaults "
    "(product features) and logistic regression (recency, log frequency, log monetary) are "
    "fitted at T - H. Snapshot tables: a 30% stratified holdout; `churn train-snapshot`'s model, "
    "LightGBM defaults and logistic regression fitted on the other 70%. Differences are the "
    "product minus the reference with a 95% paired bootstrap interval (1,000 resamples of the "
    "scored customers). Lost value: each churner's revenue in the H days before T; the share of "
    "it caught by the first 10% of customers by expected value at risk (P x V) and by recency x "
    "monetary. Reproduce: `churn bench --protocol user [--only NAME] [--as-of DATE]`."
)


def _diff(d: dict[str, float] | None) -> str:
    if d is None:
        return "-"
    return f"{d['diff']:+.4f} [{d['lo']:+.4f}, {d['hi']:+.4f}]"


def _cell(result: dict[str, Any], scorer: str | None) -> str:
    if scorer is None:
        return "-"
    auc = result["roc_auc"].get(scorer)
    if auc is None:
        return "-"
    return f"{auc:.4f} ({_diff(result['ours_minus'].get(scorer))})"


def _scorer(result: dict[str, Any], prefix: str) -> str | None:
    return next((k for k in result["roc_auc"] if k.startswith(prefix)), None)


def rows(results: list[dict[str, Any]]) -> list[str]:
    """The table: one row per data set (and as-of date)."""
    lines = [
        "| data set | protocol | customers (churn) | registered | product ROC-AUC | "
        "LightGBM defaults (product - it) | logistic regression | recency | RFM score | "
        "lost value in first 10%: P x V / R x M (difference) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ours = next(iter(r["roc_auc"]))
        capture = r.get("lost_value_capture")
        lost = (
            f"{capture[PXV]:.3f} / {capture[RXM]:.3f} ({_diff(r['capture_minus'])})"
            if capture
            else "-"
        )
        n = r.get("holdout_rows", r["rows"])
        cells = [
            r["title"],
            r["protocol"],
            f"{n:,} ({r['churn_rate']:.1%})",
            str(r["registered"]),
            f"{r['roc_auc'][ours]:.4f}",
            _cell(r, _scorer(r, "LightGBM defaults")),
            _cell(r, _scorer(r, "logistic regression")),
            _cell(r, _scorer(r, "recency") if r["kind"] != "snapshot" else None),
            _cell(r, _scorer(r, "RFM") if r["kind"] != "snapshot" else None),
            lost,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def goals(results: list[dict[str, Any]]) -> list[str]:
    """Issue #29's goals per data set: met or not, from the point estimates."""
    out = []
    for r in results:
        auc = list(r["roc_auc"].values())
        ours, refs = auc[0], dict(list(r["roc_auc"].items())[1:])
        best = max(refs, key=lambda k: refs[k])
        met = ours >= refs[best]
        label = r["title"] + (f" at {r['as_of']}" if "as_of" in r else "")
        verdict = "at least" if met else "below"
        out.append(
            f"- {label}: product {ours:.4f}, {verdict} the best reference ({best} "
            f"{refs[best]:.4f}): {'met' if met else 'NOT met'}"
        )
        capture = r.get("lost_value_capture")
        if capture:
            ok = capture[PXV] >= capture[RXM]
            out.append(
                f"- {label}: P x V catches {'at least' if ok else 'less than'} recency x "
                f"monetary ({capture[PXV]:.3f} vs {capture[RXM]:.3f}): {'met' if ok else 'NOT met'}"
            )
    return out


def section(results: list[dict[str, Any]], skipped: list[str]) -> list[str]:
    """The whole section, or nothing without results."""
    if not results:
        return []
    lines = ["## The product against the references, as a user runs it", "", INTRO, ""]
    lines += [*rows(results), "", "Goals (issue #29):", "", *goals(results)]
    sentences = [
        f"- {r['title']} at {r['as_of']}: {r['selection_sentence']}"
        for r in results
        if r.get("selection_sentence")
    ]
    if sentences:
        lines += ["", "What `churn train` said on each log:", "", *sentences]
    if skipped:
        lines += ["", "Not in this suite:", "", *[f"- {s}" for s in skipped]]
    return lines

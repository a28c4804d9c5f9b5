"""The HTML skeleton of the analysts' report (``string.Template``: ``$name`` placeholders) and its
English texts.

Kept in a module rather than an ``.html`` file so that it ships with the package. Everything is
inline (styles, images as data URIs): the report is one self-contained file.
"""

from __future__ import annotations

from string import Template

TEXT = {
    "title": "Churn report, {asof}",
    "meta": "Scoring date <b>{asof}</b> &middot; {customers} customers scored &middot; models "
    "{models}\n&middot; generated {generated}",
    "label": "Churn definition: {label}",
    "h_quality": "1. Model quality against the baselines",
    "h_at_risk": "2. Top {top_n} at-risk customers",
    "at_risk_note": "Active and lapsing customers, ordered by expected value at risk (P(churn) "
    "&times; value if retained).\nReasons are the three largest exact SHAP contributions that "
    "raise each customer's risk.",
    "h_drivers": "3. What drives churn across the base",
    "drivers_note": "Exact TreeSHAP values of {explained} randomly sampled customers, in log-odds "
    "of churn\n(positive values raise the risk). Top features by mean |SHAP value|:",
    "h_kpi": "4. KPI scorecards {period}",
    "footer": "How to read SHAP values here: each customer's contributions add up, with the\n"
    "base value, to the churn model's raw log-odds; the probability shown is that score passed\n"
    "through the sigmoid and the isotonic calibrator, which keeps the order of customers. See\n"
    "docs/explain.md.",
}
"""The report's English texts (HTML; ``{name}`` filled with escaped values); their Chinese
versions are in :data:`reports.i18n.ZH`."""

REPORT_TEMPLATE = Template(
    """<!DOCTYPE html>
<html lang="$lang">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<link rel="icon" href="data:,">
<style>
  body { font-family: -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", sans-serif;
         margin: 0 auto; max-width: 1180px; padding: 24px; color: #1d2733; line-height: 1.45; }
  h1 { font-size: 1.7em; margin-bottom: 0.2em; }
  h2 { border-bottom: 2px solid #dde3ea; padding-bottom: 4px; margin-top: 2.2em; }
  .meta { color: #5a6675; }
  .notes { background: #fff7e0; border-left: 4px solid #e0a800; padding: 8px 14px; }
  table { border-collapse: collapse; font-size: 0.86em; margin: 10px 0; }
  th, td { border-bottom: 1px solid #e4e8ee; padding: 4px 8px; text-align: left; vertical-align: top; }
  th { background: #f3f6f9; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr.model td { font-weight: 600; background: #eef6ff; }
  figure { margin: 14px 0; }
  figure img { max-width: 100%; border: 1px solid #e4e8ee; }
  figcaption { color: #5a6675; font-size: 0.9em; }
  ul.reasons { margin: 0; padding-left: 1.1em; }
  .band-high { color: #b00020; font-weight: 600; }
  .band-medium { color: #b26a00; }
  .grade { font-weight: 600; }
  .small { font-size: 0.85em; color: #5a6675; }
</style>
</head>
<body>
<h1>$title</h1>
<p class="meta">$meta</p>
<p class="meta">$label</p>
$notes

<h2 id="quality">$h_quality</h2>
$quality

<h2 id="at-risk">$h_at_risk</h2>
<p>$at_risk_note</p>
$at_risk

<h2 id="drivers">$h_drivers</h2>
<p>$drivers_note</p>
$drivers

<h2 id="kpi">$h_kpi</h2>
$kpi

<p class="small">$footer</p>
</body>
</html>
"""
)

"""The analysts' report's template environment (Jinja2, autoescaped, the pages in
``reports/templates/``, shipped as package data) and its English texts.

Everything the page shows is inline (styles, images as data URIs): the report is one
self-contained file.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

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
    "h_rfm": "5. The book by RFM segment",
    "rfm_note": "Each scored customer is high or low on recency, frequency and monetary value "
    "against the book's medians;\nthe three answers name the segment. Churn rate: the mean "
    "predicted P(churn).",
    "h_trends": "6. Trends, last 12 months",
    "trends_note": "Each manager's score, churn rate and key indicators over the last 12 months, "
    "one point per month with scorecards; the figure after each chart is the latest month's.",
    "footer": "How to read SHAP values here: each customer's contributions add up, with the\n"
    "base value, to the churn model's raw log-odds; the probability shown is that score passed\n"
    "through the sigmoid and the isotonic calibrator, which keeps the order of customers. See\n"
    "docs/explain.md.",
}
"""The report's English texts (HTML written here, trusted; each ``{name}`` is filled with an
escaped value); their Chinese versions are in :data:`reports.i18n.ZH`."""

ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
"""One environment for the report: templates parsed once; every value escaped unless marked as
markup; a name the page uses but the context lacks is an error, not an empty string."""

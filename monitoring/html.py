"""The monitoring result as one self-contained HTML page (Jinja2, escaped, nothing fetched)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Churn model monitoring as of {{ r.asof }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.2rem 0.7rem; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.bad { color: #b00020; font-weight: 600; }
li.alert { color: #b00020; }
</style></head><body>
<h1>Churn model monitoring as of {{ r.asof }}</h1>
<p>Champion {{ r.model.name }} v{{ r.model.version }}; reference: {{ r.reference.source }}
({{ r.reference.cutoffs | join(", ") }}, {{ r.reference.n }} rows).</p>
<h2>Alerts</h2>
{% if r.alerts %}<ul>{% for a in r.alerts %}<li class="alert">{{ a }}</li>{% endfor %}</ul>
{% else %}<p>No alert: every measure is within its threshold.</p>{% endif %}
<h2>Estimated performance (CBPE, before labels)</h2>
<table><tr><th>ROC-AUC</th><th>precision, top {{ r.estimated.capacity }}</th>
<th>expected ECE if calibrated</th><th>customers</th><th>champion test ROC-AUC</th></tr>
<tr><td class="n">{{ f(r.estimated.roc_auc) }}</td><td class="n">{{ f(r.estimated.precision_at_capacity) }}</td>
<td class="n">{{ f(r.estimated.ece) }}</td><td class="n">{{ r.estimated.n }}</td>
<td class="n">{{ f(r.model.test_roc_auc) }}</td></tr></table>
<h2>Realized performance of past scorings</h2>
{% if r.realized %}<table><tr><th>scored</th><th>source</th><th>customers</th><th>ROC-AUC</th>
<th>estimated then</th><th>precision at capacity</th><th>churn rate</th><th>mean predicted</th>
<th>ECE</th></tr>
{% for x in r.realized %}<tr><td>{{ x.asof }}</td><td>{{ x.source }}</td><td class="n">{{ x.n }}</td>
<td class="n">{{ f(x.roc_auc) }}</td><td class="n">{{ f(x.estimated_roc_auc) }}</td>
<td class="n">{{ f(x.precision_at_capacity) }}</td><td class="n">{{ f(x.churn_rate) }}</td>
<td class="n">{{ f(x.mean_probability) }}</td><td class="n">{{ f(x.ece) }}</td></tr>{% endfor %}
</table>{% else %}<p>No stored scoring has reached the end of its horizon yet.</p>{% endif %}
<h2>Prediction drift</h2>
<p>{{ r.prediction_drift.statistic }} {{ f(r.prediction_drift.value) }}
(threshold {{ r.prediction_drift.threshold }}){% if r.prediction_drift.drifted %}
<span class="bad">drifted</span>{% endif %}</p>
<h2>Population</h2>
<p>{{ r.population.current_size }} customers scored; reference {{ r.population.reference_size }}
per cutoff.</p>
{% for what in ("segments", "lifecycle") %}{% if r.population[what] %}
<table><tr><th>{{ what }}</th><th>reference</th><th>now</th></tr>
{% for k, v in r.population[what].items() %}<tr><td>{{ k }}</td>
<td class="n">{{ pct(v.reference) }}</td><td class="n">{{ pct(v.current) }}</td></tr>{% endfor %}
</table>{% endif %}{% endfor %}
<h2>Feature drift</h2>
<table><tr><th>feature</th><th>statistic</th><th>value</th><th>threshold</th><th></th></tr>
{% for x in features %}<tr><td>{{ x.name }}</td><td>{{ x.statistic }}</td>
<td class="n">{{ f(x.value) }}</td><td class="n">{{ x.threshold }}</td>
<td>{% if x.drifted %}<span class="bad">drifted</span>{% endif %}</td></tr>{% endfor %}
</table>
</body></html>
"""


def _num(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}"


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def render_html(result: dict[str, Any]) -> str:
    """The page: alerts, estimated and realized performance, drift by feature (largest first)."""
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    features = sorted(result["features"], key=lambda d: -((d["value"] or 0.0) / d["threshold"]))
    return env.from_string(TEMPLATE).render(r=result, features=features, f=_num, pct=_pct)


def write_html(result: dict[str, Any], path: Path) -> Path:
    """Write :func:`render_html` to ``path``; returns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")
    return path

"""The monitoring result as one self-contained HTML page (Jinja2 template
``monitoring/templates/monitoring.html``, autoescaped, nothing fetched)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
)
"""One environment: the template is parsed on first use and kept; a result from an older run
without some keys still renders (they show as empty), as it did before."""


def _num(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}"


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def render_html(result: dict[str, Any]) -> str:
    """The page: alerts, estimated and realized performance, drift by feature (largest first)."""
    features = sorted(result["features"], key=lambda d: -((d["value"] or 0.0) / d["threshold"]))
    page = _ENV.get_template("monitoring.html")
    return page.render(r=result, features=features, f=_num, pct=_pct)


def write_html(result: dict[str, Any], path: Path) -> Path:
    """Write :func:`render_html` to ``path``; returns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")
    return path

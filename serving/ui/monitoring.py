"""The monitoring page, ``/ui/monitoring``: the latest ``churn monitor`` result (alerts,
estimated and realized ROC-AUC, drifted features), or a note when there is none to read."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from core.errors import ChurnError
from core.lang import catalogue
from features.shown import feature_label
from monitoring.alerts import alert_text
from monitoring.config import latest_path
from serving.ui.context import PREFIX, Context

t = catalogue("workspace").t

log = logging.getLogger(__name__)


def monitor_command(ctx: Context) -> str:
    """The ``churn monitor`` command that fills the page for the latest scoring (its as-of
    date; the data folder named, not shown: pages carry no server paths)."""
    try:
        asof = ctx.svc.store.run().asof
    except ChurnError:  # nothing scored yet: the command needs a date of the user's choice
        asof = "YYYY-MM-DD"
    return f"churn monitor --data DATA_FOLDER --asof {asof} --out monitor.json"


def monitoring(ctx: Context) -> Response:
    """The latest ``churn monitor`` result: alerts, estimated and realized ROC-AUC, drift."""
    ctx.params(set())
    path = latest_path()
    result: dict[str, Any] | None = None
    note = None
    if not path.is_file():
        note = t("no_monitor", ctx.lang, command=monitor_command(ctx))
    else:
        try:
            result = json.loads(path.read_text("utf-8"))
            if not isinstance(result, dict) or "asof" not in result:
                raise ValueError("not a monitoring result")
        except (OSError, ValueError) as exc:
            log.warning("workspace: monitoring result unreadable: %s", exc)
            result, note = None, t("bad_monitor", ctx.lang)
    features = (result or {}).get("features") or []
    drifted = sorted(
        (f for f in features if f.get("drifted")),
        key=lambda f: -((f.get("value") or 0.0) / (f.get("threshold") or 1.0)),
    )
    items = (result or {}).get("alert_items")
    alerts = (
        [alert_text(a, ctx.lang) for a in items]
        if isinstance(items, list)
        else (result or {}).get("alerts") or []
    )
    for f in drifted:
        f["label"] = feature_label(str(f.get("name")), ctx.lang)
    return ctx.render(
        "monitoring.html",
        alerts=alerts,
        nav="monitoring",
        result=result,
        note=note,
        drifted=drifted,
        n_features=len(features),
        lang_url=lambda code: f"{PREFIX}/monitoring?{urlencode({'lang': code})}",
    )

"""Command-line options and names several ``churn`` commands share.

Imported while the commands are registered (``churn --help``): standard library, typer and light
project modules only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.lang import LANG_ENV, LANGS, Lang, LangError, parse_lang

# The names of ``features.adapters.importer.ADAPTERS`` (in its order), for help texts: importing the
# adapters loads pandas and numpy. tests/churn/test_cli.py keeps these in step with the registry.
ADAPTER_NAMES = ("telco", "iranian", "cdnow", "ecommerce")
SNAPSHOT_ADAPTER_NAMES = ("telco", "iranian", "ecommerce")


def _checked_lang(value: str | None) -> str:
    try:
        return parse_lang(value)
    except LangError as exc:
        raise typer.BadParameter(str(exc)) from None


def reasons_language(lang: str) -> Lang:
    """``--lang`` as a language (already checked by the option's callback)."""
    return parse_lang(lang)


LangOpt = Annotated[
    str,
    typer.Option(
        "--lang",
        envvar=LANG_ENV,
        callback=_checked_lang,
        help=f"Language of what the command prints for people: {' or '.join(LANGS)} "
        f"(default: ${LANG_ENV}, else en). CSV and JSON keys stay English.",
    ),
]


DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Data set folder (CSV or Parquet tables); default: the folder the batch scoring "
        "of the period start read.",
    ),
]
PredOpt = Annotated[
    Path | None,
    typer.Option(
        "--predictions",
        help="Predictions file (Parquet or CSV) instead of the store: customer_id, "
        "churn_probability, predicted_value; optional as_of (score date) and reasons.",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="YAML file; its kpi: section (and serving: store_url) is read."),
]
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store", help="SQLAlchemy URL of the prediction store (default: config, else SQLite)."
    ),
]
MaxBadRowShareOpt = Annotated[
    float | None,
    typer.Option(
        "--max-bad-row-share",
        min=0.0,
        max=1.0,
        help="Stop when more than this share of a table's rows is rejected (one bad row never "
        "stops a run); default: the config's data.max_bad_row_share, else 0.2.",
    ),
]

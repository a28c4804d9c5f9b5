"""``churn export``: write what the workspace recorded as files of the data contract.

``churn export contacts --out FILE`` writes the retention contacts logged in the workspace
(``/ui/``) as the contract's ``contacts`` table, a CSV that ``churn validate`` and the loader
accept beside the other tables of a data folder.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from churn.commands._options import LangOpt, reasons_language
from core.lang import catalogue

console = Console()
export_app = typer.Typer(
    help="Write what the workspace recorded as data-contract files (contacts).",
    no_args_is_help=True,
)


@export_app.command("contacts")
def contacts(
    out: Path = typer.Option(..., "--out", help="CSV file to write (the contract's contacts)."),
    manager: str | None = typer.Option(
        None, "--manager-id", help="Only the contacts of this account manager's customers."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; its serving: section names the store."
    ),
    store: str | None = typer.Option(
        None, "--store", help="SQLAlchemy URL of the serving store (overrides config)."
    ),
    lang: LangOpt = "en",
) -> None:
    """Write the retention contacts logged in the workspace as the contract's contacts table."""
    from sqlalchemy.exc import SQLAlchemyError

    from churn.commands._inputs import serving_config
    from churn.commands._output import fail
    from core.csv_out import write_csv
    from core.errors import ChurnError
    from core.paths import replacing
    from scoring.store.contacts import ContactStore
    from scoring.store.predictions import PredictionStore

    language = reasons_language(lang)
    try:
        cfg = serving_config(config, store)
        st = PredictionStore(cfg.resolved_store_url())
        try:
            frame = ContactStore(st.engine).frame(manager=manager)
        except SQLAlchemyError as exc:
            raise ChurnError(
                f"cannot read the contacts from the store {st.safe_url}: {exc.__class__.__name__}"
            ) from exc
        finally:
            st.close()
        with replacing(out) as tmp:
            write_csv(frame, tmp)
    except ChurnError as exc:
        raise fail(exc, language) from None
    except OSError as exc:
        said = f"--out {out}: cannot write: {exc.strerror or exc}"
        raise fail(ChurnError(said), language) from None
    said = catalogue("cli").t("contacts_written", language, n=len(frame), path=out)
    console.print(said, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``export`` to the ``churn`` app."""
    app.add_typer(export_app, name="export")

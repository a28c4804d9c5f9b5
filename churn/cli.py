"""The ``churn`` command: one typer app; each module in ``churn.commands`` adds the command it is
named after (``import_`` adds ``import``); helpers shared by several live in ``_output``
(formats and tables), ``_options`` and ``_inputs`` (the data loader and the prediction store).

Registering the commands must stay light, so ``churn --help`` answers at once: command modules
import only the standard library, typer, rich and light project modules (``core.errors``,
``core.paths``) at top level, and everything else inside the command function
(tests/churn/test_cli.py checks this; benchmarks/cli_startup.py times it).
"""

from __future__ import annotations

import errno
import importlib
import io
import logging
import os
import pkgutil
import sys
import warnings
from logging.handlers import RotatingFileHandler
from pathlib import Path

import typer
from rich.console import Console

import churn.commands
from core.errors import ChurnError
from core.lang import Lang
from core.paths import home
from core.process import set_process_defaults

app = typer.Typer(
    name="churn",
    help="Churn prediction service: data, features, models, scoring, KPIs and the API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LIBRARY_LOGGERS = ("mlflow", "alembic")
_stderr_handler: logging.Handler | None = None
_verbose = False
"""Whether ``--verbose`` was given: store and registry failures then show their traceback."""


def configure_logging(level: str | None = None) -> Path:
    """Send library logs (MLflow, alembic, ...) to ``$CHURN_HOME/logs/churn.log`` and only
    warnings to stderr, so INFO lines do not break the progress display; ``level`` (or
    ``CHURN_LOG_LEVEL``) shows more on stderr. Returns the log file."""
    global _stderr_handler
    # MLflow otherwise gives its loggers their own INFO handler on stderr when it is imported,
    # and draws download bars there
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in LIBRARY_LOGGERS:  # in case MLflow was imported (and configured them) already
        lib = logging.getLogger(name)
        lib.handlers, lib.propagate = [], True
        lib.setLevel(logging.NOTSET)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_churn", False)]:
        root.removeHandler(handler)
    root.setLevel(logging.INFO)
    _stderr_handler = logging.StreamHandler(sys.stderr)
    _stderr_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    set_stderr_level(level or os.environ.get("CHURN_LOG_LEVEL") or "WARNING")
    _stderr_handler._churn = True  # type: ignore[attr-defined]
    root.addHandler(_stderr_handler)
    logging.captureWarnings(True)
    # pyspark warns about pandas 3 whenever pyspark.pandas is imported; the Spark engine's
    # equality tests check what matters instead
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )
    path = home() / "logs" / "churn.log"
    to_file = _LogFile(path, maxBytes=5_000_000, backupCount=2, encoding="utf-8", delay=True)
    to_file.setFormatter(logging.Formatter(LOG_FORMAT))
    to_file.setLevel(logging.INFO)
    to_file._churn = True  # type: ignore[attr-defined]
    root.addHandler(to_file)
    return path


class _LogFile(RotatingFileHandler):
    """The log file, with its folder made at the first record (``churn --help`` writes nothing);
    a folder that cannot be written drops the records instead of failing the command."""

    def _open(self) -> io.TextIOWrapper:
        """The file, its folder made first."""
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        """Drop the record: a log file that cannot be written must not stop a command."""


def set_stderr_level(level: str) -> None:
    """The least severe log level printed on stderr (DEBUG, INFO, WARNING, ...)."""
    name = level.upper()
    if _stderr_handler is not None and isinstance(logging.getLevelName(name), int):
        _stderr_handler.setLevel(name)
        if logging.getLevelName(name) < logging.INFO:
            logging.getLogger().setLevel(name)


@app.callback()
def _root(
    verbose: bool = typer.Option(
        False,
        "--verbose",
        "-v",
        help="Print library logs (MLflow, alembic) on stderr from INFO; they always go to "
        "$CHURN_HOME/logs/churn.log. CHURN_LOG_LEVEL sets the level too.",
    ),
) -> None:
    """Churn prediction service: data, features, models, scoring, KPIs and the API."""
    global _verbose
    _verbose = verbose
    if verbose:
        set_stderr_level("INFO")


def register_commands() -> typer.Typer:
    """Add every command module's commands to the app (once)."""
    if not app.registered_commands:
        for info in sorted(pkgutil.iter_modules(churn.commands.__path__), key=lambda i: i.name):
            if not info.name.startswith("_"):
                importlib.import_module(f"churn.commands.{info.name}").register(app)
    return app


def _first_line(exc: BaseException) -> str:
    """The database's or library's own one-line reason (never the SQL statement)."""
    reason = getattr(exc, "orig", None) or exc
    lines = str(reason).strip().splitlines()
    return f"{exc.__class__.__name__}: {lines[0]}" if lines else exc.__class__.__name__


def failure_line(exc: BaseException, lang: Lang = "en") -> str | None:
    """One line for a failure of the store, the registry or the disk, with the next step, in
    ``lang``; None for anything else (a bug, whose traceback is the useful part)."""
    from core.lang import catalogue

    t = catalogue("cli").t
    package = type(exc).__module__.split(".")[0]
    if package == "sqlalchemy":
        return t("failed_store", lang, error=_first_line(exc))
    if package == "mlflow":
        return t("failed_registry", lang, error=_first_line(exc))
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        where = t("failed_disk_where", lang, path=exc.filename) if exc.filename else ""
        return t("failed_disk", lang, where=where)
    return None


def main() -> None:
    """Console entry point: user errors print a message and exit 2, without a traceback; store,
    registry and disk failures print one line with the next step (the traceback with
    ``--verbose``)."""
    set_process_defaults()
    register_commands()
    configure_logging()
    try:
        app()
    except ChurnError as exc:
        label, said = _error_label(), exc.said(_asked_lang())
        Console(stderr=True).print(f"[bold red]{label}[/bold red] {said}", highlight=False)
        sys.exit(2)
    except Exception as exc:
        line = failure_line(exc, _asked_lang())
        if line is None:
            raise
        # INFO: the log file keeps the traceback, stderr (WARNING and up) does not
        logging.getLogger("churn").info("command failed", exc_info=exc)
        err = Console(stderr=True)
        if _verbose:
            err.print_exception(show_locals=False)
        label = _error_label()
        err.print(f"[bold red]{label}[/bold red] {line}", highlight=False, soft_wrap=True)
        sys.exit(2)


def _error_label(argv: list[str] | None = None) -> str:
    """ "error:" in the language the command was asked for (``--lang``, else ``$CHURN_LANG``)."""
    from core.lang import catalogue

    return catalogue("cli").t("error", _asked_lang(argv))


def _asked_lang(argv: list[str] | None = None) -> Lang:
    """The language the command was asked for (``--lang``, else ``$CHURN_LANG``, else en)."""
    from core.lang import LangError, default_lang, parse_lang

    args = sys.argv[1:] if argv is None else argv
    given = next((a.split("=", 1)[1] for a in args if a.startswith("--lang=")), None)
    if given is None and "--lang" in args[:-1]:
        given = args[args.index("--lang") + 1]
    try:
        lang = parse_lang(given) if given else default_lang()
    except LangError:
        lang = "en"
    return lang

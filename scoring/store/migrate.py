"""Store upgrades: bring a store's schema to this code's newest revision with Alembic.

The first command that opens a store upgrades it in place (``PredictionStore`` does it); ``churn
store upgrade`` does it on demand, or prints the SQL (``--sql``). A scoring run and the service's
workers may open one store at once, so the upgrade runs in one transaction under a lock: a
transaction-level advisory lock on PostgreSQL, ``BEGIN EXCLUSIVE`` on SQLite (other databases
get no lock). Whoever waits reads the version again and finds the work done. The version lives in
``churn_alembic_version``: a database shared with MLflow keeps MLflow's ``alembic_version`` apart.
A store at a revision this code does not know (written by a newer release) is refused, naming both.
"""

from __future__ import annotations

import io
import logging
import sqlite3
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from scoring.store.errors import StoreVersionError
from scoring.store.schema import VERSION_TABLE

if TYPE_CHECKING:  # Alembic is imported where it is used: importing the store stays light
    from alembic.config import Config
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
ADVISORY_KEY = zlib.crc32(b"churn store schema upgrade")
"""The PostgreSQL advisory lock the upgrade holds (a fixed number: every process agrees)."""
SQLITE_WAIT_S = 60.0
"""How long an upgrade waits for SQLite's write lock (another process upgrading or writing)."""


@dataclass(frozen=True)
class Upgrade:
    """A store's schema revision before and after an upgrade (equal: nothing to do)."""

    before: str | None
    after: str


def _config(url: str | None = None, output: io.StringIO | None = None) -> Config:
    """Alembic's configuration, built in code (no ``alembic.ini``)."""
    from alembic.config import Config

    cfg = Config(output_buffer=output) if output is not None else Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@cache
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def head() -> str:
    """This code's newest schema revision."""
    found = _script().get_current_head()
    assert found is not None, "the store has no migrations"
    return found


def current(conn: sa.Connection) -> str | None:
    """The store's schema revision (None: no version table yet, a new or pre-migration store)."""
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _check_known(revision: str | None, where: str) -> None:
    """StoreVersionError when ``revision`` is not one of this code's revisions."""
    if revision is None:
        return
    from alembic.util import CommandError

    try:
        known = _script().get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise StoreVersionError(
            f"the store {where} is at schema revision {revision}, which this code does not know "
            f"(its newest is {head()}): a newer release upgraded it; run that release",
            public=f"the prediction store's schema ({revision}) is newer than this service's "
            f"({head()})",
        )


def _locking_engine(engine: sa.Engine) -> sa.Engine:
    """An engine whose transactions hold the database's upgrade lock from their start: on
    SQLite file ``BEGIN EXCLUSIVE`` (DDL included in the transaction), elsewhere ``engine``."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine  # an in-memory database lives in its engine: no other process sees it
    locked = sa.create_engine(
        engine.url, poolclass=NullPool, connect_args={"timeout": SQLITE_WAIT_S}
    )

    @sa.event.listens_for(locked, "connect")
    def _manual(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # the driver's own BEGIN would come too late

    @sa.event.listens_for(locked, "begin")
    def _exclusive(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN EXCLUSIVE")

    return locked


def _lock(conn: sa.Connection) -> None:
    """Take the upgrade lock for the rest of ``conn``'s transaction (PostgreSQL; SQLite's
    comes with ``BEGIN EXCLUSIVE``)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})


def upgrade(engine: sa.Engine) -> Upgrade:
    """Bring the store behind ``engine`` to :func:`head` in one locked transaction, keeping every
    row; a store at head costs one read of its version. StoreVersionError for a newer store."""
    where = engine.url.render_as_string(hide_password=True)
    target = head()
    with engine.connect() as conn:
        before = current(conn)
    _check_known(before, where)
    if before == target:
        return Upgrade(before, target)
    locked = _locking_engine(engine)
    try:
        with locked.begin() as conn:
            _lock(conn)
            before = current(conn)
            _check_known(before, where)
            if before != target:
                from alembic import command

                cfg = _config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, target)
                log.info("store %s upgraded from %s to %s", where, before or "nothing", target)
    finally:
        if locked is not engine:
            locked.dispose()
    return Upgrade(before, target)


def version(engine: sa.Engine) -> Upgrade:
    """The store's revision and this code's newest (``after``), without changing anything."""
    with engine.connect() as conn:
        before = current(conn)
    _check_known(before, engine.url.render_as_string(hide_password=True))
    return Upgrade(before, head())


def upgrade_sql(url: str) -> str:
    """The SQL that upgrades a new store of ``url``'s database to :func:`head` (Alembic's
    offline mode: nothing is connected or changed)."""
    from alembic import command

    out = io.StringIO()
    command.upgrade(_config(url, out), head(), sql=True)
    return out.getvalue()

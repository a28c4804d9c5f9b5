"""The feature and prediction store: what batch scoring materialised, per as-of date.

Any SQLAlchemy URL works (SQLite by default, PostgreSQL too). Tables:

- ``scoring_runs``: one row per as-of date (models, versions, row count, feature table);
- ``predictions``: one row per customer and as-of date, with the four scores;
- ``features_<hash>``: the feature rows, one table per feature set (the hash names it), so a
  stored row is exactly what the model scored (float64 in, float64 out);
- ``api_predictions``: the API's bounded prediction log (:mod:`serving.prediction_log`);
- ``reload_signals``: how the service's workers pass on a ``POST /reload``.

The tables are described in :mod:`scoring.store.schema`; opening a store upgrades its schema
(:mod:`scoring.store.migrate`).

Scoring an as-of date again replaces its rows in one transaction. Reads meet a missing, corrupt
or unreachable store as :class:`StoreUnavailable` (the API answers 503) and recover by themselves
once it is back: a SQLite file is opened afresh for every read (no pooled handle outlives a
replaced file, and a missing file is never created by a read), other databases are pinged.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa
from pydantic import Field
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from core.config import Frozen
from core.notes import note
from scoring.store.errors import StoreError, StoreUnavailable
from scoring.store.migrate import Upgrade, upgrade, version
from scoring.store.schema import (
    API_PREDICTIONS,
    PREDICTIONS,
    RELOADS,
    RUNS,
    feature_table,
    feature_table_name,
    reflect_feature_table,
)

log = logging.getLogger(__name__)

KEY_COLUMNS = ("customer_id", "account_manager_id", "segment")
PREDICTION_COLUMNS = (
    "churn_probability",
    "predicted_value",
    "expected_value_at_risk",
    "risk_band",
    "churn_model_version",
    "value_model_version",
)
LIST_COLUMNS = (
    "plan",
    "lifecycle_status",
    "last_purchase_date",
    "days_since_last_purchase",
    "contract_end_date",
    "reasons",
    "recommended_action",
    "rfm_segment",
    "rfm_score",
    "benefit",
    "open_complaints",
    "benefit_value",
)
"""What the lists show besides the scores (``reasons``: a JSON list of sentences). Rows stored
before these columns existed read as NULL: lifecycle unknown, listed with the at-risk rows; no RFM
segment; no benefit, listed after the rows that have one."""
DEFAULT_HORIZON_DAYS = 90


@dataclass(frozen=True)
class ScoringRun:
    """One batch scoring of an as-of date: which models scored how many customers."""

    asof: str
    scored_at: datetime
    n_customers: int
    churn_model: str
    churn_model_version: str
    value_model: str
    value_model_version: str
    feature_names: tuple[str, ...]
    source: str
    horizon_days: int = DEFAULT_HORIZON_DAYS


class AtRiskQuery(Frozen):
    """Filters and page of a list; ``asof`` None means the latest scored date."""

    lifecycle: tuple[str, ...] = ("active", "lapsing")
    """Lifecycle statuses of the list (the win-back list: ``lapsed``)."""
    asof: str | None = None
    account_manager_id: str | None = None
    segment: str | None = None
    rfm_segment: str | None = None
    min_probability: float = Field(0.0, ge=0, le=1)
    sort: Literal["benefit", "value_at_risk"] = "benefit"
    """``benefit``: expected benefit of a contact first (the at-risk list's default; rows without
    one follow by value at risk); ``value_at_risk``: expected value at risk first."""
    limit: int = Field(100, ge=1)
    offset: int = Field(0, ge=0)


def list_order(query: AtRiskQuery) -> list[Any]:
    """The ORDER BY of a list page: benefit (NULL last) when ``query`` asks for it on the
    at-risk list, then expected value at risk, then customer id."""
    p = PREDICTIONS.c
    order: list[Any] = [p.expected_value_at_risk.desc(), p.customer_id]
    if query.sort == "benefit" and "active" in query.lifecycle:
        order.insert(0, p.benefit.desc().nulls_last())
    return order


@dataclass(frozen=True)
class AtRiskPage:
    """One page of a list, in the query's order."""

    asof: str
    total: int
    offset: int
    limit: int
    rows: pd.DataFrame
    horizon_days: int = DEFAULT_HORIZON_DAYS


@dataclass(frozen=True)
class StoredCustomer:
    """One customer's row of a scoring: the features as scored and the stored scores."""

    customer_id: str
    run: ScoringRun
    features: dict[str, Any]
    scores: dict[str, Any]


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    try:
        parsed = sa.engine.make_url(url)
    except (ArgumentError, ValueError):
        return None
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        return Path(database)
    return None


def _engine(url: str, *, create: bool = True) -> sa.Engine:
    """An engine for ``url``; for a SQLite file one connection per use (``NullPool``), and with
    ``create=False`` a connection that fails instead of creating a missing file."""
    try:
        parsed = sa.engine.make_url(url)
        path = sqlite_file(url)
        if path is None:
            return sa.create_engine(parsed, pool_pre_ping=parsed.get_backend_name() != "sqlite")
        path.parent.mkdir(parents=True, exist_ok=True)
        if create:
            return sa.create_engine(parsed, poolclass=NullPool)
        target = f"file:{path.resolve()}?mode=rw"
        return sa.create_engine(
            parsed,
            poolclass=NullPool,
            creator=lambda: sqlite3.connect(target, uri=True, check_same_thread=False),
        )
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise StoreError(f"store URL {url!r} is not a usable SQLAlchemy URL: {exc}") from exc


def _unavailable(exc: SQLAlchemyError) -> StoreUnavailable:
    """What a database error means for a reader, in words without URLs or SQL."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    if "unable to open" in text:
        public = note("store_missing")
    elif "not a database" in text or "malformed" in text or "corrupt" in text:
        public = note("store_corrupt")
    elif "no such table" in text or "does not exist" in text or "no such column" in text:
        public = note("store_no_tables")
    else:
        public = note("store_unreadable", error=type(exc).__name__)
    return StoreUnavailable(public, str(exc))


def safe_url(url: str) -> str:
    """``url`` with any password hidden (for messages)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(unparsable URL)"


def upgrade_store(url: str) -> Upgrade:
    """Bring the store of ``url`` to this code's newest schema (what opening it does), saying
    from which revision; a new SQLite file is created."""
    engine = _engine(url)
    try:
        return upgrade(engine)
    except SQLAlchemyError as exc:
        raise StoreError(note("store_cannot_upgrade", url=safe_url(url), error=str(exc))) from exc
    finally:
        engine.dispose()


def store_version(url: str) -> Upgrade:
    """The schema revision of the store of ``url`` and this code's newest; changes nothing
    (a missing SQLite file is an error, not created)."""
    engine = _engine(url, create=False)
    try:
        return version(engine)
    except SQLAlchemyError as exc:
        found = _unavailable(exc)
        why = found.public_note or found.public
        raise StoreError(note("store_cannot_read", url=safe_url(url), why=why)) from exc
    finally:
        engine.dispose()


INSERT_CHUNK = 50_000
"""Rows converted and sent per round trip of a bulk insert (bounds the extra memory)."""


def _plain_columns(frame: pd.DataFrame, nan_is_null: bool = False) -> list[list[Any]]:
    """Per column, the values as Python objects with every missing value None (dates as
    ``YYYY-MM-DD`` text, as the store's date columns hold them). With ``nan_is_null`` (SQLite
    stores a NaN it is given as NULL) float columns go as they are."""
    out = []
    for name in frame.columns:
        column = frame[name]
        if nan_is_null and column.dtype == "float64":
            out.append(column.to_numpy().tolist())
            continue
        if isinstance(column.dtype, pd.DatetimeTZDtype) or column.dtype.kind == "M":
            midnight = bool((column.dropna().dt.normalize() == column.dropna()).all())
            column = column.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S")
        values = column.to_numpy(dtype=object, copy=True)
        values[pd.isna(values)] = None
        out.append(values.tolist())
    return out


def bulk_insert(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """Insert every row of ``frame`` (holding ``table``'s columns) in bulk: COPY on PostgreSQL
    (psycopg), one ``executemany`` of tuples per chunk elsewhere. Missing values become NULL."""
    names = [c.name for c in table.columns if c.name in frame.columns]
    dialect = conn.dialect
    raw = conn.connection.driver_connection
    sqlite = dialect.name == "sqlite"
    for start in range(0, len(frame), INSERT_CHUNK):
        chunk = frame.iloc[start : start + INSERT_CHUNK][names]
        rows = list(zip(*_plain_columns(chunk, nan_is_null=sqlite), strict=True))
        if dialect.name == "postgresql" and dialect.driver == "psycopg":
            from psycopg import sql

            copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
            )
            with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
        elif dialect.paramstyle == "qmark":  # SQLite: the driver's executemany, no dicts
            marks = ", ".join("?" * len(names))
            quoted = ", ".join(dialect.identifier_preparer.quote(n) for n in names)
            target = dialect.identifier_preparer.format_table(table)
            conn.exec_driver_sql(f"INSERT INTO {target} ({quoted}) VALUES ({marks})", rows)
        else:
            conn.execute(table.insert(), [dict(zip(names, r, strict=True)) for r in rows])


class PredictionStore:
    """Read and write materialised features and predictions through one SQLAlchemy engine."""

    def __init__(self, url: str) -> None:
        self.url = url
        setup = _engine(url)
        try:
            upgrade(setup)
        except SQLAlchemyError as exc:
            error = f"{exc.__class__.__name__}: {exc}"
            raise StoreError(note("store_cannot_open", url=self.safe_url, error=error)) from exc
        finally:
            setup.dispose()
        self.engine = _engine(url, create=False)
        self._tables: dict[str, sa.Table] = {}

    @contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        """A connection for reads; database trouble becomes :class:`StoreUnavailable` (and a
        pooled engine drops its connections, so the next read starts afresh)."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise _unavailable(exc) from exc

    def problem(self) -> str | None:
        """Why the store cannot be read now (words safe for clients), or None when it can."""
        try:
            with self.reading() as conn:
                conn.execute(sa.select(RUNS.c.asof).limit(1)).all()
                conn.execute(sa.select(PREDICTIONS.c.asof).limit(1)).all()
        except StoreUnavailable as exc:
            log.warning("store check failed: %s", exc)
            return exc.public
        return None

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden (for messages)."""
        return safe_url(self.url)

    def close(self) -> None:
        self.engine.dispose()

    # ---- writing ------------------------------------------------------------------------------

    def write_scores(
        self,
        run: ScoringRun,
        features: pd.DataFrame,
        categorical: Sequence[str],
        predictions: pd.DataFrame,
    ) -> None:
        """Replace the as-of date's feature rows, predictions and run record in one transaction.

        ``features`` holds ``customer_id``, ``account_manager_id`` and ``run.feature_names``;
        ``predictions`` holds ``KEY_COLUMNS`` and ``PREDICTION_COLUMNS``.
        """
        table_name = feature_table_name(run.feature_names, categorical)
        table = feature_table(table_name, run.feature_names, categorical)
        cols = [c.name for c in table.columns if c.name != "asof"]
        feature_rows = features.reindex(columns=cols).assign(asof=run.asof)
        pred_rows = predictions.reindex(
            columns=[*KEY_COLUMNS, *PREDICTION_COLUMNS, *LIST_COLUMNS]
        ).assign(asof=run.asof)
        with self.engine.begin() as conn:
            table.create(conn, checkfirst=True)
            old = conn.execute(sa.select(RUNS.c.feature_table).where(RUNS.c.asof == run.asof))
            old_table = old.scalar_one_or_none()
            if old_table is not None:
                old_t = reflect_feature_table(conn, old_table)
                conn.execute(old_t.delete().where(old_t.c.asof == run.asof))
            conn.execute(PREDICTIONS.delete().where(PREDICTIONS.c.asof == run.asof))
            conn.execute(RUNS.delete().where(RUNS.c.asof == run.asof))
            bulk_insert(conn, table, feature_rows)
            bulk_insert(conn, PREDICTIONS, pred_rows)
            conn.execute(
                RUNS.insert().values(
                    asof=run.asof,
                    scored_at=run.scored_at,
                    n_customers=run.n_customers,
                    churn_model=run.churn_model,
                    churn_model_version=run.churn_model_version,
                    value_model=run.value_model,
                    value_model_version=run.value_model_version,
                    feature_table=table_name,
                    feature_names=json.dumps(list(run.feature_names)),
                    source=run.source,
                    horizon_days=run.horizon_days,
                )
            )

    def append_api_predictions(self, rows: pd.DataFrame, keep: int) -> None:
        """Append rows (``API_LOG_COLUMNS``) to the API's prediction log in one bulk insert and
        trim it to the newest ``keep`` rows, in one transaction."""
        table = API_PREDICTIONS
        with self.engine.begin() as conn:
            bulk_insert(conn, table, rows)
            cut = conn.execute(
                sa.select(table.c.id).order_by(table.c.id.desc()).offset(keep).limit(1)
            ).scalar()
            if cut is not None:
                conn.execute(table.delete().where(table.c.id <= cut))

    def signal_reload(self, key: str) -> int:
        """Raise the reload generation of ``key`` (the workers serving it re-read the alias);
        returns the new generation."""
        now = datetime.now(UTC).replace(tzinfo=None)
        try:
            with self.engine.begin() as conn:
                done = conn.execute(
                    RELOADS.update()
                    .where(RELOADS.c.key == key)
                    .values(generation=RELOADS.c.generation + 1, signalled_at=now)
                )
                if not done.rowcount:
                    conn.execute(RELOADS.insert().values(key=key, generation=1, signalled_at=now))
                return int(
                    conn.execute(
                        sa.select(RELOADS.c.generation).where(RELOADS.c.key == key)
                    ).scalar_one()
                )
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise _unavailable(exc) from exc

    def reload_generation(self, key: str) -> int:
        """The reload generation of ``key`` (0 before any ``signal_reload``): one indexed read."""
        with self.reading() as conn:
            found = conn.execute(
                sa.select(RELOADS.c.generation).where(RELOADS.c.key == key)
            ).scalar()
        return int(found or 0)

    # ---- reading ------------------------------------------------------------------------------

    def run(self, asof: str | None = None) -> ScoringRun:
        """The run of ``asof`` (default: the latest as-of date); StoreError when there is none."""
        with self.reading() as conn:
            return self._run(conn, asof)[0]

    def _run(self, conn: sa.Connection, asof: str | None) -> tuple[ScoringRun, str]:
        """The run of ``asof`` (default: the latest) and the name of its feature table."""
        query = sa.select(RUNS)
        query = (
            query.where(RUNS.c.asof == asof)
            if asof
            else query.order_by(RUNS.c.asof.desc()).limit(1)
        )
        row = conn.execute(query).mappings().first()
        if row is None:
            what = f"as of {asof}" if asof else "yet"
            said = note("store_no_run_asof", asof=asof) if asof else note("store_no_run")
            raise StoreError(
                note("store_no_scoring", url=self.safe_url, what=said),
                public=f"no batch scoring {what} in the prediction store",
            )
        run = ScoringRun(
            asof=row["asof"],
            scored_at=row["scored_at"].replace(tzinfo=UTC),
            n_customers=row["n_customers"],
            churn_model=row["churn_model"],
            churn_model_version=row["churn_model_version"],
            value_model=row["value_model"],
            value_model_version=row["value_model_version"],
            feature_names=tuple(json.loads(row["feature_names"])),
            source=row["source"],
            horizon_days=row["horizon_days"] or DEFAULT_HORIZON_DAYS,
        )
        return run, str(row["feature_table"])

    def _table(self, conn: sa.Connection, name: str) -> sa.Table:
        """A feature table, reflected once per store object (its name fixes its columns)."""
        table = self._tables.get(name)
        if table is None:
            table = reflect_feature_table(conn, name)
            self._tables[name] = table
        return table

    def features_for(
        self, customer_ids: Sequence[str], asof: str | None = None
    ) -> tuple[ScoringRun, pd.DataFrame]:
        """The stored feature rows of these customers (those found; order not kept)."""
        with self.reading() as conn:
            run, name = self._run(conn, asof)
            table = self._table(conn, name)
            query = sa.select(table).where(
                table.c.asof == run.asof, table.c.customer_id.in_(list(customer_ids))
            )
            frame = pd.read_sql(query, conn)
        return run, frame.drop(columns="asof")

    def feature_records(
        self, customer_ids: Sequence[str], asof: str | None = None
    ) -> tuple[ScoringRun, dict[str, dict[str, Any]]]:
        """The stored feature rows of these customers as plain records by id (those found):
        text categoricals, numbers, None for missing; what the API's records look like."""
        with self.reading() as conn:
            run, name = self._run(conn, asof)
            table = self._table(conn, name)
            query = sa.select(*[c for c in table.c if c.name != "asof"]).where(
                table.c.asof == run.asof, table.c.customer_id.in_(list(customer_ids))
            )
            rows = conn.execute(query).mappings().all()
        return run, {r["customer_id"]: dict(r) for r in rows}

    def first_records(self, n: int = 1, asof: str | None = None) -> list[dict[str, Any]]:
        """The feature rows of the first ``n`` customers (by id) of the latest scoring, as
        :meth:`feature_records` gives them (examples of real records)."""
        with self.reading() as conn:
            run, name = self._run(conn, asof)
            table = self._table(conn, name)
            query = (
                sa.select(*[c for c in table.c if c.name != "asof"])
                .where(table.c.asof == run.asof)
                .order_by(table.c.customer_id)
                .limit(n)
            )
            return [dict(r) for r in conn.execute(query).mappings().all()]

    def customer(self, customer_id: str, asof: str | None = None) -> StoredCustomer | None:
        """One customer's stored features and scores of the latest scoring (or ``asof``);
        None when that scoring did not score the customer."""
        p = PREDICTIONS.c
        with self.reading() as conn:
            run, name = self._run(conn, asof)
            table = self._table(conn, name)
            features = (
                conn.execute(
                    sa.select(*[c for c in table.c if c.name not in ("asof", "customer_id")]).where(
                        table.c.asof == run.asof, table.c.customer_id == customer_id
                    )
                )
                .mappings()
                .first()
            )
            scores = (
                conn.execute(
                    sa.select(
                        *[p[c] for c in (*KEY_COLUMNS[1:], *PREDICTION_COLUMNS, *LIST_COLUMNS)]
                    ).where(p.asof == run.asof, p.customer_id == customer_id)
                )
                .mappings()
                .first()
            )
        if features is None or scores is None:
            return None
        return StoredCustomer(customer_id, run, dict(features), dict(scores))

    def at_risk(self, query: AtRiskQuery) -> AtRiskPage:
        """The page of predictions that ``query`` selects, in its order (``query.sort``; the
        win-back list always by expected value at risk)."""
        run = self.run(query.asof)
        p = PREDICTIONS.c
        where = [p.asof == run.asof, p.churn_probability >= query.min_probability]
        statuses = p.lifecycle_status.in_(query.lifecycle)
        where.append(
            sa.or_(statuses, p.lifecycle_status.is_(None))
            if "active" in query.lifecycle
            else statuses
        )
        if query.account_manager_id is not None:
            where.append(p.account_manager_id == query.account_manager_id)
        if query.segment is not None:
            where.append(p.segment == query.segment)
        if query.rfm_segment is not None:
            where.append(p.rfm_segment == query.rfm_segment)
        select = (
            sa.select(*[p[c] for c in (*KEY_COLUMNS, *PREDICTION_COLUMNS, *LIST_COLUMNS)])
            .where(*where)
            .order_by(*list_order(query))
            .limit(query.limit)
            .offset(query.offset)
        )
        count = sa.select(sa.func.count()).select_from(PREDICTIONS).where(*where)
        with self.reading() as conn:
            total = int(conn.execute(count).scalar_one())
            rows = pd.read_sql(select, conn)
        rows = rows.astype(object).where(rows.notna(), None)  # NULL is None, never NaN
        rows.insert(0, "rank", range(query.offset + 1, query.offset + 1 + len(rows)))
        rows.insert(1, "asof", run.asof)
        return AtRiskPage(run.asof, total, query.offset, query.limit, rows, run.horizon_days)

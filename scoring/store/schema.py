"""The store's schema: every fixed table of the serving store's database, on one ``MetaData``.

Tables: ``scoring_runs`` and ``predictions`` (batch scoring), ``api_predictions`` (the API's
prediction log), ``reload_signals`` (how workers pass on ``POST /reload``), ``ui_users``,
``ui_sessions``, ``ui_audit`` and ``ui_signin_failures`` (who may use the workspace),
``ui_contacts`` (contacts logged in the workspace) and ``improvement_plans`` (the plans owed by
the bottom of a month's ranking). Alembic migrations (:mod:`scoring.store.migrations`) create and
change them; a test checks that the migrated database matches :data:`METADATA`.

One exception, on purpose: the feature tables ``features_<hash>``. Their columns are the feature
set a model scored (one table per feature set, named by its hash), so they are data, not schema:
:func:`feature_table` describes one for ``PredictionStore.write_scores`` to create, and
:func:`reflect_feature_table` reads one back. They live outside :data:`METADATA` (each on its own
``MetaData``), and the migrations neither create nor compare them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa

from features.contract import TABLES

METADATA = sa.MetaData()
"""Every fixed table of the store (the target of the migrations)."""

VERSION_TABLE = "churn_alembic_version"
"""The store's Alembic version table (a database shared with MLflow has ``alembic_version``)."""

FEATURE_TABLE_PREFIX = "features_"
STORED_KEYS = ("customer_id", "account_manager_id")
"""Columns every feature table holds besides the scored features."""

RUNS = sa.Table(
    "scoring_runs",
    METADATA,
    sa.Column("asof", sa.String(10), primary_key=True),
    sa.Column("scored_at", sa.DateTime, nullable=False),
    sa.Column("n_customers", sa.Integer, nullable=False),
    sa.Column("churn_model", sa.String(200), nullable=False),
    sa.Column("churn_model_version", sa.String(50), nullable=False),
    sa.Column("value_model", sa.String(200), nullable=False),
    sa.Column("value_model_version", sa.String(50), nullable=False),
    sa.Column("feature_table", sa.String(63), nullable=False),
    sa.Column("feature_names", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("horizon_days", sa.Integer),
)
"""One row per scored as-of date: models, versions, row count and feature table."""

PREDICTIONS = sa.Table(
    "predictions",
    METADATA,
    sa.Column("asof", sa.String(10), primary_key=True),
    sa.Column("customer_id", sa.String(200), primary_key=True),
    sa.Column("account_manager_id", sa.String(200)),
    sa.Column("segment", sa.String(200)),
    sa.Column("churn_probability", sa.Double, nullable=False),
    sa.Column("predicted_value", sa.Double, nullable=False),
    sa.Column("expected_value_at_risk", sa.Double, nullable=False),
    sa.Column("risk_band", sa.String(10), nullable=False),
    sa.Column("churn_model_version", sa.String(50), nullable=False),
    sa.Column("value_model_version", sa.String(50), nullable=False),
    sa.Column("plan", sa.String(200)),
    sa.Column("lifecycle_status", sa.String(10)),
    sa.Column("last_purchase_date", sa.String(10)),
    sa.Column("days_since_last_purchase", sa.Double),
    sa.Column("contract_end_date", sa.String(10)),
    sa.Column("reasons", sa.Text),
    sa.Column("recommended_action", sa.Text),
    sa.Column("rfm_segment", sa.String(20)),
    sa.Column("rfm_score", sa.Double),
    sa.Column("benefit", sa.Double),
    sa.Column("open_complaints", sa.Integer),
    sa.Column("benefit_value", sa.Double),
    sa.Index("ix_predictions_asof_evar", "asof", "expected_value_at_risk"),
    sa.Index("ix_predictions_asof_benefit", "asof", "benefit"),
)
"""One row per customer and as-of date, with the four scores and the lists' columns (``benefit``:
the expected benefit of a contact, the at-risk list's order, and ``benefit_value`` the value over
the horizon it was priced on; NULL in rows scored before them)."""

API_PREDICTIONS = sa.Table(
    "api_predictions",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("logged_at", sa.DateTime, nullable=False),
    sa.Column("asof", sa.String(10), nullable=False),
    sa.Column("endpoint", sa.String(20), nullable=False),
    sa.Column("customer_id", sa.String(200)),
    sa.Column("account_manager_id", sa.String(200)),
    sa.Column("churn_probability", sa.Double, nullable=False),
    sa.Column("predicted_value", sa.Double, nullable=False),
    sa.Column("risk_band", sa.String(10), nullable=False),
    sa.Column("churn_model_version", sa.String(50), nullable=False),
    sa.Column("value_model_version", sa.String(50), nullable=False),
    sa.Index("ix_api_predictions_asof", "asof"),
)
"""The API's prediction log, bounded: what ``/predict`` and ``/predict_by_id`` answered. ``asof``
is the as-of date of the stored features for ``/predict_by_id``, the day of the request (UTC)
for ``/predict``: the date from which the churn horizon runs."""
API_LOG_COLUMNS = tuple(c.name for c in API_PREDICTIONS.columns if c.name != "id")

RELOADS = sa.Table(
    "reload_signals",
    METADATA,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("signalled_at", sa.DateTime, nullable=False),
)
"""One row per served model set: ``POST /reload`` on any worker raises its generation, and every
worker that sees it change re-reads the champion alias (workers share the store, not memory)."""

USERS = sa.Table(
    "ui_users",
    METADATA,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("manager_id", sa.String(200)),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
SESSIONS = sa.Table(
    "ui_sessions",
    METADATA,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_name", sa.String(100), nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)
AUDIT = sa.Table(
    "ui_audit",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("user_name", sa.String(100)),
    sa.Column("role", sa.String(10)),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("target", sa.Text),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("client", sa.String(100)),
)
THROTTLE = sa.Table(
    "ui_signin_failures",
    METADATA,
    sa.Column("key", sa.String(320), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure", sa.DateTime, nullable=False),
    sa.Column("blocked_until", sa.DateTime),
)
"""Failed sign-ins counted per key (an account from one address, an address, an account), so
every worker of the service throttles the same guesses."""

PLANS = sa.Table(
    "improvement_plans",
    METADATA,
    sa.Column("account_manager_id", sa.String(200), primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True),
    sa.Column("issued_on", sa.String(10), nullable=False),
    sa.Column("due_on", sa.String(10), nullable=False),
    sa.Column("score", sa.Double),
    sa.Column("rank", sa.Integer),
    sa.Column("submitted_at", sa.DateTime),
    sa.Column("submitted_by", sa.String(100)),
    sa.Column("text", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
"""Improvement plans (document 000, business rule 7): one row per manager in the bottom of a
month's ranking, recorded when that month's scorecards are first produced from the store
(``issued_on``) and due some days later (``due_on``); a lead records the plan they were handed
(``submitted_at``, ``submitted_by``, ``text``)."""

CONTACT_TEXT = 200
"""Longest id or text a logged contact holds."""
_CONTACT_KINDS: dict[str, sa.types.TypeEngine] = {
    "id": sa.String(CONTACT_TEXT),
    "text": sa.String(CONTACT_TEXT),
    "category": sa.String(40),
    "date": sa.DateTime(),
    "int": sa.Integer(),
    "float": sa.Float(),
}


def _contacts_table(metadata: sa.MetaData) -> sa.Table:
    """``ui_contacts``: the data contract's ``contacts`` columns (``contact_id`` the key) and
    when it was logged, so ``churn export contacts`` writes a file the loader accepts."""
    spec = TABLES["contacts"]
    columns = [
        sa.Column(
            c.name,
            _CONTACT_KINDS[c.kind],
            primary_key=c.name == spec.key,
            nullable=not c.required,
            index=c.name in ("customer_id", "account_manager_id"),
        )
        for c in spec.columns
    ]
    return sa.Table("ui_contacts", metadata, *columns, sa.Column("logged_at", sa.DateTime))


CONTACTS = _contacts_table(METADATA)


def feature_table_name(feature_names: Sequence[str], categorical: Sequence[str]) -> str:
    """``features_<hash>``: the same feature set always lands in the same table."""
    key = json.dumps([list(feature_names), sorted(categorical)]).encode("utf-8")
    return f"{FEATURE_TABLE_PREFIX}{hashlib.sha1(key).hexdigest()[:12]}"


def feature_table(name: str, feature_names: Sequence[str], categorical: Sequence[str]) -> sa.Table:
    """The feature table ``name`` of a feature set: the keys, categoricals as text, every other
    feature float64 (so a stored row is exactly what the model scored)."""
    cats = set(categorical)
    columns = [
        sa.Column("asof", sa.String(10), primary_key=True),
        sa.Column("customer_id", sa.String(200), primary_key=True),
        sa.Column("account_manager_id", sa.String(200)),
    ]
    columns += [
        sa.Column(f, sa.Text if f in cats else sa.Double)
        for f in feature_names
        if f not in STORED_KEYS
    ]
    return sa.Table(name, sa.MetaData(), *columns)


def reflect_feature_table(conn: sa.Connection, name: str) -> sa.Table:
    """A feature table as the database holds it (its name fixes its columns)."""
    return sa.Table(name, sa.MetaData(), autoload_with=conn)

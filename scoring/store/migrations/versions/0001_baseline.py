"""Baseline: the store's schema as the release before migrations left it.

Revision ID: 0001_baseline
Revises:

A store written before migrations existed has no version table, so Alembic starts it here. This
revision therefore adopts what it finds: it creates the tables the store lacks (all of them in a
new store; the workspace's tables were created on first use, the prediction log and reload
signals arrived later) and adds the nullable columns a store from before the lists lacks
(``scoring_runs.horizon_days``, the lists' columns of ``predictions``), so every row is kept.
Offline (``--sql``) it writes the DDL of a new store. The tables are spelled out here, frozen: a
later change of :mod:`scoring.store.schema` is a new revision, not an edit of this one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def _tables() -> list[sa.Table]:
    """The baseline's tables, on a MetaData of their own."""
    meta = sa.MetaData()
    text = sa.String(200)
    return [
        sa.Table(
            "scoring_runs",
            meta,
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
        ),
        sa.Table(
            "predictions",
            meta,
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
            sa.Index("ix_predictions_asof_evar", "asof", "expected_value_at_risk"),
        ),
        sa.Table(
            "api_predictions",
            meta,
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
        ),
        sa.Table(
            "reload_signals",
            meta,
            sa.Column("key", sa.String(200), primary_key=True),
            sa.Column("generation", sa.Integer, nullable=False),
            sa.Column("signalled_at", sa.DateTime, nullable=False),
        ),
        sa.Table(
            "ui_users",
            meta,
            sa.Column("name", sa.String(100), primary_key=True),
            sa.Column("role", sa.String(10), nullable=False),
            sa.Column("manager_id", sa.String(200)),
            sa.Column("password_hash", sa.Text, nullable=False),
            sa.Column("created_at", sa.DateTime, nullable=False),
        ),
        sa.Table(
            "ui_sessions",
            meta,
            sa.Column("token_hash", sa.String(64), primary_key=True),
            sa.Column("user_name", sa.String(100), nullable=False, index=True),
            sa.Column("csrf", sa.String(64), nullable=False),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("expires_at", sa.DateTime, nullable=False),
        ),
        sa.Table(
            "ui_audit",
            meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("at", sa.DateTime, nullable=False),
            sa.Column("user_name", sa.String(100)),
            sa.Column("role", sa.String(10)),
            sa.Column("action", sa.String(40), nullable=False),
            sa.Column("target", sa.Text),
            sa.Column("outcome", sa.String(20), nullable=False),
            sa.Column("client", sa.String(100)),
        ),
        sa.Table(
            "ui_contacts",
            meta,
            sa.Column("contact_id", text, primary_key=True),
            sa.Column("customer_id", text, nullable=False, index=True),
            sa.Column("ts", sa.DateTime, nullable=False),
            sa.Column("campaign_id", text),
            sa.Column("channel", text),
            sa.Column("offer", text),
            sa.Column("treated", sa.Integer, nullable=False),
            sa.Column("outcome", sa.String(40)),
            sa.Column("logged_by", text),
            sa.Column("account_manager_id", text, index=True),
            sa.Column("logged_at", sa.DateTime),
        ),
    ]


def _column(column: sa.Column) -> sa.Column:
    """A copy of ``column`` to attach to a new table (its index is created apart)."""
    copy = column._copy()
    copy.index = None
    return copy


def _create(table: sa.Table) -> None:
    op.create_table(table.name, *[_column(c) for c in table.columns])
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        op.create_index(index.name, table.name, [c.name for c in index.columns])


def _adopt(table: sa.Table, inspector: sa.Inspector) -> None:
    """Add what an existing table of an earlier release lacks: nullable columns and indexes."""
    have = {c["name"] for c in inspector.get_columns(table.name)}
    for column in table.columns:
        if column.name in have:
            continue
        if not column.nullable:
            raise RuntimeError(
                f"table {table.name} lacks the required column {column.name}: "
                "not a store this release knows"
            )
        op.add_column(table.name, _column(column))
    indexes = {i["name"] for i in inspector.get_indexes(table.name)}
    for index in table.indexes:
        if index.name not in indexes:
            op.create_index(index.name, table.name, [c.name for c in index.columns])


def upgrade() -> None:
    if context.is_offline_mode():
        for table in _tables():
            _create(table)
        return
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    for table in _tables():
        if table.name in existing:
            _adopt(table, inspector)
        else:
            _create(table)


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: that would drop the store's data")

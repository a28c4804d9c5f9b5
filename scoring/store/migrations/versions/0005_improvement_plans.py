"""Improvement plans: the ``improvement_plans`` table, and ``ui_contacts.cost``.

Revision ID: 0005_improvement_plans
Revises: 0004_signin_failures

(0004 is taken by another branch; the lead renumbers on merge.) ``improvement_plans`` holds the
plan each manager at the bottom of a month's ranking owes (document 000): when it was issued,
when it is due, and what a lead recorded as submitted. ``ui_contacts.cost`` follows the data
contract's new optional ``contacts.cost`` column (NULL in the rows logged before it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_improvement_plans"
down_revision = "0004_signin_failures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "improvement_plans",
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
    with op.batch_alter_table("ui_contacts") as batch:
        batch.add_column(sa.Column("cost", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("ui_contacts") as batch:
        batch.drop_column("cost")
    op.drop_table("improvement_plans")

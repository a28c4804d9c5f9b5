"""Sign-in throttling: the table of failed sign-ins every worker of the service reads.

Revision ID: 0004_signin_failures
Revises: 0003_list_benefit

``ui_signin_failures`` counts failed sign-ins per key (an account from one address, an address,
an account) with when the last one happened and until when the key is refused, so throttling
holds across the service's workers and restarts. The table is spelled out here, frozen.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_signin_failures"
down_revision = "0003_list_benefit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ui_signin_failures",
        sa.Column("key", sa.String(320), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failure", sa.DateTime, nullable=False),
        sa.Column("blocked_until", sa.DateTime),
    )


def downgrade() -> None:
    op.drop_table("ui_signin_failures")

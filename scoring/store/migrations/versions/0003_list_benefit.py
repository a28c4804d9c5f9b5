"""The at-risk list's order and first line: ``predictions.benefit`` and
``predictions.open_complaints``.

Revision ID: 0003_list_benefit
Revises: 0002_rfm_segment

``benefit`` is the expected benefit of a contact (the at-risk list's default order) and
``open_complaints`` the complaints still open at the as-of date (the row's one-line "why").
Both are nullable: rows scored before this revision keep NULL and are listed after the others,
by expected value at risk, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_list_benefit"
down_revision = "0002_rfm_segment"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("benefit", sa.Double))
        batch.add_column(sa.Column("open_complaints", sa.Integer))
    op.create_index("ix_predictions_asof_benefit", "predictions", ["asof", "benefit"])


def downgrade() -> None:
    op.drop_index("ix_predictions_asof_benefit", table_name="predictions")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("open_complaints")
        batch.drop_column("benefit")

"""RFM segments: ``predictions.rfm_segment`` and ``predictions.rfm_score`` (nullable).

Revision ID: 0002_rfm_segment
Revises: 0001_baseline

Rows scored before this revision keep NULL in both: the lists show no segment for them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_rfm_segment"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("predictions", sa.Column("rfm_segment", sa.String(20), nullable=True))
    op.add_column("predictions", sa.Column("rfm_score", sa.Double, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("rfm_score")
        batch.drop_column("rfm_segment")

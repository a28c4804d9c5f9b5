"""The value a contact's benefit was priced on: ``predictions.benefit_value``.

Revision ID: 0006_benefit_value
Revises: 0005_improvement_plans

The benefit of a contact prices the customer's value over the horizon at their recent run rate
(:func:`scoring.benefit.horizon_value`), which can differ widely from the value model's forecast
of revenue within the horizon (an annual contract paid before it: little cash, a year's custom).
Stored so a row can say what its benefit rests on. Nullable: rows scored before keep NULL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_benefit_value"
down_revision = "0005_improvement_plans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("benefit_value", sa.Double))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("benefit_value")

"""Rated among shown: a running total of shown answers that have a rating, for the rated share.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shown_rated_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("scale", sa.String(10), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "model", "scale", name="pk_shown_rated_counts"),
    )
    # Fill every counter from the existing rows (the same code the Store uses to rebuild;
    # it needs every counter table, so the revision that adds the last one calls it).
    from chatfeedback.store import stats
    stats.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("shown_rated_counts")

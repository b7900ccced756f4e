"""Experiments: each conversation's experiment, arm, unit and assignment probability; the
log of experiments started and stopped.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch (copy and rename) on SQLite: dropping the old
    # conversations table would cascade to its messages.
    op.add_column("conversations", sa.Column("experiment", sa.String(200), nullable=True))
    op.add_column("conversations", sa.Column("arm", sa.String(200), nullable=True))
    op.add_column("conversations", sa.Column("unit", sa.String(320), nullable=True))
    op.add_column("conversations", sa.Column("assignment_p", sa.Float(), nullable=True))
    op.create_index("ix_conversations_experiment_arm_unit", "conversations",
                    ["experiment", "arm", "unit"])
    op.create_table(
        "experiment_events",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("experiment", sa.String(200), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=True),
        sa.Column("actor", sa.String(320), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_experiment_events"),
    )
    op.create_index("ix_experiment_events_experiment_at", "experiment_events",
                    ["experiment", "at"])


def downgrade() -> None:
    op.drop_index("ix_experiment_events_experiment_at", table_name="experiment_events")
    op.drop_table("experiment_events")
    op.drop_index("ix_conversations_experiment_arm_unit", table_name="conversations")
    for column in ("assignment_p", "unit", "arm", "experiment"):  # no batch: see upgrade
        op.execute(f"ALTER TABLE conversations DROP COLUMN {column}")

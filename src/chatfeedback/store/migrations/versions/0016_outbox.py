"""The delivery outbox: outbox (every rating event, vote and judgement, written in its own
transaction), outbox_sinks (each sink from when a worker first saw it), outbox_deliveries
(per sink and event: pending, delivered or dead) and outbox_leases (who delivers).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ID = sa.String(26)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", ID, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("fanned", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"))
    op.create_index("ix_outbox_fanned_id", "outbox", ["fanned", "id"])
    op.create_table(
        "outbox_sinks",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("since", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_outbox_sinks"))
    op.create_table(
        "outbox_deliveries",
        sa.Column("sink", sa.String(200), nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("next_at", WHEN, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("sink", "event_id", name="pk_outbox_deliveries"))
    op.create_index("ix_outbox_deliveries_sink_state_next_at", "outbox_deliveries",
                    ["sink", "state", "next_at"])
    op.create_table(
        "outbox_leases",
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_outbox_leases"))


def downgrade() -> None:
    op.drop_table("outbox_leases")
    op.drop_index("ix_outbox_deliveries_sink_state_next_at", table_name="outbox_deliveries")
    op.drop_table("outbox_deliveries")
    op.drop_table("outbox_sinks")
    op.drop_index("ix_outbox_fanned_id", table_name="outbox")
    op.drop_table("outbox")

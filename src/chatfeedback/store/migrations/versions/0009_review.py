"""Review: queues, items, assignments, judgements, corrections, adjudications; the import
batch of each imported conversation.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.String(26)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("conversations", sa.Column("import_batch", ID, nullable=True))
    op.create_index("ix_conversations_import_batch", "conversations", ["import_batch"])
    op.create_table(
        "review_queues",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_queues"),
    )
    op.create_index("ix_review_queues_name", "review_queues", ["name"], unique=True)
    op.create_table(
        "review_items",
        sa.Column("id", ID, nullable=False),
        sa.Column("queue_id", ID, nullable=False),
        sa.Column("message_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("wanted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_items"),
        sa.ForeignKeyConstraint(["queue_id"], ["review_queues.id"], ondelete="CASCADE",
                                name="fk_review_items_queue_id_review_queues"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE",
                                name="fk_review_items_message_id_messages"),
    )
    op.create_index("ix_review_items_queue_id_wanted_position", "review_items",
                    ["queue_id", "wanted", "position"])
    op.create_index("ix_review_items_queue_id_message_id", "review_items",
                    ["queue_id", "message_id"], unique=True)
    op.create_index("ix_review_items_message_id", "review_items", ["message_id"])
    op.create_table(
        "review_assignments",
        sa.Column("item_id", ID, nullable=False),
        sa.Column("reviewer", sa.String(320), nullable=False),
        sa.Column("queue_id", ID, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("claimed_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("item_id", "reviewer", name="pk_review_assignments"),
        sa.ForeignKeyConstraint(["item_id"], ["review_items.id"], ondelete="CASCADE",
                                name="fk_review_assignments_item_id_review_items"),
    )
    op.create_index("ix_review_assignments_queue_id_reviewer_state", "review_assignments",
                    ["queue_id", "reviewer", "state"])
    op.create_index("ix_review_assignments_queue_id_state_claimed_at", "review_assignments",
                    ["queue_id", "state", "claimed_at"])
    op.create_table(
        "review_judgements",
        sa.Column("id", ID, nullable=False),
        sa.Column("item_id", ID, nullable=False),
        sa.Column("queue_id", ID, nullable=False),
        sa.Column("message_id", ID, nullable=False),
        sa.Column("reviewer", sa.String(320), nullable=False),
        sa.Column("criterion", sa.String(200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_judgements"),
        sa.ForeignKeyConstraint(["item_id"], ["review_items.id"], ondelete="CASCADE",
                                name="fk_review_judgements_item_id_review_items"),
    )
    op.create_index("ix_review_judgements_item_id_reviewer_criterion", "review_judgements",
                    ["item_id", "reviewer", "criterion"], unique=True)
    op.create_index("ix_review_judgements_queue_id_criterion", "review_judgements",
                    ["queue_id", "criterion"])
    op.create_table(
        "review_corrections",
        sa.Column("id", ID, nullable=False),
        sa.Column("message_id", ID, nullable=False),
        sa.Column("item_id", ID, nullable=True),
        sa.Column("queue_id", ID, nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("author", sa.String(320), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_corrections"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE",
                                name="fk_review_corrections_message_id_messages"),
    )
    op.create_index("ix_review_corrections_message_id", "review_corrections", ["message_id"])
    op.create_index("ix_review_corrections_queue_id", "review_corrections", ["queue_id"])
    op.create_table(
        "review_adjudications",
        sa.Column("item_id", ID, nullable=False),
        sa.Column("criterion", sa.String(200), nullable=False),
        sa.Column("queue_id", ID, nullable=False),
        sa.Column("message_id", ID, nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("admin", sa.String(320), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("item_id", "criterion", name="pk_review_adjudications"),
        sa.ForeignKeyConstraint(["item_id"], ["review_items.id"], ondelete="CASCADE",
                                name="fk_review_adjudications_item_id_review_items"),
    )
    op.create_index("ix_review_adjudications_queue_id", "review_adjudications", ["queue_id"])


def downgrade() -> None:
    for table in ("review_adjudications", "review_corrections", "review_judgements",
                  "review_assignments", "review_items", "review_queues"):
        op.drop_table(table)
    op.drop_index("ix_conversations_import_batch", table_name="conversations")
    # Never a batch (copy and rename) on SQLite: dropping the old conversations table would
    # cascade to every message. SQLite 3.35+ drops a column in place.
    op.execute("ALTER TABLE conversations DROP COLUMN import_batch")

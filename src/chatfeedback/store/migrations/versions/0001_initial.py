"""Initial schema: conversations, messages, ratings, rating tags and the rating event log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(26)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", ID, nullable=False),
        sa.Column("owner", sa.String(320), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("training_consent", sa.Boolean(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversations"),
    )
    op.create_index("ix_conversations_owner_updated_at", "conversations", ["owner", "updated_at"])
    op.create_index("ix_conversations_updated_at", "conversations", ["updated_at"])
    op.create_table(
        "messages",
        sa.Column("id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("parent_id", ID, nullable=True),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("backend", sa.String(100), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=True),
        sa.Column("system_prompt", sa.Text(), nullable=True),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("total_tokens", sa.Integer(), nullable=True),
        sa.Column("finish_reason", sa.String(50), nullable=True),
        sa.Column("shown_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_messages_conversation_id_conversations"),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
    )
    op.create_index("ix_messages_conversation_id_turn", "messages", ["conversation_id", "turn"])
    op.create_index("ix_messages_parent_id", "messages", ["parent_id"])
    op.create_index("ix_messages_status", "messages", ["status"])
    op.create_index("ix_messages_created_at", "messages", ["created_at"])
    op.create_table(
        "ratings",
        sa.Column("message_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("scale", sa.String(10), nullable=False),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=True),
        sa.Column("rater", sa.String(320), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("rated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_ratings_conversation_id_conversations"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE",
                                name="fk_ratings_message_id_messages"),
        sa.PrimaryKeyConstraint("message_id", name="pk_ratings"),
    )
    op.create_index("ix_ratings_conversation_id", "ratings", ["conversation_id"])
    op.create_index("ix_ratings_rated_at", "ratings", ["rated_at"])
    op.create_index("ix_ratings_model_rated_at", "ratings", ["model", "rated_at"])
    op.create_table(
        "rating_tags",
        sa.Column("message_id", ID, nullable=False),
        sa.Column("tag", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["ratings.message_id"], ondelete="CASCADE",
                                name="fk_rating_tags_message_id_ratings"),
        sa.PrimaryKeyConstraint("message_id", "tag", name="pk_rating_tags"),
    )
    op.create_table(
        "rating_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("message_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("scale", sa.String(10), nullable=True),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=True),
        sa.Column("actor", sa.String(320), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE",
                                name="fk_rating_events_message_id_messages"),
        sa.PrimaryKeyConstraint("id", name="pk_rating_events"),
    )
    op.create_index("ix_rating_events_message_id", "rating_events", ["message_id"])
    op.create_index("ix_rating_events_created_at", "rating_events", ["created_at"])


def downgrade() -> None:
    for table in ("rating_events", "rating_tags", "ratings", "messages", "conversations"):
        op.drop_table(table)

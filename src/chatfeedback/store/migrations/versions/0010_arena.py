"""Arena: rounds (two conversations answering the same prompts) and their votes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "arena_rounds",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("voter", sa.String(320), nullable=False),
        sa.Column("model_a", sa.String(200), nullable=False),
        sa.Column("model_b", sa.String(200), nullable=False),
        sa.Column("conversation_a", sa.String(26), nullable=False),
        sa.Column("conversation_b", sa.String(26), nullable=False),
        sa.Column("sampling", sa.String(10), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["conversation_a"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_arena_rounds_conversation_a_conversations"),
        sa.ForeignKeyConstraint(["conversation_b"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_arena_rounds_conversation_b_conversations"),
        sa.PrimaryKeyConstraint("id", name="pk_arena_rounds"),
    )
    op.create_index("ix_arena_rounds_voter_created_at", "arena_rounds", ["voter", "created_at"])
    op.create_index("ix_arena_rounds_status", "arena_rounds", ["status"])
    op.create_table(
        "arena_votes",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("round_id", sa.String(26), nullable=True),
        sa.Column("voter", sa.String(320), nullable=False),
        sa.Column("model_a", sa.String(200), nullable=False),
        sa.Column("model_b", sa.String(200), nullable=False),
        sa.Column("winner", sa.String(16), nullable=False),
        sa.Column("conversation_a", sa.String(26), nullable=True),
        sa.Column("conversation_b", sa.String(26), nullable=True),
        sa.Column("message_a", sa.String(26), nullable=True),
        sa.Column("message_b", sa.String(26), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        *[sa.Column(f"{feature}_{side}", sa.Integer(), nullable=True)
          for side in "ab" for feature in ("length", "headers", "lists", "bold")],
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["arena_rounds.id"], ondelete="CASCADE",
                                name="fk_arena_votes_round_id_arena_rounds"),
        sa.PrimaryKeyConstraint("id", name="pk_arena_votes"),
        sa.UniqueConstraint("round_id", name="uq_arena_votes_round_id"),
    )
    op.create_index("ix_arena_votes_created_at", "arena_votes", ["created_at"])


def downgrade() -> None:
    op.drop_table("arena_votes")
    op.drop_table("arena_rounds")

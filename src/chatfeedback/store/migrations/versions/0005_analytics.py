"""Analytics: running totals for the dashboard, the system prompt on each rating, indexes.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("ratings") as batch:
        batch.add_column(sa.Column("system_prompt", sa.Text(), nullable=True))
    ratings = sa.table("ratings", sa.column("message_id"), sa.column("system_prompt"))
    messages = sa.table("messages", sa.column("id"), sa.column("system_prompt"))
    op.execute(ratings.update().values(system_prompt=sa.select(messages.c.system_prompt)
                                       .where(messages.c.id == ratings.c.message_id)
                                       .scalar_subquery()))
    op.create_index("ix_ratings_score_rated_at", "ratings", ["score", "rated_at"])
    op.create_index("ix_conversations_created_at", "conversations", ["created_at"])
    op.create_index("ix_conversations_model_created_at", "conversations",
                    ["model", "created_at"])
    op.create_table(
        "rating_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("prompt_key", sa.String(16), nullable=False),
        sa.Column("scale", sa.String(10), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("system_prompt", sa.Text(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "model", "prompt_key", "scale", "value",
                                name="pk_rating_counts"),
    )
    op.create_table(
        "tag_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("scale", sa.String(10), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(200), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "model", "scale", "value", "tag",
                                name="pk_tag_counts"),
    )
    op.create_table(
        "answer_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("shown", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "model", name="pk_answer_counts"),
    )
    # The counters are filled from the existing rows by 0007 (stats.rebuild, the code the
    # Store uses to rebuild, needs every counter table, and 0007 adds one).


def downgrade() -> None:
    for table in ("answer_counts", "tag_counts", "rating_counts"):
        op.drop_table(table)
    op.drop_index("ix_conversations_model_created_at", table_name="conversations")
    op.drop_index("ix_conversations_created_at", table_name="conversations")
    op.drop_index("ix_ratings_score_rated_at", table_name="ratings")
    with op.batch_alter_table("ratings") as batch:
        batch.drop_column("system_prompt")

"""Drop two message indexes no query uses: every answer written paid for them.

``messages.created_at`` (the dashboard counts answers by day from ``answer_counts``) and
``messages.shown_at`` (its one user, ``Store.exposure``, gave way to the running totals).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_messages_created_at", table_name="messages")
    op.drop_index("ix_messages_shown_at", table_name="messages")


def downgrade() -> None:
    op.create_index("ix_messages_shown_at", "messages", ["shown_at"])
    op.create_index("ix_messages_created_at", "messages", ["created_at"])

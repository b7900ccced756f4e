"""Index messages.shown_at: exposure statistics select answers by when they were shown.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_shown_at", "messages", ["shown_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_shown_at", table_name="messages")

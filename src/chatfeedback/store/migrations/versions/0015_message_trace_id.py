"""messages.trace_id: the id of the answer's trace in an observability tool (Langfuse, an
OpenTelemetry collector), when the answer carries one: logged with it through the Python
API, so that a rating can be sent to the trace it belongs to.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column is added in place (no table rebuild, also on SQLite).
    op.add_column("messages", sa.Column("trace_id", sa.String(200), nullable=True))


def downgrade() -> None:
    # In place too (SQLite >= 3.35): a batch rebuild would drop the table, and SQLite's
    # foreign keys would delete the ratings of every answer with it.
    op.drop_column("messages", "trace_id")

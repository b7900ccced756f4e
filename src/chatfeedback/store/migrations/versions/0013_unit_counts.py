"""Running totals per experiment unit and day (unit_counts) and per rater (rater_counts),
filled from the ratings already there.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The rule as it was when this revision was written (scales.POLARITY): thumbs 1, faces and
# stars 4-5 are positive.
POSITIVE = ("CASE WHEN (r.scale = 'thumbs' AND r.value = 1) OR (r.scale <> 'thumbs' AND "
            "r.value >= 4) THEN 1 ELSE 0 END")


def upgrade() -> None:
    op.create_table(
        "unit_counts",
        sa.Column("experiment", sa.String(200), nullable=False),
        sa.Column("arm", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(320), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("score_sq", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("experiment", "arm", "unit", "day", name="pk_unit_counts"),
        sqlite_with_rowid=False,
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    day = "substr(r.rated_at, 1, 10)" if sqlite else "(r.rated_at AT TIME ZONE 'UTC')::date"
    op.execute(
        "INSERT INTO unit_counts (experiment, arm, unit, day, n, positive, score, score_sq) "
        f"SELECT c.experiment, coalesce(c.arm, ''), coalesce(c.unit, c.id), {day}, count(*), "
        f"sum({POSITIVE}), sum(r.score), sum(r.score * r.score) "
        "FROM ratings r JOIN conversations c ON c.id = r.conversation_id "
        "WHERE c.experiment IS NOT NULL AND r.value IS NOT NULL "
        f"GROUP BY c.experiment, coalesce(c.arm, ''), coalesce(c.unit, c.id), {day}")
    op.create_table(
        "rater_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("prompt_key", sa.String(16), nullable=False),
        sa.Column("scale", sa.String(10), nullable=False),
        sa.Column("rater", sa.String(320), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "model", "prompt_key", "scale", "rater",
                                name="pk_rater_counts"),
        sqlite_with_rowid=False,
    )
    # The prompt key (a hash of the system prompt) comes from rating_counts, which has it
    # for every (day, model, system prompt) with ratings.
    prompt_day = "substr(r.rated_at, 1, 10)" if sqlite else day
    op.execute(
        "INSERT INTO rater_counts (day, model, prompt_key, scale, rater, n, positive) "
        f"SELECT {prompt_day}, coalesce(r.model, ''), k.prompt_key, r.scale, "
        f"coalesce(r.rater, r.conversation_id), count(*), sum({POSITIVE}) "
        "FROM ratings r JOIN (SELECT DISTINCT day, model, prompt_key, system_prompt "
        "FROM rating_counts) k ON k.day = " + ("substr(r.rated_at, 1, 10)" if sqlite else day)
        + " AND k.model = coalesce(r.model, '') AND (k.system_prompt = r.system_prompt OR "
        "(k.system_prompt IS NULL AND r.system_prompt IS NULL)) WHERE r.value IS NOT NULL "
        f"GROUP BY {prompt_day}, coalesce(r.model, ''), k.prompt_key, r.scale, "
        "coalesce(r.rater, r.conversation_id)")


def downgrade() -> None:
    op.drop_table("rater_counts")
    op.drop_table("unit_counts")

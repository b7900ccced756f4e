"""The arena's running totals: each voter's cluster (arena_voters) and, per cluster and pair of
models, the votes and the first model's wins, plain and weighted (arena_totals), filled from the
votes already there; the leaderboard reads these instead of every vote.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# The rule as it was when this revision was written (store/arena_totals.py): voters numbered
# by their first vote (then by name, in code-point order) take cluster number % 1024; a pair's
# models in code-point order; side A's share of a win: 1, 0, and half for a tie or "both bad".
CLUSTERS = 1024


def upgrade() -> None:
    op.create_table(
        "arena_voters",
        sa.Column("voter", sa.String(320), nullable=False),
        sa.Column("cluster", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("voter", name="pk_arena_voters"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "arena_totals",
        sa.Column("cluster", sa.Integer(), nullable=False),
        sa.Column("model_lo", sa.String(200), nullable=False),
        sa.Column("model_hi", sa.String(200), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("wins", sa.Float(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("weighted_wins", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("cluster", "model_lo", "model_hi", name="pk_arena_totals"),
        sqlite_with_rowid=False,
    )
    c = ' COLLATE "C"' if op.get_bind().dialect.name == "postgresql" else ""
    op.execute(
        "INSERT INTO arena_voters (voter, cluster) "
        f"SELECT voter, (row_number() OVER (ORDER BY min(created_at), voter{c}) - 1) "
        f"% {CLUSTERS} FROM arena_votes GROUP BY voter")
    first = f"v.model_a{c} < v.model_b{c}"
    score_a = ("CASE v.winner WHEN 'model_a' THEN 1.0 WHEN 'model_b' THEN 0.0 "
               "ELSE 0.5 END")
    wins = f"CASE WHEN {first} THEN {score_a} ELSE 1.0 - {score_a} END"
    lo = f"CASE WHEN {first} THEN v.model_a ELSE v.model_b END"
    hi = f"CASE WHEN {first} THEN v.model_b ELSE v.model_a END"
    op.execute(
        "INSERT INTO arena_totals (cluster, model_lo, model_hi, n, wins, weight, "
        f"weighted_wins) SELECT k.cluster, {lo}, {hi}, count(*), sum({wins}), "
        f"sum(v.weight), sum(({wins}) * v.weight) "
        "FROM arena_votes v JOIN arena_voters k ON k.voter = v.voter "
        f"WHERE v.model_a <> v.model_b GROUP BY k.cluster, {lo}, {hi}")


def downgrade() -> None:
    op.drop_table("arena_totals")
    op.drop_table("arena_voters")

"""A covering index for the arena leaderboard's GROUP BY (voter, model_a, model_b, winner) with
the summed weight: the counts are read by scanning the index in order instead of sorting every
vote (a million votes: about half the time on the loaded 2-core machine).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_arena_votes_voter_model_a_model_b_winner_weight", "arena_votes",
                    ["voter", "model_a", "model_b", "winner", "weight"])


def downgrade() -> None:
    op.drop_index("ix_arena_votes_voter_model_a_model_b_winner_weight", table_name="arena_votes")

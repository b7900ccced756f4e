"""Rated among shown: a running total of shown answers that have a rating, for the rated share.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import hashlib
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shown_rated_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("scale", sa.String(10), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "model", "scale", name="pk_shown_rated_counts"),
    )
    # Fill every counter from the existing rows: what the Store's rebuild did at this
    # revision, copied here (a migration never imports the application's code, which
    # changes: its rebuild now fills tables that do not exist yet at this revision).
    _rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("shown_rated_counts")


# The tables as they are at this revision: only the columns read or written here.
WHEN = sa.DateTime(timezone=True)
ratings = sa.table("ratings", sa.column("message_id"), sa.column("rated_at", WHEN),
                   sa.column("model"), sa.column("system_prompt"), sa.column("scale"),
                   sa.column("value"))
rating_tags = sa.table("rating_tags", sa.column("message_id"), sa.column("tag"))
messages = sa.table("messages", sa.column("id"), sa.column("role"), sa.column("model"),
                    sa.column("created_at", WHEN), sa.column("shown_at", WHEN))
DAY = sa.Date()
rating_counts = sa.table("rating_counts", sa.column("day", DAY), sa.column("model"),
                         sa.column("prompt_key"), sa.column("scale"), sa.column("value"),
                         sa.column("system_prompt"), sa.column("n"))
tag_counts = sa.table("tag_counts", sa.column("day", DAY), sa.column("model"),
                      sa.column("scale"), sa.column("value"), sa.column("tag"),
                      sa.column("n"))
answer_counts = sa.table("answer_counts", sa.column("day", DAY), sa.column("model"),
                         sa.column("answers"), sa.column("shown"))
shown_rated_counts = sa.table("shown_rated_counts", sa.column("day", DAY),
                              sa.column("model"), sa.column("scale"), sa.column("n"))


def _rebuild(conn: sa.Connection) -> None:
    """chatfeedback.store.stats.rebuild as of this revision: per UTC day and model, the
    ratings of each value (and system prompt), their reason tags, the answers, the shown
    answers and the shown answers that have a rating (by the answer's day)."""
    day = _day(conn, ratings.c.rated_at)
    model = sa.func.coalesce(ratings.c.model, "")
    rated = ratings.c.value.is_not(None)
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for d, m, prompt, scale, value, n in conn.execute(
            sa.select(day, model, ratings.c.system_prompt, ratings.c.scale, ratings.c.value,
                      sa.func.count()).where(rated)
            .group_by(day, model, ratings.c.system_prompt, ratings.c.scale, ratings.c.value)):
        key = (_date(d), m, _prompt_key(prompt), scale, value)
        if key in rows:
            rows[key]["n"] += n
        else:
            rows[key] = dict(day=key[0], model=m, prompt_key=key[2], scale=scale, value=value,
                             system_prompt=prompt, n=n)
    tags = [dict(day=_date(d), model=m, scale=s, value=v, tag=t, n=n)
            for d, m, s, v, t, n in conn.execute(
                sa.select(day, model, ratings.c.scale, ratings.c.value, rating_tags.c.tag,
                          sa.func.count())
                .select_from(ratings.join(rating_tags,
                                          rating_tags.c.message_id == ratings.c.message_id))
                .where(rated).group_by(day, model, ratings.c.scale, ratings.c.value,
                                       rating_tags.c.tag))]
    answer_day = _day(conn, messages.c.created_at)
    answer_model = sa.func.coalesce(messages.c.model, "")
    shown = messages.c.shown_at.is_not(None)
    answers: dict[tuple[Any, str], dict[str, Any]] = {}
    shown_rated = []
    for d, m, scale, n, n_shown, n_shown_rated in conn.execute(
            sa.select(answer_day, answer_model, ratings.c.scale, sa.func.count(),
                      sa.func.count(messages.c.shown_at),
                      sa.func.count(sa.case((sa.and_(shown, rated), 1))))
            .select_from(messages.outerjoin(ratings, ratings.c.message_id == messages.c.id))
            .where(messages.c.role == "assistant")
            .group_by(answer_day, answer_model, ratings.c.scale)):
        row = answers.setdefault((_date(d), m), dict(day=_date(d), model=m, answers=0,
                                                     shown=0))
        row["answers"] += n
        row["shown"] += n_shown
        if n_shown_rated:
            shown_rated.append(dict(day=_date(d), model=m, scale=scale, n=n_shown_rated))
    for table, new in ((rating_counts, list(rows.values())), (tag_counts, tags),
                       (answer_counts, list(answers.values())),
                       (shown_rated_counts, shown_rated)):
        conn.execute(table.delete())
        if new:
            conn.execute(table.insert(), new)


def _day(conn: sa.Connection, column: Any) -> Any:
    if conn.dialect.name == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff', UTC
        return sa.func.substr(column, 1, 10)
    return sa.cast(sa.func.timezone("UTC", column), sa.Date)


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _prompt_key(system_prompt: str | None) -> str:
    """A short stable key for a system prompt ("" for none)."""
    if not system_prompt:
        return ""
    return hashlib.sha256(system_prompt.encode("utf-8")).hexdigest()[:16]

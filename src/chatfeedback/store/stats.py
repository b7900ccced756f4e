"""Running totals behind the dashboard: counted as rows change, or rebuilt from the rows.

``rating_counts``, ``tag_counts`` and ``answer_counts`` (see schema.py) hold, per UTC day
and model, how many ratings of each value, reason tags and answers (and shown answers)
there are; ``shown_rated_counts`` how many shown answers have a rating now, by the day the
answer was created. The Store updates them in the transaction that changes a rating, adds
an answer or shows one, so the dashboard sums a few thousand counters instead of a million
ratings. ``rebuild`` recomputes them
from the rows (after bulk loads, or to repair a database written by other means).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import replace as replace_fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    Table,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import scales
from .engine import as_day, day_of, starts_day
from .filters import Filters
from .schema import (
    answer_counts,
    conversations,
    messages,
    rater_counts,
    rating_counts,
    rating_tags,
    ratings,
    shown_rated_counts,
    tag_counts,
    unit_counts,
)


def prompt_key(system_prompt: str | None) -> str:
    """A short stable key for a system prompt ("" for none), for the counters' key."""
    if not system_prompt:
        return ""
    return hashlib.sha256(system_prompt.encode("utf-8")).hexdigest()[:16]


_UPSERTS: dict[tuple[Any, ...], Any] = {}


def _upsert(conn: Connection, table: Table, key: dict[str, Any], counters: dict[str, int],
            extra: dict[str, Any] | None = None) -> None:
    """Add ``counters`` to the row of ``key`` (insert it with them, and ``extra``, if new).
    One statement per dialect, table and set of columns, built once and executed with the
    values as parameters: building it again for every rating cost more than running it."""
    extra = extra or {}
    shape = (conn.dialect.name, table.name, tuple(key), tuple(counters), tuple(extra))
    stmt = _UPSERTS.get(shape)
    if stmt is None:
        if conn.dialect.name == "sqlite":
            base = sqlite_insert(table)
        elif conn.dialect.name == "postgresql":
            base = pg_insert(table)
        else:
            raise NotImplementedError(
                f"running totals are not implemented for {conn.dialect.name}")
        stmt = _UPSERTS[shape] = base.on_conflict_do_update(
            index_elements=list(key), set_={c: table.c[c] + base.excluded[c] for c in counters})
    conn.execute(stmt, {**key, **counters, **extra})


def count_rating(conn: Connection, row: Mapping[str, Any] | None, delta: int) -> None:
    """Add ``delta`` (+1 or -1) for a ratings row (its tags, its rater, and its experiment
    unit); a cleared rating (value None) counts nowhere."""
    if row is None or row["value"] is None:
        return
    day = day_of(row["rated_at"])
    model = row["model"] or ""
    _upsert(conn, rating_counts,
            dict(day=day, model=model, prompt_key=prompt_key(row["system_prompt"]),
                 scale=row["scale"], value=row["value"]),
            {"n": delta}, {"system_prompt": row["system_prompt"]})
    for tag in row["tags"] or ():
        _upsert(conn, tag_counts, dict(day=day, model=model, scale=row["scale"],
                                       value=row["value"], tag=tag), {"n": delta})
    _upsert(conn, rater_counts,
            dict(day=day, model=model, prompt_key=prompt_key(row["system_prompt"]),
                 scale=row["scale"], rater=row["rater"] or row["conversation_id"]),
            {"n": delta, "positive": delta if scales.polarity(row["scale"], row["value"])
             else 0})
    count_unit(conn, row, delta)


def count_unit(conn: Connection, row: Mapping[str, Any] | None, delta: int) -> None:
    """Add ``delta`` for a ratings row to its experiment unit's counter, when its
    conversation is in an experiment."""
    if row is None or row["value"] is None:
        return
    conv = conn.execute(select(conversations.c.experiment, conversations.c.arm,
                               conversations.c.unit)
                        .where(conversations.c.id == row["conversation_id"])).first()
    if conv is None or conv.experiment is None:
        return
    score = scales.score(row["scale"], row["value"]) or 0.0
    positive = 1 if scales.polarity(row["scale"], row["value"]) else 0
    _upsert(conn, unit_counts,
            dict(experiment=conv.experiment, arm=conv.arm or "",
                 unit=conv.unit or row["conversation_id"], day=day_of(row["rated_at"])),
            {"n": delta, "positive": delta * positive, "score": delta * score,
             "score_sq": delta * score * score})


def count_answers(conn: Connection, when: datetime, model: str | None, *, answers: int = 0,
                  shown: int = 0) -> None:
    _upsert(conn, answer_counts, dict(day=day_of(when), model=model or ""),
            {"answers": answers, "shown": shown})


def move_shown_rating(conn: Connection, answer: Any, before: str | None,
                      after: str | None) -> None:
    """An answer's rating went from scale ``before`` to scale ``after`` (None: no rating, or
    a cleared one): move it between the rated-among-shown counters. ``answer`` has
    ``created_at``, ``model`` and ``shown_at``; an answer never shown counts nowhere."""
    if answer.shown_at is None or before == after:
        return
    key = dict(day=day_of(answer.created_at), model=answer.model or "")
    if before is not None:
        _upsert(conn, shown_rated_counts, dict(key, scale=before), {"n": -1})
    if after is not None:
        _upsert(conn, shown_rated_counts, dict(key, scale=after), {"n": 1})


def day_column(conn: Connection, column: Any) -> Any:
    """SQL for the UTC day of a timestamp column, per dialect."""
    if conn.dialect.name == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff', UTC
        return func.substr(column, 1, 10)
    return cast(func.timezone("UTC", column), Date)


# What long store work calls as it goes: ``progress(done, total=None, note=None)`` (the
# shape of chatfeedback.progress.Progress, which the store does not import).
Reports = Callable[..., None]
COUNTERS = (rating_counts, tag_counts, answer_counts, shown_rated_counts)
Counts = dict[str, list[dict[str, Any]]]  # counter table name -> its rows


REBUILD_STEPS = 4  # the three counting queries of count(), then replace()


def rebuild(conn: Connection, progress: Reports | None = None) -> None:
    """Recompute every counter from the ratings, tags and answers; ``progress`` hears each
    of the :data:`REBUILD_STEPS` steps."""
    counts = count(conn, progress)
    if progress:
        progress(REBUILD_STEPS - 1, REBUILD_STEPS, "writing the totals")
    replace(conn, counts)
    if progress:
        progress(REBUILD_STEPS, REBUILD_STEPS, "done")


def rated_total(conn: Connection, filters: Filters) -> int | None:
    """Ratings (not cleared) counted on the UTC days that ``filters``' window touches;
    None for an experiment's or an arm's (the totals are not kept per experiment)."""
    if filters.experiment is not None or filters.arm is not None:
        return None
    whole_days = replace_fields(filters, since=_first_day(filters.since),
                                until=_after_last_day(filters.until))
    query = select(func.coalesce(func.sum(rating_counts.c.n), 0)) \
        .where(*whole_days.counted(rating_counts))
    return int(conn.execute(query).scalar_one())


def _first_day(when: date | None) -> date | None:
    return day_of(when) if isinstance(when, datetime) else when


def _after_last_day(when: date | None) -> date | None:
    """The first UTC day wholly after ``when`` (a midnight is its own day's start)."""
    if not isinstance(when, datetime):
        return when
    day = day_of(when)
    return day if starts_day(when) else day + timedelta(days=1)


def replace(conn: Connection, counts: Counts) -> None:
    """Make the counters ``counts`` (from :func:`count`), and nothing else."""
    for table in (*COUNTERS, unit_counts, rater_counts):
        conn.execute(delete(table))
        if counts[table.name]:
            conn.execute(insert(table), counts[table.name])


def count(conn: Connection, progress: Reports | None = None) -> Counts:
    """Every counter's rows as computed from the ratings, tags and answers (reads only,
    so it can run on a second connection while another one writes, as bulk loads do)."""
    if progress:
        progress(0, REBUILD_STEPS, "counting ratings")
    day = day_column(conn, ratings.c.rated_at)
    model = func.coalesce(ratings.c.model, "")
    rated = ratings.c.value.is_not(None)
    # The prompt key is computed in Python: one row per distinct (day, model, prompt, value).
    groups = select(day.label("day"), model.label("model"), ratings.c.system_prompt,
                    ratings.c.scale, ratings.c.value, func.count().label("n")) \
        .where(rated).group_by(day, model, ratings.c.system_prompt, ratings.c.scale,
                               ratings.c.value)
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in conn.execute(groups):
        key = (as_day(r.day), r.model, prompt_key(r.system_prompt), r.scale, r.value)
        if key in rows:
            rows[key]["n"] += r.n
        else:
            rows[key] = dict(day=key[0], model=r.model, prompt_key=key[2], scale=r.scale,
                             value=r.value, system_prompt=r.system_prompt, n=r.n)
    tags = (select(day, model, ratings.c.scale, ratings.c.value, rating_tags.c.tag,
                   func.count())
            .select_from(ratings.join(rating_tags,
                                      rating_tags.c.message_id == ratings.c.message_id))
            .where(rated).group_by(day, model, ratings.c.scale, ratings.c.value,
                                   rating_tags.c.tag))
    if progress:
        progress(1, REBUILD_STEPS, "counting reason tags")
    tag_rows = [dict(day=as_day(d), model=m, scale=s, value=v, tag=t, n=n)
                for d, m, s, v, t, n in conn.execute(tags)]
    if progress:
        progress(2, REBUILD_STEPS, "counting answers")
    # Answers, shown answers and shown answers with a rating: one pass over the answers
    # (each has at most one rating), by the answer's day, model and its rating's scale.
    answer_day = day_column(conn, messages.c.created_at)
    answer_model = func.coalesce(messages.c.model, "")
    shown = messages.c.shown_at.is_not(None)
    answers = (select(answer_day, answer_model, ratings.c.scale, func.count(),
                      func.count(messages.c.shown_at),
                      func.count(case((and_(shown, rated), 1))))
               .select_from(messages.outerjoin(ratings,
                                               ratings.c.message_id == messages.c.id))
               .where(messages.c.role == "assistant")
               .group_by(answer_day, answer_model, ratings.c.scale))
    answer_rows: dict[tuple[date, str], dict[str, Any]] = {}
    shown_rated_rows = []
    for d, m, scale, n, n_shown, n_shown_rated in conn.execute(answers):
        row = answer_rows.setdefault((as_day(d), m), dict(day=as_day(d), model=m, answers=0,
                                                         shown=0))
        row["answers"] += n
        row["shown"] += n_shown
        if n_shown_rated:
            shown_rated_rows.append(dict(day=as_day(d), model=m, scale=scale, n=n_shown_rated))
    counts = {rating_counts.name: list(rows.values()), tag_counts.name: tag_rows,
              answer_counts.name: list(answer_rows.values()),
              shown_rated_counts.name: shown_rated_rows}
    counts[unit_counts.name] = _count_units(conn, day)
    counts[rater_counts.name] = _count_raters(conn, day, model)
    return counts


def _count_raters(conn: Connection, day: Any, model: Any) -> list[dict[str, Any]]:
    """rater_counts from the ratings: one row per (day, model, prompt, scale, value, rater)
    from SQL; the prompt key and positive in Python (scales.polarity)."""
    rater = func.coalesce(ratings.c.rater, ratings.c.conversation_id)
    groups = (select(day, model, ratings.c.system_prompt, ratings.c.scale, ratings.c.value,
                     rater, func.count())
              .where(ratings.c.value.is_not(None))
              .group_by(day, model, ratings.c.system_prompt, ratings.c.scale,
                        ratings.c.value, rater))
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    keys: dict[Any, str] = {}
    for d, m, prompt, scale, value, who, n in conn.execute(groups):
        pk = keys.get(prompt)
        if pk is None:
            pk = keys[prompt] = prompt_key(prompt)
        key = (as_day(d), m, pk, scale, who)
        row = out.get(key)
        if row is None:
            row = out[key] = dict(day=key[0], model=m, prompt_key=pk, scale=scale, rater=who,
                                  n=0, positive=0)
        row["n"] += n
        if scales.polarity(scale, value):
            row["positive"] += n
    return list(out.values())


def _count_units(conn: Connection, day: Any) -> list[dict[str, Any]]:
    """unit_counts from the ratings of experiment conversations: one row per (experiment,
    arm, unit, day, scale, value) from SQL, positive and score from scales in Python."""
    unit = func.coalesce(conversations.c.unit, conversations.c.id)
    arm = func.coalesce(conversations.c.arm, "")
    groups = (select(conversations.c.experiment, arm, unit, day, ratings.c.scale,
                     ratings.c.value, func.count())
              .select_from(ratings.join(conversations,
                                        conversations.c.id == ratings.c.conversation_id))
              .where(conversations.c.experiment.is_not(None), ratings.c.value.is_not(None))
              .group_by(conversations.c.experiment, arm, unit, day, ratings.c.scale,
                        ratings.c.value))
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for experiment, arm_name, unit_id, d, scale, value, n in conn.execute(groups):
        key = (experiment, arm_name, unit_id, as_day(d))
        row = out.setdefault(key, dict(experiment=experiment, arm=arm_name, unit=unit_id,
                                       day=key[3], n=0, positive=0, score=0.0, score_sq=0.0))
        score = scales.score(scale, value) or 0.0
        row["n"] += n
        row["positive"] += n if scales.polarity(scale, value) else 0
        row["score"] += n * score
        row["score_sq"] += n * score * score
    return list(out.values())


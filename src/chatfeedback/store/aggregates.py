"""The dashboard's figures as the database computes them: sums over the running totals
(store/stats.py), one small aggregate each however many ratings there are, and the
lowest-rated answers read from the ratings by index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from .. import scales
from . import scoring
from .engine import as_day, as_time
from .errors import db_errors
from .filters import Filters
from .queries import rated_answers
from .schema import (
    answer_counts,
    conversations,
    rating_counts,
    ratings,
    shown_rated_counts,
    tag_counts,
)
from .store import Store

PERIODS = ("day", "week")
# Every 0-1 score a rating can have (scales.score of each value of each scale), lowest first.
SCORES = sorted({scales.score(scale, value) for scale in scales.RANGES
                 for value in scales.values(scale)})


class Counted(NamedTuple):
    """Positives, negatives, ratings and the mean 0-1 score of one group."""

    key: Any
    positive: int
    negative: int
    rated: int
    mean_score: float | None
    model: str | None = None


class TotalCounts(NamedTuple):
    conversations: int
    answers: int
    shown: int
    shown_rated: int
    rated: int
    positive: int
    negative: int
    mean_score: float | None


@dataclass(frozen=True)
class TagCount:
    tag: str
    polarity: str  # positive | negative | neutral
    count: int


@dataclass(frozen=True)
class LowRated:
    conversation_id: str
    message_id: str
    model: str | None
    scale: str
    value: int
    score: float
    comment: str | None
    tags: tuple[str, ...]
    prompt: str | None
    response: str
    rated_at: datetime | None

    @property
    def link(self) -> str:
        return f"?c={self.conversation_id}"


def _counts(t: Any = rating_counts) -> list[Any]:
    """Positives, negatives, ratings and mean score, summed over counter rows."""
    n = t.c.n
    rated = func.coalesce(func.sum(n), 0)
    return [func.coalesce(func.sum(scoring.one_if(scoring.positive(t)) * n), 0).label("positive"),
            func.coalesce(func.sum(scoring.one_if(scoring.negative(t)) * n), 0).label("negative"),
            rated.label("rated"), (func.sum(scoring.score(t) * n) / func.nullif(rated, 0))
            .label("mean_score")]


def _rows(store: Store, query: Any) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(query))


@db_errors
def models(store: Store) -> list[str]:
    """The models that have ratings or answers, for the filter."""
    query = select(rating_counts.c.model).union(select(answer_counts.c.model))
    return sorted(m for (m,) in _rows(store, query) if m)


@db_errors
def date_range(store: Store) -> tuple[date | None, date | None]:
    """The first and last day with a rating."""
    row = _rows(store, select(func.min(rating_counts.c.day), func.max(rating_counts.c.day))
                .where(rating_counts.c.n > 0))[0]
    return (None if row[0] is None else as_day(row[0]),
            None if row[1] is None else as_day(row[1]))


@db_errors
def totals(store: Store, f: Filters) -> TotalCounts:
    """Conversations started, answers created (and shown, and rated among those shown) in
    the range, ratings given in the range (see analytics.Totals)."""
    convs = select(func.count()).select_from(conversations).where(*f.started())
    answers = select(func.coalesce(func.sum(answer_counts.c.answers), 0),
                     func.coalesce(func.sum(answer_counts.c.shown), 0)) \
        .where(*f.counted(answer_counts, scale=False))
    shown_rated = select(func.coalesce(func.sum(shown_rated_counts.c.n), 0)) \
        .where(*f.counted(shown_rated_counts))
    rated = select(*_counts()).where(*f.counted(rating_counts))
    with store.engine.connect() as conn:
        c = conn.execute(convs).scalar_one()
        a = conn.execute(answers).one()
        sr = conn.execute(shown_rated).scalar_one()
        r = conn.execute(rated).one()
    return TotalCounts(conversations=c, answers=int(a[0]), shown=int(a[1]),
                       shown_rated=int(sr), rated=int(r.rated), positive=int(r.positive),
                       negative=int(r.negative), mean_score=_float(r.mean_score))


@db_errors
def over_time(store: Store, f: Filters, period: str) -> list[Counted]:
    """Counts per period (``day`` or ``week``, weeks start on Monday, UTC) and model,
    oldest first."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    bucket = _bucket(store.engine.dialect.name, period).label("bucket")
    model = rating_counts.c.model
    query = (select(bucket, model, *_counts()).where(*f.counted(rating_counts))
             .group_by(bucket, model).having(func.sum(rating_counts.c.n) > 0)
             .order_by(bucket, model))
    return [_counted(as_day(r.bucket), r, model=r.model or None) for r in _rows(store, query)]


@db_errors
def by_model(store: Store, f: Filters) -> list[Counted]:
    """Counts per model, most rated first."""
    return _groups(store, rating_counts.c.model, rating_counts.c.model, f)


@db_errors
def by_system_prompt(store: Store, f: Filters) -> list[Counted]:
    """Counts per system prompt (key None: no system prompt), most rated first."""
    return _groups(store, rating_counts.c.prompt_key, func.max(rating_counts.c.system_prompt),
                   f)


def _groups(store: Store, column: Any, label: Any, f: Filters) -> list[Counted]:
    rated = func.sum(rating_counts.c.n)
    query = (select(label.label("key"), *_counts()).where(*f.counted(rating_counts))
             .group_by(column).having(rated > 0).order_by(rated.desc(), column))
    return [_counted(r.key or None, r) for r in _rows(store, query)]


@db_errors
def tags(store: Store, f: Filters) -> list[TagCount]:
    """How often each reason tag was given, by the polarity of its rating."""
    t = tag_counts
    polarity = case((scoring.positive(t), "positive"), (scoring.negative(t), "negative"),
                    else_="neutral").label("polarity")
    total = func.sum(t.c.n)
    query = (select(t.c.tag, polarity, total.label("n")).where(*f.counted(t))
             .group_by(t.c.tag, polarity).having(total > 0)
             .order_by(total.desc(), t.c.tag))
    return [TagCount(r.tag, r.polarity, int(r.n)) for r in _rows(store, query)]


LOW_RATED = ("conversation_id", "message_id", "model", "scale", "rating", "score", "comment",
             "tags", "prompt", "response", "rated_at")


@db_errors
def lowest_rated(store: Store, f: Filters, limit: int = 20,
                 with_comment: bool = False) -> list[LowRated]:
    """The worst-rated answers (lowest 0-1 score, newest first), with their comment and
    prompt. Taken one possible score at a time (0, 0.25, ...): each step is a range of the
    (score, rated_at) index read newest first, which stops after ``limit`` rows instead of
    sorting every rating."""
    where = f.rated()
    if with_comment:
        where.append(ratings.c.comment.is_not(None))
    found: list[LowRated] = []
    with store.engine.connect() as conn:
        for score in SCORES:
            if len(found) >= limit:
                break
            worst = (select(ratings).where(*where, ratings.c.score == score)
                     .order_by(ratings.c.rated_at.desc(), ratings.c.message_id)
                     .limit(limit - len(found)).subquery())
            query = (rated_answers(LOW_RATED, None, rated=worst).order_by(None)
                     .order_by(worst.c.rated_at.desc(), worst.c.message_id))
            found.extend(LowRated(r.conversation_id, r.message_id, r.model, r.scale,
                                  r.rating, r.score, r.comment, tuple(r.tags or ()),
                                  r.prompt, r.response, as_time(r.rated_at))
                         for r in conn.execute(query))
    return found


def _counted(key: Any, r: Any, *, model: str | None = None) -> Counted:
    return Counted(key, int(r.positive), int(r.negative), int(r.rated),
                   _float(r.mean_score), model)


def _bucket(dialect: str, period: str) -> ColumnElement[Any]:
    """The first day of the period of a counter's day, per dialect."""
    day = rating_counts.c.day
    if period == "day":
        return day
    if dialect == "sqlite":  # a Date is stored as 'YYYY-MM-DD'
        return func.date(day, "-6 days", "weekday 1")
    if dialect == "postgresql":
        return cast(func.date_trunc("week", day), Date)
    raise NotImplementedError(f"no date bucketing for {dialect}")


def _float(value: Any) -> float | None:
    return None if value is None else float(value)

"""SQL aggregates over the ratings and the statistics behind the dashboard.

Every figure is computed by the database (SQLAlchemy Core, SQLite or PostgreSQL) from the
per-day running totals the Store keeps (store/stats.py); Python only receives one row per
group. Positive and negative follow :mod:`chatfeedback.scales`:
thumbs map directly; faces and stars 4-5 are positive, 1-2 negative, 3 neutral. The
positive share is positives / all ratings (a neutral rating counts as not positive), so
thumbs, faces and stars can be put side by side; the mean 0-1 score is shown next to it.

The statistics (Wilson interval, two-proportion z-test) are a few lines on top of
``statistics.NormalDist``; no statistics package is a dependency of the app.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from statistics import NormalDist
from typing import Any

from sqlalchemy import Date, and_, case, cast, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from . import scales
from .store.schema import (
    answer_counts,
    conversations,
    messages,
    rating_counts,
    ratings,
    shown_rated_counts,
    tag_counts,
)
from .store.store import as_utc

PERIODS = ("day", "week")
# Every 0-1 score a rating can have (scales.score of each value of each scale), lowest first.
SCORES = sorted({scales.score(scale, value) for scale, (low, high) in scales.RANGES.items()
                 for value in range(low, high + 1)})
MIN_SAMPLE = 30  # fewer ratings than this in a group: too few to say


# ------------------------------------------------------------------------------- statistics
def wilson(positive: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of ``positive`` out of ``total``; (0, 1) when empty."""
    if total <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = positive / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Verdict:
    """A two-proportion z-test (pooled) of group ``a`` against group ``b``, in words."""

    a: str
    b: str
    share_a: float | None
    share_b: float | None
    difference: float | None  # share_a - share_b
    z: float | None
    p_value: float | None
    significant: bool
    small_sample: bool
    text: str


def two_proportion(a_positive: int, a_total: int, b_positive: int,
                   b_total: int) -> tuple[float, float]:
    """The pooled two-proportion z statistic and its two-sided p-value."""
    if a_total <= 0 or b_total <= 0:
        raise ValueError("both groups need at least one rating")
    pooled = (a_positive + b_positive) / (a_total + b_total)
    se = math.sqrt(pooled * (1 - pooled) * (1 / a_total + 1 / b_total))
    diff = a_positive / a_total - b_positive / b_total
    if se == 0:  # both 0 % or both 100 %
        return 0.0, 1.0
    z = diff / se
    return z, 2 * (1 - NormalDist().cdf(abs(z)))


def compare(a: str, a_positive: int, a_total: int, b: str, b_positive: int, b_total: int,
            alpha: float = 0.05) -> Verdict:
    """Is ``a``'s positive share different from ``b``'s? With a plain-words verdict and a
    small-sample warning (fewer than 30 ratings in a group, or fewer than 5 expected
    positives or negatives, where the normal approximation does not hold)."""
    if a_total <= 0 or b_total <= 0:
        empty = a if a_total <= 0 else b
        return Verdict(a, b, _share(a_positive, a_total), _share(b_positive, b_total), None,
                       None, None, False, True, f"No ratings for {empty} yet: nothing to compare.")
    z, p = two_proportion(a_positive, a_total, b_positive, b_total)
    share_a, share_b = a_positive / a_total, b_positive / b_total
    pooled = (a_positive + b_positive) / (a_total + b_total)
    expected = min(n * q for n in (a_total, b_total) for q in (pooled, 1 - pooled))
    small = min(a_total, b_total) < MIN_SAMPLE or expected < 5
    significant = p < alpha and not small
    figures = (f"{a} {share_a:.0%} of {a_total:,} vs {b} {share_b:.0%} of {b_total:,} "
               f"positive ({_p(p)})")
    if small:
        text = (f"Too few ratings to tell: {figures}. Collect at least {MIN_SAMPLE} ratings "
                f"for each before deciding.")
    elif significant:
        better, worse = (a, b) if share_a > share_b else (b, a)
        text = (f"{better} is rated positive more often than {worse}: {figures}. The "
                f"difference of {abs(share_a - share_b) * 100:.1f} points is statistically "
                f"significant at the {alpha:.0%} level.")
    else:
        text = (f"No significant difference: {figures}. A gap this size could be chance; "
                f"more ratings would be needed to tell them apart.")
    return Verdict(a, b, share_a, share_b, share_a - share_b, z, p, significant, small, text)


def _share(positive: int, total: int) -> float | None:
    return positive / total if total else None


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3g}"


# --------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Filters:
    """What the dashboard looks at: UTC days [since, until), one model, one scale."""

    since: date | None = None
    until: date | None = None
    model: str | None = None
    scale: str | None = None


@dataclass(frozen=True)
class Group:
    """Positive share of one group (a model, a system prompt, a period)."""

    key: Any
    positive: int
    negative: int
    rated: int
    mean_score: float | None
    model: str | None = None  # for per-model time series

    @property
    def share(self) -> float | None:
        return _share(self.positive, self.rated)

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.positive, self.rated)


@dataclass(frozen=True)
class Totals:
    """The dashboard's totals. Answers, shown answers and the rated among them count by the
    day the answer was created; ratings (and the positive share) by the day of the rating."""

    conversations: int
    answers: int
    shown: int         # answers a person has seen (messages.shown_at)
    shown_rated: int   # of those, how many have a rating now (on the chosen scale)
    rated: int
    positive: int
    negative: int
    mean_score: float | None

    @property
    def rated_share(self) -> float | None:
        """Rated among shown / shown: an answer nobody saw cannot be rated, and one rated
        without being shown (through the API) is not counted."""
        return _share(self.shown_rated, self.shown)

    @property
    def rated_interval(self) -> tuple[float, float]:
        return wilson(self.shown_rated, self.shown)

    @property
    def positive_share(self) -> float | None:
        return _share(self.positive, self.rated)

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.positive, self.rated)


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


# ---------------------------------------------------------------------------------- queries
def _positive(t: Any) -> ColumnElement[Any]:
    return case((and_(t.c.scale == "thumbs", t.c.value == 1), 1),
                (and_(t.c.scale != "thumbs", t.c.value >= 4), 1), else_=0)


def _negative(t: Any) -> ColumnElement[Any]:
    return case((and_(t.c.scale == "thumbs", t.c.value == 0), 1),
                (and_(t.c.scale != "thumbs", t.c.value <= 2), 1), else_=0)


def _score(t: Any) -> ColumnElement[Any]:
    """The 0-1 score of a (scale, value), as in scales.score."""
    return case((t.c.scale == "thumbs", t.c.value * 1.0), else_=(t.c.value - 1) / 4.0)


def _counts(t: Any = rating_counts) -> list[Any]:
    """Positives, negatives, ratings and mean score, summed over counter rows."""
    n = t.c.n
    rated = func.coalesce(func.sum(n), 0)
    return [func.coalesce(func.sum(_positive(t) * n), 0).label("positive"),
            func.coalesce(func.sum(_negative(t) * n), 0).label("negative"),
            rated.label("rated"), (func.sum(_score(t) * n) / func.nullif(rated, 0))
            .label("mean_score")]


def _where(t: Any, f: Filters, *, scale: bool = True) -> list[ColumnElement[Any]]:
    where: list[ColumnElement[Any]] = []
    if f.since is not None:
        where.append(t.c.day >= f.since)
    if f.until is not None:
        where.append(t.c.day < f.until)
    if f.model is not None:
        where.append(t.c.model == f.model)
    if scale and f.scale is not None:
        where.append(t.c.scale == f.scale)
    return where


class Analytics:
    """The dashboard's figures for one database. Counts come from the running totals the
    Store keeps per day (store/stats.py), so each figure is one small SQL aggregate however
    many ratings there are; the lowest-rated answers come from the ratings by index."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _rows(self, query: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def models(self) -> list[str]:
        """The models that have ratings or answers, for the filter."""
        query = select(rating_counts.c.model).union(select(answer_counts.c.model))
        return sorted(m for (m,) in self._rows(query) if m)

    def date_range(self) -> tuple[date | None, date | None]:
        """The first and last day with a rating."""
        row = self._rows(select(func.min(rating_counts.c.day), func.max(rating_counts.c.day))
                         .where(rating_counts.c.n > 0))[0]
        return (None if row[0] is None else _day(row[0]),
                None if row[1] is None else _day(row[1]))

    def totals(self, f: Filters = Filters()) -> Totals:
        """Conversations started, answers created (and shown, and rated among those shown)
        in the range, ratings given in the range. The scale filter applies to the ratings
        and the rated among shown only: an unrated answer has no scale, so "shown" counts
        every shown answer and the rated share on one scale is those rated on it / shown."""
        conv_where = []
        if f.since is not None:
            conv_where.append(conversations.c.created_at >= _start(f.since))
        if f.until is not None:
            conv_where.append(conversations.c.created_at < _start(f.until))
        if f.model is not None:
            conv_where.append(conversations.c.model == f.model)
        convs = select(func.count()).select_from(conversations).where(*conv_where)
        answers = select(func.coalesce(func.sum(answer_counts.c.answers), 0),
                         func.coalesce(func.sum(answer_counts.c.shown), 0)) \
            .where(*_where(answer_counts, f, scale=False))
        shown_rated = select(func.coalesce(func.sum(shown_rated_counts.c.n), 0)) \
            .where(*_where(shown_rated_counts, f))
        rated = select(*_counts()).where(*_where(rating_counts, f))
        with self.engine.connect() as conn:
            c = conn.execute(convs).scalar_one()
            a = conn.execute(answers).one()
            sr = conn.execute(shown_rated).scalar_one()
            r = conn.execute(rated).one()
        return Totals(conversations=c, answers=int(a[0]), shown=int(a[1]),
                      shown_rated=int(sr), rated=int(r.rated),
                      positive=int(r.positive), negative=int(r.negative),
                      mean_score=_float(r.mean_score))

    def over_time(self, f: Filters = Filters(), period: str = "week") -> list[Group]:
        """Positive share per period (``day`` or ``week``, weeks start on Monday, UTC) and
        model, oldest first."""
        if period not in PERIODS:
            raise ValueError(f"period must be one of {PERIODS}")
        bucket = _bucket(self.engine.dialect.name, period).label("bucket")
        model = rating_counts.c.model
        query = (select(bucket, model, *_counts()).where(*_where(rating_counts, f))
                 .group_by(bucket, model).having(func.sum(rating_counts.c.n) > 0)
                 .order_by(bucket, model))
        return [Group(_day(r.bucket), int(r.positive), int(r.negative), int(r.rated),
                      _float(r.mean_score), model=r.model or None) for r in self._rows(query)]

    def by_model(self, f: Filters = Filters()) -> list[Group]:
        """Positive share per model, most rated first."""
        return self._groups(rating_counts.c.model, rating_counts.c.model, f)

    def by_system_prompt(self, f: Filters = Filters()) -> list[Group]:
        """Positive share per system prompt (key None: no system prompt), most rated first."""
        return self._groups(rating_counts.c.prompt_key,
                            func.max(rating_counts.c.system_prompt), f)

    def _groups(self, column: Any, label: Any, f: Filters) -> list[Group]:
        rated = func.sum(rating_counts.c.n)
        query = (select(label.label("key"), *_counts()).where(*_where(rating_counts, f))
                 .group_by(column).having(rated > 0).order_by(rated.desc(), column))
        return [Group(r.key or None, int(r.positive), int(r.negative), int(r.rated),
                      _float(r.mean_score)) for r in self._rows(query)]

    def tags(self, f: Filters = Filters()) -> list[TagCount]:
        """How often each reason tag was given, by the polarity of its rating."""
        t = tag_counts
        polarity = case((_positive(t) == 1, "positive"), (_negative(t) == 1, "negative"),
                        else_="neutral").label("polarity")
        total = func.sum(t.c.n)
        query = (select(t.c.tag, polarity, total.label("n")).where(*_where(t, f))
                 .group_by(t.c.tag, polarity).having(total > 0)
                 .order_by(total.desc(), t.c.tag))
        return [TagCount(r.tag, r.polarity, int(r.n)) for r in self._rows(query)]

    def lowest_rated(self, f: Filters = Filters(), limit: int = 20,
                     with_comment: bool = False) -> list[LowRated]:
        """The worst-rated answers (lowest 0-1 score, newest first), with their comment and
        prompt. Taken one possible score at a time (0, 0.25, ...): each step is a range of
        the (score, rated_at) index read newest first, which stops after ``limit`` rows
        instead of sorting every rating."""
        where = [ratings.c.value.is_not(None)]
        if with_comment:
            where.append(ratings.c.comment.is_not(None))
        if f.since is not None:
            where.append(ratings.c.rated_at >= _start(f.since))
        if f.until is not None:
            where.append(ratings.c.rated_at < _start(f.until))
        if f.model is not None:
            where.append(ratings.c.model == f.model)
        if f.scale is not None:
            where.append(ratings.c.scale == f.scale)
        prompt = messages.alias("prompt")
        found: list[LowRated] = []
        with self.engine.connect() as conn:
            for score in SCORES:
                if len(found) >= limit:
                    break
                worst = (select(ratings.c.message_id, ratings.c.conversation_id,
                                ratings.c.model, ratings.c.scale, ratings.c.value,
                                ratings.c.score, ratings.c.comment, ratings.c.tags,
                                ratings.c.rated_at)
                         .where(*where, ratings.c.score == score)
                         .order_by(ratings.c.rated_at.desc(), ratings.c.message_id)
                         .limit(limit - len(found)).subquery())
                query = (select(worst, messages.c.content.label("response"),
                                prompt.c.content.label("prompt"))
                         .join(messages, messages.c.id == worst.c.message_id)
                         .outerjoin(prompt, prompt.c.id == messages.c.parent_id)
                         .order_by(worst.c.rated_at.desc(), worst.c.message_id))
                found.extend(LowRated(r.conversation_id, r.message_id, r.model, r.scale,
                                      r.value, r.score, r.comment, tuple(r.tags or ()),
                                      r.prompt, r.response, _when(r.rated_at))
                             for r in conn.execute(query))
        return found


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


def _start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _when(value: Any) -> datetime | None:
    if isinstance(value, str):  # aggregates over SQLite return the stored text
        value = datetime.fromisoformat(value)
    return as_utc(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)

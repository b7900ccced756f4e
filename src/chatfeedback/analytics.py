"""The statistics behind the dashboard, over the aggregates the Store computes.

Every count comes from the database (store/aggregates.py: sums over the per-day running
totals the Store keeps, one row per group). Positive and negative follow
:mod:`chatfeedback.scales`: thumbs map directly; faces and stars 4-5 are positive, 1-2
negative, 3 neutral. The positive share is positives / all ratings (a neutral rating counts
as not positive), so thumbs, faces and stars can be put side by side; the mean 0-1 score is
shown next to it.

The statistics themselves (Wilson interval, two-proportion z-test) live in
:mod:`chatfeedback.stats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from .stats import cluster
from .stats.proportions import wilson
from .store import Store, aggregates
from .store import experiments as units
from .store.aggregates import PERIODS, LowRated, TagCount
from .store.filters import Filters
from .store.stats import prompt_key

__all__ = ["PERIODS", "Analytics", "Filters", "Group", "LowRated", "TagCount", "Totals",
           "Verdict", "compare_people", "wilson"]


# ------------------------------------------------------------------------------- verdicts
@dataclass(frozen=True)
class Verdict:
    """Group ``a`` against group ``b`` (counting each person once), in words."""

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


MIN_PEOPLE = 10  # fewer people than this in a group: too few to say


def compare_people(a: str, sa: cluster.UnitSums, b: str, sb: cluster.UnitSums) -> Verdict:
    """Observational: is ``a``'s positive share different from ``b``'s, counting each person
    (the rater) as one independent draw (cluster-robust, :mod:`chatfeedback.stats.cluster`)?
    The groups chose themselves, so the words say so."""
    d = cluster.difference(sa, sb)
    share_a, share_b = sa.mean, sb.mean
    if share_a is None or share_b is None or d.ci is None or d.p_value is None:
        empty = a if share_a is None else b
        return Verdict(a, b, share_a, share_b, d.estimate, None, None, False, True,
                       f"Too few people rated {empty} to compare (observational: people "
                       "chose these).")
    low, high = d.ci
    small = min(sa.units, sb.units) < MIN_PEOPLE
    significant = not small and (low > 0 or high < 0)
    figures = (f"{a} {share_a:.0%} ({sa.units:,} people, {int(sa.ratings):,} ratings) vs {b} "
               f"{share_b:.0%} ({sb.units:,} people, {int(sb.ratings):,} ratings); difference "
               f"{d.estimate * 100:+.1f} points, 95 % interval {low * 100:+.1f} to "
               f"{high * 100:+.1f} with each person counted once ({_p(d.p_value)})")
    if small:
        text = (f"Too few people to tell: {figures}. Observational: people chose these; "
                f"collect ratings from at least {MIN_PEOPLE} people each.")
    elif significant:
        better, worse = (a, b) if share_a > share_b else (b, a)
        text = (f"{better} is rated positive more often than {worse}: {figures}. "
                f"Observational: people chose these, so who chose may explain the gap; a "
                f"randomized experiment says which is better.")
    else:
        text = (f"No clear difference: {figures}. Observational: people chose these.")
    return Verdict(a, b, share_a, share_b, d.estimate, d.z, d.p_value, significant, small, text)


def _share(positive: int, total: int) -> float | None:
    return positive / total if total else None


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3g}"


# --------------------------------------------------------------------------------- results
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


class Analytics:
    """The dashboard's figures for one store, as groups with shares and intervals."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def models(self) -> list[str]:
        """The models that have ratings or answers, for the filter."""
        return aggregates.models(self.store)

    def date_range(self) -> tuple[date | None, date | None]:
        """The first and last day with a rating."""
        return aggregates.date_range(self.store)

    def totals(self, f: Filters = Filters()) -> Totals:
        """Conversations started, answers created (and shown, and rated among those shown)
        in the range, ratings given in the range. The scale filter applies to the ratings
        and the rated among shown only: an unrated answer has no scale, so "shown" counts
        every shown answer and the rated share on one scale is those rated on it / shown."""
        return Totals(*aggregates.totals(self.store, f))

    def over_time(self, f: Filters = Filters(), period: str = "week") -> list[Group]:
        """Positive share per period (``day`` or ``week``, weeks start on Monday, UTC) and
        model, oldest first."""
        return [Group(*c) for c in aggregates.over_time(self.store, f, period)]

    def by_model(self, f: Filters = Filters()) -> list[Group]:
        """Positive share per model, most rated first."""
        return [Group(*c) for c in aggregates.by_model(self.store, f)]

    def by_system_prompt(self, f: Filters = Filters()) -> list[Group]:
        """Positive share per system prompt (key None: no system prompt), most rated first."""
        return [Group(*c) for c in aggregates.by_system_prompt(self.store, f)]

    def people_by_model(self, f: Filters = Filters()) -> dict[Any, cluster.UnitSums]:
        """Per model (None: unknown), the per-person sums of positive ratings (for
        intervals that count each person once)."""
        return {k or None: v for k, v in units.rater_sums(self.store, "model", f).items()}

    def people_by_system_prompt(self, f: Filters = Filters(),
                                prompts: list[Group] | None = None
                                ) -> dict[Any, cluster.UnitSums]:
        """Per system prompt (keyed like :meth:`by_system_prompt`: its text, None for
        none), the per-person sums of positive ratings."""
        by_key = units.rater_sums(self.store, "prompt_key", f)
        groups = self.by_system_prompt(f) if prompts is None else prompts
        return {g.key: by_key[prompt_key(g.key)] for g in groups
                if prompt_key(g.key) in by_key}

    def tags(self, f: Filters = Filters()) -> list[TagCount]:
        """How often each reason tag was given, by the polarity of its rating."""
        return aggregates.tags(self.store, f)

    def lowest_rated(self, f: Filters = Filters(), limit: int = 20,
                     with_comment: bool = False) -> list[LowRated]:
        """The worst-rated answers (lowest 0-1 score, newest first), with their comment
        and prompt."""
        return aggregates.lowest_rated(self.store, f, limit, with_comment)

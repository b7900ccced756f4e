"""Estimates that treat the unit (a person or a conversation) as the independent draw.

One person rates many answers, and some people rate everything up: the ratings of one unit
are not independent, so an interval over ratings is far too narrow. Here an arm's figure
(positive share, or mean 0-1 score) is the ratio estimator

    R = sum_i y_i / sum_i n_i

over its units i, where unit i gave n_i ratings whose values sum to y_i. Its variance is the
delta-method (linearisation) variance with units as the independent draws,

    Var(R) = k / (k - 1) * sum_i (y_i - R n_i)^2 / (sum_i n_i)^2        (k units)

which is exactly the cluster-robust (CR1) variance of the intercept of an OLS regression of
the ratings on a constant, clustered by unit (statsmodels' ``cov_type="cluster"``; the tests
compare the two). Units are randomized independently into arms, so the variance of a
difference of arms is the sum of theirs. Everything is computed from six sums per arm
(:class:`UnitSums`), which a database can return with ``GROUP BY`` over units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .proportions import two_sided_p, z_value


@dataclass(frozen=True)
class UnitSums:
    """The sufficient statistics of one arm: over its units i, with n_i ratings summing to
    y_i, the sums below. ``squares`` (the sum of every rating's value squared) is only
    needed for the interval that treats ratings as independent; for 0/1 values it equals
    ``total``."""

    units: int           # k
    ratings: float       # sum n_i
    total: float         # sum y_i
    total_sq: float      # sum y_i^2
    ratings_sq: float    # sum n_i^2
    cross: float         # sum n_i y_i
    squares: float | None = None

    @classmethod
    def of(cls, n: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray,
           squares: float | None = None) -> UnitSums:
        """From per-unit counts ``n`` and sums ``y`` (units without ratings are left out)."""
        n_ = np.asarray(n, dtype=float)
        y_ = np.asarray(y, dtype=float)
        keep = n_ > 0
        n_, y_ = n_[keep], y_[keep]
        return cls(int(keep.sum()), float(n_.sum()), float(y_.sum()), float(y_ @ y_),
                   float(n_ @ n_), float(n_ @ y_), squares)

    @property
    def mean(self) -> float | None:
        return self.total / self.ratings if self.ratings > 0 else None


@dataclass(frozen=True)
class Estimate:
    """An arm's figure with its standard error and interval (None: too few units)."""

    units: int
    ratings: int
    estimate: float | None
    se: float | None
    ci: tuple[float, float] | None


@dataclass(frozen=True)
class Difference:
    """``a - b`` with its standard error, fixed-horizon interval and two-sided p-value."""

    estimate: float | None
    se: float | None
    ci: tuple[float, float] | None
    z: float | None
    p_value: float | None


def variance(s: UnitSums) -> float | None:
    """The delta-method variance of the ratio estimator; None below two units."""
    if s.units < 2 or s.ratings <= 0:
        return None
    r = s.total / s.ratings
    residual = max(0.0, s.total_sq - 2 * r * s.cross + r * r * s.ratings_sq)
    return s.units / (s.units - 1) * residual / (s.ratings * s.ratings)


def unit_variance(s: UnitSums) -> float | None:
    """The variance per unit (``units * variance``): what one more unit adds, for power."""
    v = variance(s)
    return None if v is None else v * s.units


def ratio(s: UnitSums, confidence: float = 0.95) -> Estimate:
    """The arm's figure with a cluster-robust interval (units as the independent draws)."""
    return _estimate(s, variance(s), confidence)


def independent(s: UnitSums, confidence: float = 0.95) -> Estimate:
    """The same figure with the interval that wrongly treats every rating as independent
    (for comparison only: it is what a per-rating test assumes)."""
    if s.ratings < 2 or s.squares is None:
        return _estimate(s, None, confidence)
    r = s.total / s.ratings
    per_rating = max(0.0, (s.squares - s.ratings * r * r) / (s.ratings - 1))
    return _estimate(s, per_rating / s.ratings, confidence)


def difference(a: UnitSums, b: UnitSums, confidence: float = 0.95, *,
               independent_ratings: bool = False) -> Difference:
    """``a``'s figure minus ``b``'s with a fixed-horizon interval and p-value (units as the
    draws; ``independent_ratings=True`` gives the naive per-rating version)."""
    ea = independent(a, confidence) if independent_ratings else ratio(a, confidence)
    eb = independent(b, confidence) if independent_ratings else ratio(b, confidence)
    if ea.estimate is None or eb.estimate is None:
        return Difference(None, None, None, None, None)
    d = ea.estimate - eb.estimate
    if ea.se is None or eb.se is None:
        return Difference(d, None, None, None, None)
    se = math.sqrt(ea.se ** 2 + eb.se ** 2)
    if se == 0:
        return Difference(d, 0.0, (d, d), None, 1.0 if d == 0 else 0.0)
    half = z_value(confidence) * se
    z = d / se
    return Difference(d, se, (max(-1.0, d - half), min(1.0, d + half)), z, two_sided_p(z))


def _estimate(s: UnitSums, var: float | None, confidence: float) -> Estimate:
    est = s.mean
    if est is None or var is None:
        return Estimate(s.units, int(s.ratings), est, None, None)
    se = math.sqrt(var)
    half = z_value(confidence) * se
    return Estimate(s.units, int(s.ratings), est, se,
                    (max(0.0, est - half), min(1.0, est + half)))

"""Proportions whose draws are independent: the Wilson interval and the two-proportion z-test.

These are right when each rating is its own independent draw (one rating per person); when
people rate many answers use :mod:`chatfeedback.stats.cluster`.
"""

from __future__ import annotations

import math
from statistics import NormalDist


def z_value(confidence: float = 0.95) -> float:
    """The two-sided normal quantile of ``confidence`` (1.96 for 95 %)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(positive: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of ``positive`` out of ``total``; (0, 1) when empty."""
    if total <= 0:
        return 0.0, 1.0
    z = z_value(confidence)
    p = positive / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


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
    return z, two_sided_p(z)


def two_sided_p(z: float) -> float:
    """The two-sided p-value of a standard normal statistic ``z``."""
    return 2 * (1 - NormalDist().cdf(abs(z)))

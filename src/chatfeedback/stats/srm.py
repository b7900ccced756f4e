"""Sample-ratio mismatch: are the units per arm what the weights say they should be?

When an experiment assigned 54 % of people to one arm of a 50/50 split, something other
than chance decides who gets which arm (a bug, a crash in one arm, bots), and the
comparison cannot be trusted. The check is Pearson's chi-square goodness-of-fit test of the
units per arm against the weights; a p-value below 0.001 (the usual threshold, e.g. Kohavi,
Tang and Xu, "Trustworthy Online Controlled Experiments", 2020, ch. 21) makes the verdict a
warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scipy.special import chdtrc  # the chi-square survival function (lighter than scipy.stats)

THRESHOLD = 0.001


@dataclass(frozen=True)
class SampleRatio:
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi_square: float
    p_value: float

    @property
    def mismatch(self) -> bool:
        """True when the split is too unlikely to be chance (p < 0.001)."""
        return self.p_value < THRESHOLD


def sample_ratio(units: Sequence[int], weights: Sequence[float]) -> SampleRatio:
    """Pearson's chi-square test of ``units`` per arm against the arms' ``weights``."""
    if len(units) != len(weights) or len(units) < 2:
        raise ValueError("need the units and the weight of at least two arms")
    if any(w <= 0 for w in weights):
        raise ValueError("weights must be positive")
    total, weight = sum(units), sum(weights)
    if total == 0:
        return SampleRatio(tuple(units), tuple(0.0 for _ in units), 0.0, 1.0)
    expected = tuple(total * w / weight for w in weights)
    stat = sum((o - e) ** 2 / e for o, e in zip(units, expected, strict=True))
    return SampleRatio(tuple(units), expected, stat, float(chdtrc(len(units) - 1, stat)))

"""How many units per arm an experiment needs to show a difference of a given size.

With per-unit variances v_a and v_b (:func:`chatfeedback.stats.cluster.unit_variance`, so
person effects are included), the difference's standard error with n units per arm is
sqrt((v_a + v_b) / n). A true difference ``delta`` is shown with probability ``power`` when

    delta >= (c(n) + z_power) * sqrt((v_a + v_b) / n)

where c(n) is 1.96 for the fixed-horizon interval, or the anytime-valid sequence's factor
at 2n units (:func:`chatfeedback.stats.sequential.factor`), which is what the verdict uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .proportions import z_value
from .sequential import PLANNED_UNITS, factor

LIMIT = 10 ** 9  # more units than any experiment will have: "not in practice"


@dataclass(frozen=True)
class Needed:
    difference: float     # the difference to detect (0-1 scale)
    per_arm: int          # units per arm needed in all (LIMIT: not in practice)
    more_per_arm: int     # beyond the units the smaller arm has now

    def words(self, unit: str = "people") -> str:
        """E.g. "about 1,800 more people per arm would show a 3-point difference"."""
        size = f"a {self.difference * 100:.3g}-point difference"
        if self.per_arm >= LIMIT:
            return f"no practical number of {unit} would show {size}"
        if self.more_per_arm == 0:
            return f"the {unit} there are now are enough to show {size}"
        return f"about {_round(self.more_per_arm):,} more {unit} per arm would show {size}"


def units_per_arm(difference: float, variance_a: float, variance_b: float, *,
                  have: int = 0, alpha: float = 0.05, power: float = 0.8,
                  sequential: bool = True, planned_units: float = PLANNED_UNITS) -> Needed:
    """Units per arm needed to show ``difference`` with probability ``power``, given the
    per-unit variances of the two arms and ``have`` units in the smaller arm now."""
    if difference == 0:
        raise ValueError("the difference to detect must not be zero")
    delta, spread, z_power = abs(difference), variance_a + variance_b, z_value(2 * power - 1)

    def enough(n: float) -> bool:
        c = float(factor(2 * n, alpha, planned_units)) if sequential else z_value(1 - alpha)
        return (c + z_power) * math.sqrt(spread / n) <= delta

    if spread <= 0:
        return Needed(delta, max(2, have), 0)
    low, high = 1.0, 2.0
    while not enough(high):
        low, high = high, high * 2
        if high > LIMIT:
            return Needed(delta, LIMIT, LIMIT)
    while high - low > 0.5:
        mid = (low + high) / 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    per_arm = math.ceil(high)
    return Needed(delta, per_arm, max(0, per_arm - have))


def _round(n: int) -> int:
    """Two significant figures: "about 1,800", not "about 1,793"."""
    if n < 100:
        return n
    digits = len(str(n)) - 2
    return int(round(n, -digits))

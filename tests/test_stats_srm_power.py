"""Sample-ratio mismatch (a published example, a 46/54 split flagged, fair splits not) and
the units needed for a difference (statsmodels' power solver, and by simulation)."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower

from chatfeedback.stats.cluster import UnitSums, difference, unit_variance
from chatfeedback.stats.power import LIMIT, units_per_arm
from chatfeedback.stats.srm import sample_ratio


def test_srm_published_example():
    # Kohavi, Tang and Xu, "Trustworthy Online Controlled Experiments" (2020), ch. 3:
    # 821,588 vs 815,482 users in a 50/50 experiment, ratio 0.993, p-value 1.8e-6.
    got = sample_ratio([821_588, 815_482], [1, 1])
    assert got.p_value == pytest.approx(1.8e-6, rel=0.05)
    assert got.mismatch


def test_srm_flags_46_54_and_passes_fair_splits():
    assert sample_ratio([4600, 5400], [1, 1]).mismatch
    assert sample_ratio([4600, 5400], [46, 54]).p_value == pytest.approx(1.0)
    rng = np.random.default_rng(46)
    fair = rng.binomial(10_000, 0.5, size=2000)
    flagged = sum(sample_ratio([int(a), 10_000 - int(a)], [1, 1]).mismatch for a in fair)
    assert flagged / 2000 <= 0.01
    three = rng.multinomial(9000, [0.5, 0.25, 0.25], size=1000)
    assert sum(sample_ratio(list(c), [2, 1, 1]).mismatch for c in three) / 1000 <= 0.01


def test_srm_rejects_nonsense():
    with pytest.raises(ValueError):
        sample_ratio([10], [1])
    with pytest.raises(ValueError):
        sample_ratio([10, 10], [1, 0])
    assert not sample_ratio([0, 0], [1, 1]).mismatch


def test_fixed_horizon_units_equal_statsmodels_power_solver():
    sd, delta = 0.45, 0.03
    got = units_per_arm(delta, sd ** 2, sd ** 2, sequential=False)
    ref = NormalIndPower().solve_power(effect_size=delta / sd, alpha=0.05, power=0.8, ratio=1)
    assert abs(got.per_arm - ref) <= 1


def test_sequential_needs_more_and_words_are_plain():
    fixed = units_per_arm(0.03, 0.2, 0.2, sequential=False, have=500)
    anytime = units_per_arm(0.03, 0.2, 0.2, have=500)
    assert anytime.per_arm > fixed.per_arm
    assert anytime.more_per_arm == anytime.per_arm - 500
    assert anytime.words().startswith("about ") and "more people per arm would show a " \
        "3-point difference" in anytime.words()
    assert units_per_arm(0.03, 0.2, 0.2, have=10 ** 6).words("conversations") == \
        "the conversations there are now are enough to show a 3-point difference"
    assert units_per_arm(1e-9, 0.2, 0.2).per_arm == LIMIT


def test_power_holds_by_simulation():
    """Simulated experiments with person effects at the computed size detect the difference
    (fixed-horizon interval excludes zero) about 80 % of the time."""
    rng = np.random.default_rng(80)

    def arm(units: int, share: float) -> UnitSums:
        n = 1 + rng.poisson(9, size=units)
        p = np.clip(share + rng.normal(0, 0.25, size=units), 0, 1)
        return UnitSums.of(n, rng.binomial(n, p))

    pilot_a, pilot_b = arm(4000, 0.60), arm(4000, 0.55)
    need = units_per_arm(0.05, unit_variance(pilot_a), unit_variance(pilot_b),
                         sequential=False)
    hits = sum(difference(arm(need.per_arm, 0.60), arm(need.per_arm, 0.55)).ci[0] > 0
               for _ in range(800))
    assert 0.75 <= hits / 800 <= 0.85

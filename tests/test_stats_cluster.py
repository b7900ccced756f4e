"""Cluster-robust estimates: coverage by simulation with strong person effects (and how much
less the independent-ratings interval covers), and agreement with statsmodels' cluster-robust
OLS errors on fixed inputs."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from chatfeedback.stats.cluster import UnitSums, difference, independent, ratio


def _expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _true_share(logit: float, spread: float) -> float:
    """E[expit(logit + u)], u ~ N(0, spread^2), by Gauss-Hermite quadrature."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    return float(weights @ _expit(logit + spread * nodes) / weights.sum())


def _arm(rng: np.random.Generator, runs: int, units: int, logit: float,
         spread: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit rating counts and positives: each person has their own leaning (a strong
    person effect) and rates a skewed number of answers, independent of the leaning."""
    n = 1 + rng.negative_binomial(1, 1 / 15, size=(runs, units))  # mean 15, long tail
    p = _expit(logit + spread * rng.standard_normal((runs, units)))
    return n, rng.binomial(n, p)


def test_cluster_interval_covers_the_true_difference_and_the_naive_one_does_not():
    rng = np.random.default_rng(20261201)
    runs, units, spread, control, effect = 2000, 200, 1.5, 0.3, 0.35
    truth = _true_share(control + effect, spread) - _true_share(control, spread)
    na, ya = _arm(rng, runs, units, control + effect, spread)
    nb, yb = _arm(rng, runs, units, control, spread)
    covered = naive_covered = 0
    for r in range(runs):
        a = UnitSums.of(na[r], ya[r], squares=float(ya[r].sum()))  # 0/1 values
        b = UnitSums.of(nb[r], yb[r], squares=float(yb[r].sum()))
        low, high = difference(a, b).ci
        covered += low <= truth <= high
        low, high = difference(a, b, independent_ratings=True).ci
        naive_covered += low <= truth <= high
    coverage, naive = covered / runs, naive_covered / runs
    print(f"\ncluster-robust coverage {coverage:.1%}, independent-ratings coverage {naive:.1%}")
    assert 0.93 <= coverage <= 0.97
    assert naive < 0.75  # ratings treated as independent: far too narrow


def _fixed_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ratings (0/1 and 0-1 scores), their unit and arm: 40 people, 3-40 ratings each."""
    rng = np.random.default_rng(7)
    unit = np.repeat(np.arange(40), rng.integers(3, 41, size=40))
    arm = (unit % 2).astype(float)
    leaning = rng.normal(0, 1.2, size=40)[unit]
    positive = (rng.random(unit.size) < _expit(0.2 + 0.4 * arm + leaning)).astype(float)
    score = rng.integers(1, 6, size=unit.size) / 4 - 0.25  # stars as 0-1 scores
    return unit, arm, positive, score


def _sums(unit: np.ndarray, values: np.ndarray) -> UnitSums:
    n = np.bincount(unit)
    return UnitSums.of(n, np.bincount(unit, weights=values),
                       squares=float(values @ values))


@pytest.mark.parametrize("column", [2, 3])
def test_arm_interval_equals_statsmodels_cluster_robust_ols(column):
    unit, arm, *values = _fixed_inputs()
    y = values[column - 2]
    for which in (0.0, 1.0):
        keep = arm == which
        fit = sm.OLS(y[keep], np.ones(keep.sum())).fit(
            cov_type="cluster", cov_kwds={"groups": unit[keep]})
        got = ratio(_sums(unit[keep], y[keep]))
        assert got.estimate == pytest.approx(fit.params[0], rel=1e-12)
        assert got.se == pytest.approx(fit.bse[0], rel=1e-10)
        plain = sm.OLS(y[keep], np.ones(keep.sum())).fit()  # iid errors
        assert independent(_sums(unit[keep], y[keep])).se == pytest.approx(plain.bse[0],
                                                                           rel=1e-10)


def test_difference_agrees_with_statsmodels_regression_on_the_arm():
    unit, arm, positive, _ = _fixed_inputs()
    fit = sm.OLS(positive, sm.add_constant(arm)).fit(
        cov_type="cluster", cov_kwds={"groups": unit, "use_correction": False})
    a, b = _sums(unit[arm == 1], positive[arm == 1]), _sums(unit[arm == 0], positive[arm == 0])
    got = difference(a, b)
    assert got.estimate == pytest.approx(fit.params[1], rel=1e-12)
    # statsmodels without its small-sample factor; ours has G/(G-1) per arm (CR1 per arm)
    uncorrected = np.sqrt(sum(ratio(s).se ** 2 * (s.units - 1) / s.units for s in (a, b)))
    assert uncorrected == pytest.approx(fit.bse[1], rel=1e-10)
    assert got.se == pytest.approx(fit.bse[1], rel=0.03)  # 20 units per arm: within 3 %


def test_too_few_units_have_no_interval():
    one = UnitSums.of([5], [3])
    assert ratio(one).estimate == 0.6 and ratio(one).ci is None
    assert difference(one, UnitSums.of([4, 2], [1, 2])).ci is None
    assert ratio(UnitSums.of([], [])).estimate is None

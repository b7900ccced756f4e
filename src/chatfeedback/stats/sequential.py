"""An anytime-valid 95 % confidence sequence for the difference between two arms.

A fixed-horizon interval is right once, at a sample size chosen in advance. Looked at every
day and stopped at the first one that excludes zero, it finds a difference that is not there
far more often than 5 % of the time (tests/test_stats_sequential.py measures how often). A
confidence sequence is a sequence of intervals that covers the true value at *every* time at
once with probability 95 %, so it may be looked at as often as one likes, and a decision may
be taken the first time it excludes zero.

Which one, and why. We use the Gaussian-mixture *asymptotic* confidence sequence of
Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas, "Time-uniform central limit theory and
asymptotic confidence sequences" (Annals of Statistics, 2024; Theorem 2.2), which is the
normal-mixture boundary of Howard, Ramdas, McAuliffe and Sekhon, "Time-uniform,
nonparametric, nonasymptotic confidence sequences" (Annals of Statistics, 2021; eq. 14,
two-sided) applied to a standardised mean:

    estimate_t +- SE_t * sqrt((1 + 1/(t rho^2)) * (log(1 + t rho^2) + 2 log(1/alpha)))

where t is the number of independent draws so far and SE_t the estimate's standard error.
  * It needs only an estimate and its standard error, so it applies directly to our
    cluster-robust difference: the draws are the units (people or conversations), not the
    ratings, and SE_t is the delta-method SE of :mod:`chatfeedback.stats.cluster`.
    (Randomized by unit, the difference of ratio estimators is, to first order, a mean of
    independent per-unit influence values, which is the setting of the theorem.)
  * Bounded-value sequences (betting, empirical Bernstein) would be exact but need the
    individual draws in time order, and a person's sum is not a bounded draw that arrives
    once: it grows. The asymptotic sequence is the one whose inputs are the same
    aggregates the fixed-horizon interval uses, and it is as tight as the central limit
    theorem allows, up to the log factor that pays for looking at every t.
  * ``rho`` is tuned so that the sequence is tightest at ``planned_units`` (their eq. 2.8;
    confseq's ``best_rho``); the sequence is valid at every t whatever the choice.

The tests compare the boundary with confseq's ``normal_mixture_bound`` (two-sided) and show
by simulation that stopping at the first exclusion of zero errs in at most 5 % of runs.
"""

from __future__ import annotations

import math

import numpy as np

PLANNED_UNITS = 1000  # where the sequence is tightest (it is valid everywhere)


def rho_squared(planned_units: float = PLANNED_UNITS, alpha: float = 0.05) -> float:
    """The mixture's rho^2, chosen to minimise the width at ``planned_units`` draws."""
    log_alpha = 2 * math.log(1 / alpha)
    return (log_alpha + math.log(1 + log_alpha)) / planned_units


def factor(units: float | np.ndarray, alpha: float = 0.05,
           planned_units: float = PLANNED_UNITS) -> float | np.ndarray:
    """How many standard errors the anytime-valid half-width is after ``units`` draws
    (about 2.8 at the planned size; 1.96 would be the fixed-horizon interval)."""
    tr = np.asarray(units, dtype=float) * rho_squared(planned_units, alpha)
    out = np.sqrt((1 + 1 / tr) * (np.log1p(tr) + 2 * math.log(1 / alpha)))
    return float(out) if out.ndim == 0 else out


def confidence_sequence(estimate: float, se: float, units: int, alpha: float = 0.05,
                        planned_units: float = PLANNED_UNITS) -> tuple[float, float]:
    """The anytime-valid interval at this look: ``estimate`` (e.g. a difference of arms)
    with standard error ``se`` after ``units`` independent units, clipped to [-1, 1]."""
    if units < 1:
        raise ValueError("a confidence sequence needs at least one unit")
    half = se * float(factor(units, alpha, planned_units))
    return max(-1.0, estimate - half), min(1.0, estimate + half)

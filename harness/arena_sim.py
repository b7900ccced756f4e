"""Simulated arena votes from known strengths, with voters who have their own biases.

Shared by the tests (test_bradley_terry.py, test_arena_cli.py) and benchmarks/arena.py. Each voter has an activity level
(some vote a lot), a taste of their own (a per-model offset, so one voter's votes are correlated),
a lean towards side A, and a propensity to call a tie or "both bad".
"""

from __future__ import annotations

import numpy as np

from chatfeedback.stats.bradley_terry import Votes, fit_pairs, to_scale

TASTE_SD = 0.35     # per-voter, per-model offset of the log-strength
LEAN_SD = 0.3       # per-voter lean towards side A
TIE_RATE = 0.2      # mean share of ties and "both bad"


def simulate(rng: np.random.Generator, theta: np.ndarray, n_votes: int, n_voters: int,
             pair_probs: np.ndarray | None = None) -> tuple[Votes, np.ndarray]:
    """Votes (one row per vote) and each drawn pair's index (np.triu_indices order)."""
    k = len(theta)
    activity = rng.lognormal(0.0, 1.0, n_voters)
    voter = rng.choice(n_voters, size=n_votes, p=activity / activity.sum())
    taste = rng.normal(0.0, TASTE_SD, (n_voters, k))
    lean = rng.normal(0.0, LEAN_SD, n_voters)
    tie = rng.beta(2.0, 8.0, n_voters)                 # mean 0.2
    i, j = np.triu_indices(k, 1)
    pair = rng.choice(len(i), size=n_votes, p=pair_probs)
    swap = rng.random(n_votes) < 0.5
    a = np.where(swap, j[pair], i[pair])
    b = np.where(swap, i[pair], j[pair])
    eta = theta[a] - theta[b] + taste[voter, a] - taste[voter, b] + lean[voter]
    u = rng.random(n_votes)
    tied = u < tie[voter]
    a_wins = rng.random(n_votes) < 1.0 / (1.0 + np.exp(-eta))
    outcome = np.where(tied, np.where(rng.random(n_votes) < 0.5, 2, 3), np.where(a_wins, 0, 1))
    weight = np.ones(n_votes) if pair_probs is None else 1.0 / (len(i) * pair_probs[pair])
    models = tuple(f"m{m}" for m in range(k))
    return Votes(models, voter, a, b, outcome, np.ones(n_votes), weight), pair


def truth(theta: np.ndarray) -> np.ndarray:
    """The ratings the pooled Bradley-Terry fit converges to: the projection of the population's
    expected score in each pair (voters' tastes and leans integrated out by Gauss-Hermite
    quadrature; they shrink differences a little) onto the Bradley-Terry model, on the scale."""
    k = len(theta)
    i, j = np.triu_indices(k, 1)
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()
    sd = np.sqrt(2 * TASTE_SD**2 + LEAN_SD**2)
    d = (theta[i] - theta[j])[:, None] + sd * nodes[None, :]
    p = (weights[None, :] / (1.0 + np.exp(-d))).sum(axis=1)
    expected = TIE_RATE * 0.5 + (1 - TIE_RATE) * p
    return to_scale(fit_pairs(expected * 1e6, np.full(len(i), 1e6), k, ridge=0.0))[0]


__all__ = ["simulate", "truth"]

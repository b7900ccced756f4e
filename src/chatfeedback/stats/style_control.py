"""Style control (LMArena, "Does style matter?", 2024): the Bradley-Terry model of
bradley_terry.py fitted with the normalised differences in answer length and Markdown headers,
lists and bold text as covariates. Its intervals come from the linearised (one-step) voter
bootstrap, which needs one fit instead of one per resample because those covariates cannot be
aggregated away.
"""

from __future__ import annotations

import re

import numpy as np

from .bradley_terry import (
    RIDGE,
    SCORE_A,
    STYLE_FEATURES,
    Leaderboard,
    Votes,
    board,
    interval,
    leaderboard,
    resampled,
    to_scale,
    votes_per_model,
)

_CODE = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_HEADER = re.compile(r"^#{1,6}[ \t]+\S", re.MULTILINE)
_LIST = re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+\S", re.MULTILINE)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")


def style_features(text: str) -> tuple[int, int, int, int]:
    """An answer's STYLE_FEATURES: characters, then Markdown headers, list items and bold
    spans outside fenced code blocks (as LMArena counts them)."""
    prose = _CODE.sub("", text)
    return (len(text), len(_HEADER.findall(prose)), len(_LIST.findall(prose)),
            len(_BOLD.findall(prose)))


def style_covariates(features_a: np.ndarray, features_b: np.ndarray) -> np.ndarray:
    """LMArena's style covariates: (A - B) / (A + B + 1) per feature, standardised to mean 0 and
    standard deviation 1 over the votes. A feature that never varies gives a column of zeros."""
    fa, fb = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    ratio = (fa - fb) / (fa + fb + 1.0)
    sd = ratio.std(axis=0)
    return np.where(sd > 0, (ratio - ratio.mean(axis=0)) / np.where(sd > 0, sd, 1.0), 0.0)


def fit_style(votes: Votes, ridge: float = RIDGE) -> tuple[np.ndarray, dict[str, float]]:
    """Maximum likelihood of logit P(A wins) = theta[a] - theta[b] + z @ gamma over the rows
    (z: ``style_covariates``). Returns theta (natural log-strengths, mean 0) and gamma by feature."""
    z = style_covariates(votes.features_a, votes.features_b)
    theta, gamma, _, _ = _style_newton(votes, z, ridge, 100, 1e-10)
    return theta, dict(zip(STYLE_FEATURES[: z.shape[1]], gamma.tolist(), strict=False))


def _style_newton(votes: Votes, z: np.ndarray, ridge: float, max_iter: int, tol: float):
    k, s = len(votes.models), z.shape[1]
    a, b = votes.a, votes.b
    y = votes.weight * SCORE_A[votes.outcome]
    n = votes.weight
    active = z.std(axis=0) > 0 if len(z) else np.zeros(s, bool)
    zs = z[:, active]
    theta, gamma = np.zeros(k), np.zeros(zs.shape[1])
    for _ in range(max_iter):
        eta = theta[a] - theta[b] + zs @ gamma
        p = 1.0 / (1.0 + np.exp(-eta))
        r = y - n * p
        w = n * p * (1.0 - p)
        hess = _style_hessian(a, b, zs, w, k, ridge)
        grad = np.concatenate([np.bincount(a, r, k) - np.bincount(b, r, k) - ridge * theta,
                               zs.T @ r - ridge * gamma])
        step = np.linalg.solve(hess, grad)
        big = np.abs(step).max()
        step *= min(1.0, 3.0 / max(big, 1e-300))
        theta += step[:k]
        gamma += step[k:]
        if big < tol:
            break
    eta = theta[a] - theta[b] + zs @ gamma
    p = 1.0 / (1.0 + np.exp(-eta))
    r = y - n * p
    hess = _style_hessian(a, b, zs, n * p * (1.0 - p), k, ridge)
    full = np.zeros(s)
    full[active] = gamma
    return theta - theta.mean(), full, (r, hess, active), zs


def _style_hessian(a, b, zs, w, k, ridge):
    s = zs.shape[1]
    lap = (np.bincount(a * k + b, w, k * k) + np.bincount(b * k + a, w, k * k)).reshape(k, k)
    lap = np.diag(lap.sum(axis=1)) - lap + ridge * np.eye(k)
    cross = np.stack([np.bincount(a, w * zs[:, c], k) - np.bincount(b, w * zs[:, c], k)
                      for c in range(s)], axis=1) if s else np.zeros((k, 0))
    # the same weak prior on the style coefficients: collinear covariates (e.g. answers whose
    # headers, lists and bold always come together) share their effect instead of failing
    return np.block([[lap, cross], [cross.T, zs.T @ (w[:, None] * zs) + ridge * np.eye(s)]])


def style_leaderboard(votes: Votes, *, bootstrap: int = 1000, level: float = 0.95,
                      seed: int = 0, ridge: float = RIDGE) -> Leaderboard:
    """The leaderboard controlled for style (needs ``features_a``/``features_b``); intervals from
    the one-step voter bootstrap: theta*_b = theta + H^-1 sum_v (m_bv - 1) score_v."""
    k = len(votes.models)
    if votes.features_a is None or votes.features_b is None:
        raise ValueError("style control needs the answers' style features")
    if len(votes.voter) == 0 or k < 2:
        return leaderboard(votes, bootstrap=0)
    z = style_covariates(votes.features_a, votes.features_b)
    theta, gamma, (r, hess, active), zs = _style_newton(votes, z, ridge, 100, 1e-10)
    point = to_scale(theta)
    coefficients = dict(zip(STYLE_FEATURES[: z.shape[1]], gamma.tolist(), strict=False))
    if bootstrap <= 0:
        nan = np.full(k, np.nan)
        return board(votes.models, point, nan, nan, votes_per_model(votes), votes.total,
                      coefficients)
    n_voters, d = votes.n_voters, k + zs.shape[1]
    if n_voters < 2:
        nan = np.full(k, np.nan)
        return board(votes.models, point, nan, nan, votes_per_model(votes), votes.total,
                      coefficients, voters=n_voters)
    per_voter = np.zeros((n_voters, d))
    per_voter[:, :k] = (np.bincount(votes.voter * k + votes.a, r, n_voters * k)
                        - np.bincount(votes.voter * k + votes.b, r, n_voters * k)
                        ).reshape(n_voters, k)
    for c in range(zs.shape[1]):
        per_voter[:, k + c] = np.bincount(votes.voter, r * zs[:, c], n_voters)
    per_voter[:, :k] -= ridge * theta / n_voters     # the prior's share, so scores sum to 0
    per_voter[:, k:] -= ridge * gamma[active] / n_voters
    inv = np.linalg.inv(hess)
    rng = np.random.default_rng(seed)
    base = per_voter.sum(axis=0)
    boot = np.concatenate([to_scale(theta + ((t - base) @ inv.T)[:, :k])
                           for t in resampled(rng, per_voter, bootstrap)])
    lo, hi = interval(boot, level)
    return board(votes.models, point, lo, hi, votes_per_model(votes), votes.total, coefficients,
                  voters=n_voters)

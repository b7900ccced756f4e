"""Bradley-Terry ratings from pairwise votes, on LMArena's scale, with intervals that resample voters.

Votes arrive aggregated (one row per voter, model on side A, model on side B and outcome, with the
number of votes and their summed weight), so nothing here loops over votes in Python. A tie and
"both are bad" count half a win for each side, as LMArena counts them. Ratings are maximum
likelihood estimates put on LMArena's scale: 400 points per factor of 10 in the odds, centred so
that the mean rating is 1000. Intervals are percentiles of a bootstrap that resamples voters (a
voter's votes are not independent of each other), and a model's rank is 1 + the number of models
whose lower bound is above its upper bound.

Each vote may carry a weight, the inverse of the probability with which its pair was drawn, so
that drawing some pairs more often (active sampling) does not bias the estimates.

Style control (the same model with answer length and Markdown as covariates) is in
style_control.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

SCALE = 400.0 / math.log(10.0)   # rating points per unit of natural log-odds
CENTRE = 1000.0
# A vanishingly weak Gaussian prior on the log-strengths (sd 10, i.e. +-1,700 points) and on the
# style coefficients: it keeps a model that never lost in some bootstrap resample finite and
# collinear style covariates solvable, and moves real ratings by < 0.01 points.
RIDGE = 0.01
WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")
SCORE_A = np.array([1.0, 0.0, 0.5, 0.5])   # side A's share of the win, by outcome code
STYLE_FEATURES = ("length", "headers", "lists", "bold")


@dataclass(frozen=True)
class Votes:
    """Aggregated votes: row r is ``count[r]`` votes (summed weight ``weight[r]``) by voter
    ``voter[r]`` between models ``a[r]`` (side A) and ``b[r]`` (side B) with outcome code
    ``outcome[r]`` (an index into WINNERS). ``features_a``/``features_b`` (rows x STYLE_FEATURES)
    are the answers' style counts, needed only for style control (then each row is one vote)."""

    models: tuple[str, ...]
    voter: np.ndarray
    a: np.ndarray
    b: np.ndarray
    outcome: np.ndarray
    count: np.ndarray
    weight: np.ndarray
    features_a: np.ndarray | None = None
    features_b: np.ndarray | None = None

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence], models: Sequence[str] | None = None,
                  features: Iterable[Sequence] | None = None) -> Votes:
        """Rows of (voter, model_a, model_b, winner, count, weight); see :meth:`from_columns`.
        ``features``: per row, side A's then side B's STYLE_FEATURES counts."""
        rows = list(rows)
        columns = list(zip(*rows, strict=True)) if rows else [()] * 6
        feats = None
        if features is not None:
            feats = np.asarray(list(features), dtype=np.float64).reshape(
                len(rows), 2 * len(STYLE_FEATURES)).T
        return cls.from_columns(*columns[:6], models=models, features=feats)

    @classmethod
    def from_columns(cls, voter: Sequence, model_a: Sequence, model_b: Sequence,
                     winner: Sequence, count: Sequence, weight: Sequence, *,
                     models: Sequence[str] | None = None,
                     features: Sequence[Sequence] | None = None) -> Votes:
        """Votes from columns as a query returns them (voters and models as names, winner as
        in WINNERS), encoded by hashing (no Python loop per row). ``models`` fixes the order
        (default: sorted names); rows naming other models, or the same model twice, are
        left out. ``features``: the 2 x STYLE_FEATURES columns, side A's first."""
        import pandas as pd  # here, not at the top: the store imports this module's constants,
        #                      and every CLI command would pay pandas' ~0.3 s import for them
        n = len(voter)
        a_names = np.asarray(model_a, dtype=object).reshape(n)
        b_names = np.asarray(model_b, dtype=object).reshape(n)
        seen = pd.unique(np.concatenate([a_names, b_names])) if n else np.array([], object)
        names = tuple(models) if models is not None else tuple(sorted(seen))
        lookup = pd.Index(names)
        a = lookup.get_indexer(a_names)
        b = lookup.get_indexer(b_names)
        outcome = pd.Index(WINNERS).get_indexer(np.asarray(winner, dtype=object).reshape(n))
        if (outcome < 0).any():
            raise ValueError(f"unknown winner; expected one of {', '.join(WINNERS)}")
        keep = (a >= 0) & (b >= 0) & (a != b)
        voter_codes, _ = pd.factorize(np.asarray(voter, dtype=object).reshape(n)[keep])
        fa = fb = None
        if features is not None:
            feats = np.asarray(features, dtype=np.float64).reshape(len(features), n)[:, keep].T
            half = feats.shape[1] // 2
            fa, fb = feats[:, :half], feats[:, half:]
        return cls(names, voter_codes.astype(np.int64), a[keep].astype(np.int64),
                   b[keep].astype(np.int64), outcome[keep].astype(np.int64),
                   np.asarray(count, dtype=np.float64).reshape(n)[keep],
                   np.asarray(weight, dtype=np.float64).reshape(n)[keep], fa, fb)

    @classmethod
    def from_totals(cls, cluster: Sequence, model_lo: Sequence, model_hi: Sequence,
                    n: Sequence, wins: Sequence, weight: Sequence, weighted_wins: Sequence,
                    *, models: Sequence[str] | None = None) -> Votes:
        """Votes from running totals: per cluster of voters (resampled as a voter is) and
        pair, the votes ``n``, the first model's wins ``wins`` (a tie half) and the same
        weighted. Each total is two rows, the first model's wins and its losses: every
        estimate here depends on the votes only through these sums. Rows naming a model
        outside ``models`` (default: every model named, sorted) are left out."""
        import pandas as pd  # see from_columns

        rows = len(cluster)
        lo = np.asarray(model_lo, dtype=object).reshape(rows)
        hi = np.asarray(model_hi, dtype=object).reshape(rows)
        if models is None:
            models = sorted(pd.unique(np.concatenate([lo, hi]))) if rows else []
        lookup = pd.Index(tuple(models))
        a, b = lookup.get_indexer(lo), lookup.get_indexer(hi)
        keep = (a >= 0) & (b >= 0) & (a != b)
        codes = pd.factorize(np.asarray(cluster, dtype=np.int64).reshape(rows)[keep])[0]
        n_, w = (np.asarray(x, dtype=np.float64).reshape(rows)[keep] for x in (n, wins))
        weight_, ww = (np.asarray(x, dtype=np.float64).reshape(rows)[keep]
                       for x in (weight, weighted_wins))
        twice = lambda x: np.concatenate([x, x]).astype(np.int64)
        outcome = np.repeat(np.array([0, 1], dtype=np.int64), len(codes))
        return cls(tuple(models), twice(codes), twice(a[keep]), twice(b[keep]), outcome,
                   np.concatenate([w, n_ - w]), np.concatenate([ww, weight_ - ww]))

    @property
    def n_voters(self) -> int:
        return int(self.voter.max()) + 1 if len(self.voter) else 0

    @property
    def total(self) -> int:
        return round(float(self.count.sum()))


@dataclass(frozen=True)
class Rating:
    model: str
    rating: float
    ci: tuple[float, float]
    rank: int
    votes: int


@dataclass(frozen=True)
class Leaderboard:
    ratings: list[Rating]                      # best first
    votes: int
    coefficients: dict[str, float] = field(default_factory=dict)   # style control only
    voters: int = 0

    def to_dict(self) -> dict:
        """The JSON shape of ``chatfeedback arena --json``; an interval that cannot be
        computed (no bootstrap, or a single voter) is null."""
        out: dict = {"models": [{"model": r.model, "rating": round(r.rating, 1),
                                 "ci": [_round(r.ci[0]), _round(r.ci[1])], "rank": r.rank,
                                 "votes": r.votes} for r in self.ratings],
                     "votes": self.votes, "voters": self.voters}
        if self.coefficients:
            out["coefficients"] = {k: round(v, 4) for k, v in self.coefficients.items()}
        return out


def _round(value: float) -> float | None:
    return round(value, 1) if math.isfinite(value) else None


def to_scale(theta: np.ndarray) -> np.ndarray:
    """Natural log-strengths -> LMArena points, centred on the mean of the last axis."""
    return CENTRE + SCALE * (theta - theta.mean(axis=-1, keepdims=True))


def ranks(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """1 + the number of models whose lower bound is above this model's upper bound."""
    return 1 + (lower[None, :] > upper[:, None]).sum(axis=1)


# -- plain Bradley-Terry over pair totals ------------------------------------------------------

def _pairs(k: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.triu_indices(k, 1)
    return i, j


def _pair_index(i: np.ndarray, j: np.ndarray, k: int) -> np.ndarray:
    """Index of the unordered pair {i, j} (i != j) in np.triu_indices(k, 1) order."""
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    return lo * k - lo * (lo + 1) // 2 + (hi - lo - 1)


def _row_scores(votes: Votes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: its pair's index, the weighted score of the pair's lower-index model, and the weight."""
    k = len(votes.models)
    p = _pair_index(votes.a, votes.b, k)
    score_a = votes.weight * SCORE_A[votes.outcome]
    score_lo = np.where(votes.a < votes.b, score_a, votes.weight - score_a)
    return p, score_lo, votes.weight


def fit_pairs(score: np.ndarray, total: np.ndarray, k: int, ridge: float = RIDGE,
              max_iter: int = 100, tol: float = 1e-10) -> np.ndarray:
    """Maximum-likelihood log-strengths, batched: ``score``/``total`` are (B, P) weighted wins of
    the lower-index model and weighted votes per pair (np.triu_indices order); returns (B, K)
    natural log-strengths with mean 0. Newton's method on the concave log-likelihood."""
    score, total = np.atleast_2d(score), np.atleast_2d(total)
    i, j = _pairs(k)
    incidence = np.zeros((len(i), k))
    incidence[np.arange(len(i)), i] = 1.0
    incidence[np.arange(len(i)), j] = -1.0
    theta = np.zeros((score.shape[0], k))
    # + J/k: the log-likelihood ignores a common shift, so steps live where the sum is 0 and this
    # makes the Hessian invertible without changing them (also with ridge = 0)
    eye = ridge * np.eye(k) + np.full((k, k), 1.0 / k)
    for _ in range(max_iter):
        d = theta[:, i] - theta[:, j]
        p = 1.0 / (1.0 + np.exp(-d))
        grad = (score - total * p) @ incidence - ridge * theta
        w = total * p * (1.0 - p)
        hess = np.matmul(incidence.T[None, :, :] * w[:, None, :], incidence) + eye
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        # a model that never lost in a resample walks off slowly instead of overflowing
        big = np.abs(step).max(axis=1, keepdims=True)
        step *= np.minimum(1.0, 3.0 / np.maximum(big, 1e-300))
        theta += step
        if big.max() < tol:
            break
    return theta - theta.mean(axis=1, keepdims=True)


def _multiplicities(rng: np.random.Generator, n_voters: int, reps: int) -> np.ndarray:
    """(reps, V) counts of how often each voter is drawn in each bootstrap resample."""
    draws = rng.integers(0, n_voters, size=(reps, n_voters))
    draws += (np.arange(reps) * n_voters)[:, None]
    return np.bincount(draws.ravel(), minlength=reps * n_voters).reshape(reps, n_voters)


def resampled(rng: np.random.Generator, per_voter: np.ndarray, reps: int) -> Iterable[np.ndarray]:
    """Yield chunks of (reps_chunk, columns) totals of ``per_voter`` (V, columns) over voter
    resamples; one matrix product per chunk."""
    n_voters = per_voter.shape[0]
    chunk = max(1, min(reps, 4_000_000 // max(n_voters, 1)))
    done = 0
    while done < reps:
        m = min(chunk, reps - done)
        yield _multiplicities(rng, n_voters, m).astype(per_voter.dtype) @ per_voter
        done += m


def interval(boot: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
    return lo, hi


def board(models: Sequence[str], point: np.ndarray, lo: np.ndarray, hi: np.ndarray,
           per_model: np.ndarray, votes: int, coefficients: dict | None = None,
           voters: int = 0) -> Leaderboard:
    rank = ranks(lo, hi)      # NaN bounds (no interval) compare False: nobody clearly above
    order = np.argsort(-point, kind="stable")
    return Leaderboard([Rating(models[m], float(point[m]), (float(lo[m]), float(hi[m])),
                               int(rank[m]), int(per_model[m])) for m in order],
                       votes, coefficients or {}, voters)


def votes_per_model(votes: Votes) -> np.ndarray:
    k = len(votes.models)
    return (np.bincount(votes.a, votes.count, minlength=k)
            + np.bincount(votes.b, votes.count, minlength=k)).round().astype(np.int64)


def leaderboard(votes: Votes, *, bootstrap: int = 1000, level: float = 0.95, seed: int = 0,
                ridge: float = RIDGE) -> Leaderboard:
    """Ratings, intervals (voter bootstrap, ``bootstrap`` resamples) and ranks of every model."""
    k = len(votes.models)
    if len(votes.voter) == 0 or k < 2:
        return board(votes.models, np.full(k, CENTRE), np.full(k, np.nan), np.full(k, np.nan),
                      np.zeros(k, np.int64), 0)
    p, score_lo, weight = _row_scores(votes)
    n_pairs = k * (k - 1) // 2
    point = to_scale(fit_pairs(np.bincount(p, score_lo, n_pairs),
                               np.bincount(p, weight, n_pairs), k, ridge))[0]
    if bootstrap <= 0:
        return board(votes.models, point, np.full(k, np.nan), np.full(k, np.nan),
                      votes_per_model(votes), votes.total)
    # one row per voter, columns: the pairs' scores then the pairs' totals
    n_voters = votes.n_voters
    per_voter = np.zeros((n_voters, 2 * n_pairs), dtype=np.float32)
    cell = votes.voter * (2 * n_pairs) + p
    flat = per_voter.reshape(-1)
    flat += np.bincount(cell, score_lo, flat.size).astype(np.float32)
    flat += np.bincount(cell + n_pairs, weight, flat.size).astype(np.float32)
    if n_voters < 2:   # resampling one voter always gives the same data: no interval
        nan = np.full(k, np.nan)
        return board(votes.models, point, nan, nan, votes_per_model(votes), votes.total,
                      voters=n_voters)
    rng = np.random.default_rng(seed)
    boot = np.concatenate([to_scale(fit_pairs(t[:, :n_pairs].astype(np.float64),
                                              t[:, n_pairs:].astype(np.float64), k, ridge))
                           for t in resampled(rng, per_voter, bootstrap)])
    lo, hi = interval(boot, level)
    return board(votes.models, point, lo, hi, votes_per_model(votes), votes.total,
                  voters=n_voters)


def pair_matrices(votes: Votes) -> tuple[np.ndarray, np.ndarray]:
    """(win rate of row model over column model, votes between them), both K x K, unweighted;
    a tie counts half. Win rates of pairs that never met are NaN."""
    k = len(votes.models)
    score_a = votes.count * SCORE_A[votes.outcome]
    wins = (np.bincount(votes.a * k + votes.b, score_a, k * k)
            + np.bincount(votes.b * k + votes.a, votes.count - score_a, k * k)).reshape(k, k)
    n = wins + wins.T
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, wins / n, np.nan)
    return rate, n.round().astype(np.int64)


# -- sampling --------------------------------------------------------------------------------

def pair_probabilities(lower: np.ndarray, upper: np.ndarray, *, active: bool) -> np.ndarray:
    """Probability of drawing each pair (np.triu_indices order). Uniform, or "active": half
    uniform, half in proportion to how much the pair's intervals overlap (LMArena draws the
    pairs it knows least about more often); every pair keeps a probability >= half uniform, so
    weighting each vote by 1 / probability keeps the estimates unbiased. A model without an
    interval (NaN or infinite bounds) overlaps everything fully."""
    k = len(lower)
    i, j = _pairs(k)
    n = len(i)
    uniform = np.full(n, 1.0 / n) if n else np.zeros(0)
    if not active or n == 0:
        return uniform
    lo = np.where(np.isfinite(lower), lower, -np.inf)
    hi = np.where(np.isfinite(upper), upper, np.inf)
    width = np.minimum(hi[i] - lo[i], hi[j] - lo[j])
    gap = np.minimum(hi[i], hi[j]) - np.maximum(lo[i], lo[j])
    overlap = np.clip(gap, 0.0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(np.isfinite(width) & (width > 0), overlap / width,
                         np.where(np.isfinite(width), (gap >= 0) * 1.0, 1.0))
    share = np.nan_to_num(np.clip(share, 0.0, 1.0), nan=1.0)
    focus = share / share.sum() if share.sum() > 0 else uniform
    return 0.5 * uniform + 0.5 * focus

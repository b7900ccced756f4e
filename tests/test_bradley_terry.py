"""Bradley-Terry ratings: recovery and interval coverage on seeded simulations, equality with the
`choix` reference implementation, style control, weights and the sampling probabilities."""

from __future__ import annotations

import choix
import numpy as np
import pytest
from scipy.optimize import minimize

from chatfeedback.stats import bradley_terry as bt
from chatfeedback.stats import style_control
from harness.arena_sim import simulate, truth

THETA8 = np.array([1.2, 0.9, 0.6, 0.35, 0.1, -0.2, -0.5, -0.9])


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1])


def test_recovers_the_ranking_of_known_strengths():
    rng = np.random.default_rng(1)
    votes, _ = simulate(rng, THETA8, 50_000, 800)
    board = bt.leaderboard(votes, bootstrap=200, seed=1)
    got = {r.model: r.rating for r in board.ratings}
    est = np.array([got[m] for m in votes.models])
    assert spearman(est, THETA8) >= 0.95
    assert abs(est.mean() - 1000.0) < 1e-6
    assert board.votes == 50_000
    assert sum(r.votes for r in board.ratings) == 100_000
    true = truth(THETA8)
    assert np.abs(est - true).max() < 25          # points; each interval is about +-15 wide


def test_intervals_cover_the_true_ratings_90_to_98_percent():
    """200 seeded simulations of 50,000 votes by 500 voters with their own tastes, leans and tie
    habits. 200 bootstrap resamples per simulation (not 1,000): the percentile endpoints are then
    a little noisier, which can only lower coverage, so the band still tests the method."""
    true = truth(THETA8)
    covered = total = 0
    for sim in range(200):
        rng = np.random.default_rng(1000 + sim)
        votes, _ = simulate(rng, THETA8, 50_000, 500)
        board = bt.leaderboard(votes, bootstrap=200, seed=sim)
        for r in board.ratings:
            t = true[votes.models.index(r.model)]
            covered += r.ci[0] <= t <= r.ci[1]
            total += 1
    assert 0.90 <= covered / total <= 0.98, covered / total


def test_resampling_clusters_of_whole_voters_still_covers_90_to_98_percent():
    """The running totals resample clusters of voters once there are more voters than
    clusters (store/arena_totals.py: voters numbered by arrival, modulo the number of
    clusters): 100 seeded simulations of 20,000 votes by 2,000 voters in 128 clusters."""
    true = truth(THETA8)
    covered = total = 0
    for sim in range(100):
        rng = np.random.default_rng(5000 + sim)
        votes, _ = simulate(rng, THETA8, 20_000, 2000)
        arrival = np.unique(votes.voter, return_index=True)[1]   # first vote of each voter
        number = np.empty(votes.voter.max() + 1, np.int64)
        number[np.unique(votes.voter)[np.argsort(arrival)]] = np.arange(len(arrival))
        clustered = bt.Votes(votes.models, number[votes.voter] % 128, votes.a, votes.b,
                             votes.outcome, votes.count, votes.weight)
        assert clustered.n_voters == 128
        board = bt.leaderboard(clustered, bootstrap=200, seed=sim)
        for r in board.ratings:
            t = true[votes.models.index(r.model)]
            covered += r.ci[0] <= t <= r.ci[1]
            total += 1
    assert 0.90 <= covered / total <= 0.98, covered / total


def test_resampling_votes_instead_of_voters_would_be_too_narrow():
    """The same data with every vote its own voter: the intervals shrink, which is why the
    leaderboard resamples voters (their votes are correlated by taste)."""
    rng = np.random.default_rng(7)
    votes, _ = simulate(rng, THETA8, 50_000, 300)
    by_voter = bt.leaderboard(votes, bootstrap=300, seed=2)
    as_votes = bt.Votes(votes.models, np.arange(len(votes.voter)), votes.a, votes.b,
                        votes.outcome, votes.count, votes.weight)
    by_vote = bt.leaderboard(as_votes, bootstrap=300, seed=2)
    width = lambda board: np.mean([r.ci[1] - r.ci[0] for r in board.ratings])
    assert width(by_voter) > 1.3 * width(by_vote)


def _choix_ratings(votes: bt.Votes) -> np.ndarray:
    k = len(votes.models)
    score_a = votes.weight * bt.SCORE_A[votes.outcome]
    comp = np.zeros((k, k))
    np.add.at(comp, (votes.a, votes.b), score_a)
    np.add.at(comp, (votes.b, votes.a), votes.weight - score_a)
    params = choix.ilsr_pairwise_dense(comp, alpha=0.0, max_iter=10_000, tol=1e-12)
    return bt.to_scale(params)


def test_equals_choix_maximum_likelihood_within_half_a_point():
    rng = np.random.default_rng(3)
    votes, _ = simulate(rng, THETA8, 50_000, 800)
    ours = bt.leaderboard(votes, bootstrap=0)
    got = np.array([{r.model: r.rating for r in ours.ratings}[m] for m in votes.models])
    assert np.abs(got - _choix_ratings(votes)).max() < 0.5


def test_equals_choix_on_aggregated_weighted_rows_with_ties():
    """A tiny fixed set of aggregated rows with weights (as SQL's GROUP BY gives them)."""
    rows = [("ann", "gpt", "llama", "model_a", 30, 30.0), ("ann", "gpt", "llama", "tie", 10, 10.0),
            ("bob", "llama", "gpt", "model_a", 12, 24.0), ("bob", "qwen", "gpt", "model_b", 20, 20.0),
            ("cy", "qwen", "llama", "tie (bothbad)", 8, 8.0), ("cy", "qwen", "llama", "model_a", 9, 9.0),
            ("cy", "llama", "qwen", "model_a", 14, 14.0), ("bob", "gpt", "qwen", "model_b", 5, 5.0)]
    votes = bt.Votes.from_rows(rows)
    assert votes.models == ("gpt", "llama", "qwen")
    got = np.array([{r.model: r.rating for r in bt.leaderboard(votes, bootstrap=0).ratings}[m]
                    for m in votes.models])
    assert np.abs(got - _choix_ratings(votes)).max() < 0.5
    # duplicating a vote is the same as giving it weight 2
    doubled = bt.Votes.from_rows([(*r[:4], r[4], r[5] * 2) for r in rows])
    again = np.array([{r.model: r.rating for r in bt.leaderboard(doubled, bootstrap=0).ratings}[m]
                      for m in votes.models])
    assert np.abs(again - got).max() < 0.2


def test_rank_is_one_plus_models_clearly_above():
    lo = np.array([1050.0, 1040.0, 990.0, 900.0])
    hi = np.array([1080.0, 1060.0, 1045.0, 960.0])
    assert bt.ranks(lo, hi).tolist() == [1, 1, 2, 4]


def test_pair_matrices_count_ties_as_half():
    votes = bt.Votes.from_rows([("v", "x", "y", "model_a", 3, 3.0), ("v", "y", "x", "tie", 2, 2.0),
                                ("v", "y", "x", "model_a", 1, 1.0)])
    rate, n = bt.pair_matrices(votes)
    assert n.tolist() == [[0, 6], [6, 0]]
    assert rate[0, 1] == pytest.approx(4 / 6) and rate[1, 0] == pytest.approx(2 / 6)
    assert np.isnan(rate[0, 0])


def _style_sim(rng, theta, verbose, n_votes, n_voters, gamma_len):
    votes, _ = simulate(rng, theta, n_votes, n_voters)
    k = len(theta)
    mean_len = np.full(k, 400.0)
    if verbose is not None:
        mean_len[verbose] = 1400.0
    length = rng.lognormal(np.log(mean_len)[None, :], 0.4, (n_votes, k))
    la, lb = length[np.arange(n_votes), votes.a], length[np.arange(n_votes), votes.b]
    extra = rng.poisson(2.0, (n_votes, 6)).astype(float)     # headers, lists, bold: no effect
    fa = np.column_stack([la, extra[:, :3]])
    fb = np.column_stack([lb, extra[:, 3:]])
    z = style_control.style_covariates(fa, fb)
    # re-draw the outcome from the style-control model itself (no ties, no voter tastes, so the
    # true ratings are exactly to_scale(theta)), with a planted preference for longer answers
    eta = theta[votes.a] - theta[votes.b] + gamma_len * z[:, 0]
    outcome = np.where(rng.random(n_votes) < 1 / (1 + np.exp(-eta)), 0, 1)
    return bt.Votes(votes.models, votes.voter, votes.a, votes.b, outcome, votes.count,
                    votes.weight, fa, fb)


def test_style_control_removes_a_planted_length_bias():
    """m6 is second worst in substance but answers at three times the length, and voters prefer
    the longer answer: plainly it climbs the board; controlled for style it drops back."""
    theta = THETA8
    verbose = 6
    votes = _style_sim(np.random.default_rng(11), theta, verbose, 50_000, 800, gamma_len=0.8)
    plain = bt.leaderboard(votes, bootstrap=200, seed=3)
    styled = style_control.style_leaderboard(votes, bootstrap=200, seed=3)
    order_plain = [r.model for r in plain.ratings]
    order_styled = [r.model for r in styled.ratings]
    assert order_plain.index("m6") <= 3                  # long answers carry it up
    assert order_styled.index("m6") == 6                 # back where its substance is
    est = np.array([{r.model: r.rating for r in styled.ratings}[m] for m in votes.models])
    assert spearman(est, theta) >= 0.95
    true = bt.to_scale(theta)
    r6 = next(r for r in styled.ratings if r.model == "m6")
    assert abs(r6.rating - true[verbose]) < 30 and r6.ci[0] - 10 < true[verbose] < r6.ci[1] + 10
    assert styled.coefficients["length"] == pytest.approx(0.8, abs=0.08)
    assert abs(styled.coefficients["headers"]) < 0.05


def test_style_fit_equals_scipy_minimisation_of_the_same_likelihood():
    """Reference: the penalised log-likelihood minimised by scipy's L-BFGS, as FastChat does."""
    votes = _style_sim(np.random.default_rng(5), THETA8[:5], 2, 4_000, 100, gamma_len=0.5)
    theta, gamma = style_control.fit_style(votes)
    z = style_control.style_covariates(votes.features_a, votes.features_b)
    k = 5
    y = bt.SCORE_A[votes.outcome]

    def loss(x):
        eta = x[votes.a] - x[votes.b] + z @ x[k:]
        p = 1 / (1 + np.exp(-eta))
        r = y - p
        g = np.concatenate([np.bincount(votes.a, r, k) - np.bincount(votes.b, r, k), z.T @ r])
        g -= bt.RIDGE * x
        nll = -(y * np.log(p) + (1 - y) * np.log1p(-p)).sum() + bt.RIDGE / 2 * (x ** 2).sum()
        return nll, -g

    ref = minimize(loss, np.zeros(k + 4), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 10_000}).x
    ref_theta = ref[:k] - ref[:k].mean()
    assert np.abs(bt.to_scale(theta) - bt.to_scale(ref_theta)).max() < 0.5
    assert np.abs(np.array(list(gamma.values())) - ref[k:]).max() < 1e-3


def test_style_intervals_match_plain_ones_when_style_does_not_matter():
    """No model is verbose and length does not sway voters: the one-step voter bootstrap of the
    style-controlled fit must give the same intervals as the full voter bootstrap of the plain one."""
    votes = _style_sim(np.random.default_rng(9), THETA8, None, 30_000, 400, gamma_len=0.0)
    plain = bt.leaderboard(votes, bootstrap=400, seed=4)
    styled = style_control.style_leaderboard(votes, bootstrap=400, seed=4)
    for p in plain.ratings:
        s = next(r for r in styled.ratings if r.model == p.model)
        assert abs(s.rating - p.rating) < 8
        ratio = (s.ci[1] - s.ci[0]) / (p.ci[1] - p.ci[0])
        assert 0.75 < ratio < 1.35, (p.model, ratio)


def test_active_sampling_probabilities_and_weights_keep_estimates_unbiased():
    lo = np.array([1100.0, 1000.0, 990.0, np.nan])
    hi = np.array([1150.0, 1020.0, 1010.0, np.nan])
    probs = bt.pair_probabilities(lo, hi, active=True)
    assert probs.sum() == pytest.approx(1.0)
    assert probs.min() >= 0.5 / 6 - 1e-12
    i, j = np.triu_indices(4, 1)
    p01 = probs[(i == 0) & (j == 1)][0]
    p12 = probs[(i == 1) & (j == 2)][0]
    assert p12 > p01                                     # overlapping pair drawn more often
    assert bt.pair_probabilities(lo, hi, active=False) == pytest.approx(np.full(6, 1 / 6))
    # votes drawn actively, weighted by 1 / probability, estimate the same ratings
    rng = np.random.default_rng(21)
    theta = THETA8[:4]
    skewed = np.array([0.4, 0.05, 0.05, 0.3, 0.1, 0.1])
    votes, _ = simulate(rng, theta, 60_000, 600, pair_probs=skewed)
    weighted = bt.leaderboard(votes, bootstrap=200, seed=5)
    true = truth(theta)
    for r in weighted.ratings:
        t = true[votes.models.index(r.model)]
        assert r.ci[0] - 5 <= t <= r.ci[1] + 5


def test_no_votes_and_one_sided_records_stay_finite():
    empty = bt.Votes.from_rows([], models=["x", "y"])
    board = bt.leaderboard(empty)
    assert [r.rating for r in board.ratings] == [1000.0, 1000.0] and board.votes == 0
    one_sided = bt.Votes.from_rows([("v", "x", "y", "model_a", 5, 5.0),
                                    ("w", "y", "x", "model_b", 2, 2.0)])
    board = bt.leaderboard(one_sided, bootstrap=100)
    assert all(np.isfinite(r.rating) and np.isfinite(r.ci[0]) for r in board.ratings)
    assert board.ratings[0].model == "x"
    # one voter: resampling voters cannot say how sure the ratings are, so no interval
    single = bt.leaderboard(bt.Votes.from_rows([("v", "x", "y", "model_a", 5, 5.0)]))
    assert all(np.isnan(r.ci[0]) and r.rank == 1 for r in single.ratings)
    assert single.to_dict()["models"][0]["ci"] == [None, None]
    assert single.to_dict()["voters"] == 1

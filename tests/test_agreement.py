"""Agreement statistics: Krippendorff's published example, the bootstrap against the package,
interval coverage on simulated raters, Cohen's kappa against statsmodels."""

from __future__ import annotations

import itertools

import krippendorff
import numpy as np
import pytest

from chatfeedback.stats import agreement as ag

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four
# observers (rows) x twelve units (columns), None where an observer gave no value.
PAPER = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
DOMAIN = [1, 2, 3, 4, 5]


def judgements(matrix):
    items, raters, values = [], [], []
    for r, row in enumerate(matrix):
        for u, value in enumerate(row):
            if value is not None:
                items.append(f"u{u:02d}")
                raters.append(f"observer{r}")
                values.append(value)
    return items, raters, values


@pytest.mark.parametrize(("level", "published"), [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_alpha_equals_the_papers_worked_example(level, published):
    items, raters, values = judgements(PAPER)
    result = ag.agreement(items, raters, values, domain=DOMAIN, level=level)
    assert round(result.alpha, 3) == published
    # unit 12 has one value only: it is not pairable, the other 11 units are
    assert result.items == 11 and result.judgements == 40 and result.raters == 4
    assert result.low < result.alpha < result.high


def test_nominal_alpha_by_hand():
    """The nominal example computed from the coincidence matrix by the paper's formula,
    independently of both implementations: alpha = 1 - (n-1) * D_o / D_e."""
    items, _, values = judgements(PAPER)
    _, counts = ag.value_counts(items, values, DOMAIN)
    o = np.zeros((5, 5))
    for row in counts:
        m = row.sum()
        for c, k in itertools.product(range(5), repeat=2):
            o[c, k] += (row[c] * (row[k] - (c == k))) / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    assert n == 40
    observed = n - np.trace(o)
    expected = (n * n - (n_c ** 2).sum()) / (n - 1)
    assert round(1 - observed / expected, 3) == 0.743


@pytest.mark.parametrize("level", ag.LEVELS)
def test_each_bootstrap_replicate_equals_the_package_on_that_resample(level):
    """The vectorised replicates are exactly alpha of resampled items (by the package)."""
    rng = np.random.default_rng(7)
    counts = rng.multinomial(3, [0.5, 0.2, 0.2, 0.1], size=40)
    domain = [1, 2, 4, 8]
    # the same seed draws the same multinomial over the distinct rows; rebuild resamples
    rows, weights = np.unique(counts, axis=0, return_counts=True)
    draws = np.random.default_rng(3).multinomial(len(counts), weights / len(counts), size=5)
    fast = ag.bootstrap_alphas(counts, domain, level, replicates=5, seed=3)
    for draw, value in zip(draws, fast, strict=True):
        resample = np.repeat(rows, draw, axis=0)
        expected = krippendorff.alpha(value_counts=resample,
                                      value_domain=ag._numeric(domain, level),
                                      level_of_measurement=level)
        assert value == pytest.approx(expected, abs=1e-12)


def simulate(rng, items, raters_per_item, quality, categories):
    """Each item has a true category (uniform); a rater reports it with probability
    ``quality``, else a uniformly random category. Alpha's population value is quality**2
    at every level when the truth is uniform (nominal and interval alike)."""
    truth = rng.integers(categories, size=items)
    keep = rng.random((items, raters_per_item)) < quality
    noise = rng.integers(categories, size=(items, raters_per_item))
    values = np.where(keep, truth[:, None], noise)
    counts = np.zeros((items, categories), dtype=np.int64)
    for j in range(raters_per_item):
        np.add.at(counts, (np.arange(items), values[:, j]), 1)
    return counts


@pytest.mark.parametrize("level", ["nominal", "interval"])
def test_bootstrap_interval_covers_the_true_alpha_at_about_the_nominal_rate(level):
    rng = np.random.default_rng(20261201)
    quality, runs = 0.8, 300
    true_alpha = quality ** 2
    covered = 0
    domain = [1, 2, 3, 4, 5]
    for _ in range(runs):
        counts = simulate(rng, items=150, raters_per_item=2, quality=quality, categories=5)
        low, high = ag.alpha_interval(counts, domain, level, replicates=400,
                                      seed=int(rng.integers(1 << 31)))
        covered += low <= true_alpha <= high
    # 95 % nominal; with 300 runs the binomial sd is 1.3 points
    assert 0.91 <= covered / runs <= 0.985, covered / runs


def test_interval_narrows_with_more_items():
    rng = np.random.default_rng(1)
    small = simulate(rng, 50, 2, 0.8, 3)
    large = simulate(rng, 2000, 2, 0.8, 3)
    lo_s, hi_s = ag.alpha_interval(small, [0, 1, 2], "nominal")
    lo_l, hi_l = ag.alpha_interval(large, [0, 1, 2], "nominal")
    assert hi_l - lo_l < (hi_s - lo_s) / 3


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_equals_statsmodels(weights):
    from statsmodels.stats.inter_rater import cohens_kappa

    rng = np.random.default_rng(11)
    for _ in range(20):
        table = rng.integers(0, 30, size=(4, 4))
        ours = ag.cohen_kappa(table, weights)
        theirs = cohens_kappa(table, wt=weights).kappa
        assert ours == pytest.approx(theirs, abs=1e-12)


def test_kappa_per_pair_of_raters():
    # a and b agree on 3 of 4 items, c judged only items 3 and 4
    items = ["1", "1", "2", "2", "3", "3", "3", "4", "4", "4"]
    raters = ["a", "b", "a", "b", "a", "b", "c", "a", "b", "c"]
    values = [1, 1, 0, 0, 1, 0, 1, 0, 0, 1]
    pairs = {(p.rater_a, p.rater_b): p for p in ag.pair_kappas(items, raters, values,
                                                                 [0, 1], "nominal")}
    assert set(pairs) == {("a", "b"), ("a", "c"), ("b", "c")}
    ab = pairs[("a", "b")]
    assert ab.items == 4
    # table [[2, 0], [1, 1]]: p_o = .75, p_e = (2*3 + 2*1)/16 = .5, kappa = .5
    assert ab.kappa == pytest.approx(0.5)
    # b said 0 twice, c said 1 twice: never agreeing, no better than chance
    assert pairs[("b", "c")].items == 2 and pairs[("b", "c")].kappa == pytest.approx(0.0)
    # both always saying the same single value: chance agreement is 1, kappa undefined
    same = ag.pair_kappas(["1", "1", "2", "2"], ["a", "b", "a", "b"], [1, 1, 1, 1], [0, 1],
                          "nominal")
    assert same[0].kappa is None


def test_widest_disagreements_come_first():
    items = ["x", "x", "y", "y", "z", "z", "w"]
    values = [1, 5, 2, 3, 4, 4, 1]
    raters = ["a", "b", "a", "b", "a", "b", "a"]
    result = ag.agreement(items, raters, values, domain=DOMAIN, level="interval")
    assert [d.item for d in result.widest] == ["x", "y"]  # z agrees, w is unpaired
    assert result.widest[0].values == (1, 5)
    assert result.widest[0].spread == pytest.approx(16.0)


def test_undefined_alpha_is_none_not_an_error():
    result = ag.agreement(["a", "a", "b", "b"], ["r", "s", "r", "s"], [1, 1, 1, 1],
                          domain=[0, 1], level="nominal")
    assert result.alpha is None and result.low is None and result.widest == ()
    assert ag.agreement([], [], [], domain=[0, 1], level="nominal").alpha is None


def test_a_value_outside_the_domain_is_refused():
    with pytest.raises(ValueError, match="not one of"):
        ag.agreement(["a", "a"], ["r", "s"], [1, 7], domain=[0, 1], level="nominal")

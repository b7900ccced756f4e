"""Wilson interval and two-proportion z-test against published values and R."""

import pytest

from chatfeedback.stats.proportions import two_proportion, wilson


@pytest.mark.parametrize("k, n, low, high", [
    (81, 263, 0.2553, 0.3662),   # Newcombe (1998), Statistics in Medicine 17:857, table I
    (15, 148, 0.0624, 0.1605),
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
])
def test_wilson_matches_published_values(k, n, low, high):
    got = wilson(k, n)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_wilson_of_nothing_is_everything():
    assert wilson(0, 0) == (0.0, 1.0)


def test_two_proportion_matches_r_prop_test():
    # R: prop.test(c(15, 25), c(50, 50), correct = FALSE)
    #    X-squared = 4.1667, df = 1, p-value = 0.04123
    z, p = two_proportion(15, 50, 25, 50)
    assert z * z == pytest.approx(4.1667, abs=1e-4)
    assert p == pytest.approx(0.04123, abs=1e-5)
    # identical proportions: no difference at all
    assert two_proportion(30, 60, 50, 100) == (0.0, 1.0)

"""Agreement between raters: Krippendorff's alpha with a bootstrap interval, Cohen's kappa per
pair of raters, and the items they disagree on most. Pure functions over judgements.

Alpha itself comes from the ``krippendorff`` package (PyPI, Santiago Castro's implementation
of Krippendorff 2011). The bootstrap resamples items: every item contributes a fixed row of
value counts, so items are grouped by that row and a resample is a multinomial draw of how
often each distinct row is taken; every replicate's coincidence matrix is then one matrix
product, with no Python loop over replicates or items.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import krippendorff
import numpy as np

LEVELS = ("nominal", "ordinal", "interval")


@dataclass(frozen=True)
class PairKappa:
    """Cohen's kappa of two raters over the items both judged (None: undefined)."""

    rater_a: str
    rater_b: str
    items: int
    kappa: float | None


@dataclass(frozen=True)
class Disagreement:
    """One item's values and their mean pairwise distance (alpha's metric, 0 = all agree)."""

    item: Hashable
    spread: float
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Agreement:
    """Alpha with its bootstrap interval (None where undefined), kappa per rater pair, and
    the items with the widest disagreement first."""

    level: str
    alpha: float | None
    low: float | None
    high: float | None
    items: int          # items with at least two judgements (pairable)
    judgements: int     # judgements on those items
    raters: int
    pairs: tuple[PairKappa, ...]
    widest: tuple[Disagreement, ...]


def value_counts(items: Sequence[Hashable], values: Sequence[Any],
                 domain: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """The pairable items (two or more values) and their value counts (items x domain)."""
    if len(items) != len(values):
        raise ValueError("items and values must have the same length")
    item_ids, item_index = _codes(items)
    return _value_counts(item_ids, item_index, _domain_index(values, domain), len(domain))


def _value_counts(item_ids: np.ndarray, item_index: np.ndarray, value_index: np.ndarray,
                  size: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.zeros((len(item_ids), size), dtype=np.int64)
    np.add.at(counts, (item_index, value_index), 1)
    keep = counts.sum(axis=1) >= 2
    return item_ids[keep], counts[keep]


def alpha(counts: np.ndarray, domain: Sequence[Any], level: str) -> float | None:
    """Krippendorff's alpha of value counts (items x domain), by the ``krippendorff``
    package; None when it is undefined (fewer than two items, or one value only)."""
    _check_level(level)
    counts = np.asarray(counts)
    if counts.shape[0] < 1 or np.count_nonzero(counts.sum(axis=0)) < 2:
        return None
    value = krippendorff.alpha(value_counts=counts, value_domain=_numeric(domain, level),
                               level_of_measurement=level)
    return None if not np.isfinite(value) else float(value)


def bootstrap_alphas(counts: np.ndarray, domain: Sequence[Any], level: str, *,
                     replicates: int = 1000, seed: int | None = 0) -> np.ndarray:
    """Alpha of ``replicates`` resamples of the items (with replacement), vectorised;
    NaN for a resample where alpha is undefined."""
    _check_level(level)
    counts = np.asarray(counts, dtype=np.int64)
    n_items, n_values = counts.shape
    if n_items == 0:
        return np.full(replicates, np.nan)
    rows, weights = np.unique(counts, axis=0, return_counts=True)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n_items, weights / n_items, size=replicates)  # B x patterns
    unit = _unit_coincidences(rows).reshape(len(rows), n_values * n_values)
    coincidences = (draws @ unit).reshape(replicates, n_values, n_values)
    return _alpha_of_coincidences(coincidences, _numeric(domain, level), level)


def alpha_interval(counts: np.ndarray, domain: Sequence[Any], level: str, *,
                   confidence: float = 0.95, replicates: int = 1000,
                   seed: int | None = 0) -> tuple[float | None, float | None]:
    """The percentile bootstrap interval of alpha, resampling items."""
    boots = bootstrap_alphas(counts, domain, level, replicates=replicates, seed=seed)
    boots = boots[np.isfinite(boots)]
    if len(boots) < replicates / 2:
        return None, None
    tail = (1 - confidence) / 2
    low, high = np.quantile(boots, [tail, 1 - tail])
    return float(low), float(high)


def cohen_kappa(table: np.ndarray, weights: str | None = None) -> float | None:
    """Cohen's kappa of a square table of counts (rows: rater A's category, columns: B's).
    ``weights``: None (unweighted), "linear" or "quadratic" in the category index, as in
    statsmodels' ``cohens_kappa(table, wt=...)``. None when undefined (one category only)."""
    table = np.asarray(table, dtype=float)
    n = table.sum()
    if n == 0:
        return None
    index = np.arange(table.shape[0])
    distance = np.abs(index[:, None] - index[None, :]).astype(float)
    w = {None: (distance > 0).astype(float), "linear": distance,
         "quadratic": distance ** 2}[weights]
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chance = (w * expected).sum()
    if chance == 0:
        return None
    return float(1 - (w * table).sum() / chance)


KAPPA_WEIGHTS = {"nominal": None, "ordinal": "linear", "interval": "quadratic"}


def pair_kappas(items: Sequence[Hashable], raters: Sequence[str], values: Sequence[Any],
                domain: Sequence[Any], level: str) -> list[PairKappa]:
    """Cohen's kappa for every pair of raters who judged at least one item in common
    (weighted linearly for ordinal, quadratically for interval criteria)."""
    _check_level(level)
    item_ids, item_index = _codes(items)
    rater_ids, rater_index = _codes(raters)
    return _pair_kappas(len(item_ids), rater_ids, rater_index, item_index,
                        _domain_index(values, domain), len(domain), level)


def _pair_kappas(n_items: int, rater_ids: np.ndarray, rater_index: np.ndarray,
                 item_index: np.ndarray, value_index: np.ndarray, v: int,
                 level: str) -> list[PairKappa]:
    grid = np.full((len(rater_ids), n_items), -1, dtype=np.int64)
    grid[rater_index, item_index] = value_index
    judged = grid >= 0
    shared = judged.astype(np.int64) @ judged.T.astype(np.int64)
    order = np.argsort(rater_ids)
    out = []
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            if shared[a, b] == 0:
                continue
            both = judged[a] & judged[b]
            table = np.bincount(grid[a, both] * v + grid[b, both],
                                minlength=v * v).reshape(v, v)
            out.append(PairKappa(str(rater_ids[a]), str(rater_ids[b]), int(shared[a, b]),
                                 cohen_kappa(table, KAPPA_WEIGHTS[level])))
    return out


def widest_disagreements(item_ids: np.ndarray, counts: np.ndarray, domain: Sequence[Any],
                         level: str, limit: int = 20) -> list[Disagreement]:
    """The items whose values are furthest apart (mean pairwise distance in alpha's
    metric), widest first; items whose values all agree are left out."""
    counts = np.asarray(counts, dtype=float)
    if len(counts) == 0:
        return []
    delta = _distances(counts.sum(axis=0)[None, :], _numeric(domain, level), level)[0]
    m = counts.sum(axis=1)
    spread = (counts * (counts @ delta)).sum(axis=1) / (m * (m - 1))
    order = np.lexsort((item_ids, -spread))
    out = []
    for i in order[:limit]:
        if spread[i] <= 0:
            break
        values = tuple(value for value, n in zip(domain, counts[i], strict=True)
                       for _ in range(int(n)))
        item = item_ids[i]
        out.append(Disagreement(item.item() if isinstance(item, np.generic) else item,
                                float(spread[i]), values))
    return out


def agreement(items: Sequence[Hashable], raters: Sequence[str], values: Sequence[Any], *,
              domain: Sequence[Any], level: str, replicates: int = 1000,
              seed: int | None = 0, widest: int = 20) -> Agreement:
    """Everything the agreement page shows for one criterion, from its judgements
    (parallel sequences: the item, the rater and the value of each judgement)."""
    _check_level(level)
    if not len(items) == len(raters) == len(values):
        raise ValueError("items, raters and values must have the same length")
    all_items, item_index = _codes(items)
    rater_ids, rater_index = _codes(raters)
    value_index = _domain_index(values, domain)
    item_ids, counts = _value_counts(all_items, item_index, value_index, len(domain))
    point = alpha(counts, domain, level)
    low, high = (alpha_interval(counts, domain, level, replicates=replicates, seed=seed)
                 if point is not None else (None, None))
    pairs = _pair_kappas(len(all_items), rater_ids, rater_index, item_index, value_index,
                         len(domain), level)
    return Agreement(level=level, alpha=point, low=low, high=high, items=len(item_ids),
                     judgements=int(counts.sum()), raters=len(rater_ids), pairs=tuple(pairs),
                     widest=tuple(widest_disagreements(item_ids, counts, domain, level,
                                                       widest)))


# ------------------------------------------------------------------------------ internals
def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")


def _numeric(domain: Sequence[Any], level: str) -> np.ndarray:
    """The domain as the package needs it: numbers for interval, positions otherwise."""
    if level == "interval":
        return np.asarray(domain, dtype=float)
    return np.arange(len(domain))


def _codes(values: Sequence[Hashable]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values (in order of first appearance) and each value's index among
    them: a hash pass, far cheaper than sorting 100,000 strings."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        return np.unique(values, return_inverse=True)
    index: dict[Hashable, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int64,
                        count=len(values))
    distinct = np.empty(len(index), dtype=object)
    distinct[:] = list(index)
    return distinct, codes


def _domain_index(values: Sequence[Any], domain: Sequence[Any]) -> np.ndarray:
    position = {value: index for index, value in enumerate(domain)}
    try:
        return np.fromiter((position[v] for v in values), dtype=np.int64, count=len(values))
    except KeyError as exc:
        raise ValueError(f"value {exc.args[0]!r} is not one of {list(domain)}") from None


def _unit_coincidences(rows: np.ndarray) -> np.ndarray:
    """Each item's contribution to the coincidence matrix (Krippendorff 2011, eq. for o_ck):
    n_uc * n_uk (minus n_uc on the diagonal) / (m_u - 1)."""
    rows = rows.astype(float)
    pairs = rows[:, :, None] * rows[:, None, :]
    pairs -= rows[:, :, None] * np.eye(rows.shape[1])[None]
    return pairs / (rows.sum(axis=1) - 1)[:, None, None]


def _distances(n_v: np.ndarray, domain: np.ndarray, level: str) -> np.ndarray:
    """Squared distances delta_ck (B x V x V) for marginal counts ``n_v`` (B x V)."""
    size = len(domain)
    if level == "nominal":
        return np.broadcast_to(1.0 - np.eye(size), (len(n_v), size, size))
    if level == "interval":
        diff = domain[:, None] - domain[None, :]
        return np.broadcast_to(diff ** 2, (len(n_v), size, size))
    # ordinal: (sum of n_g for g from c to k, minus (n_c + n_k) / 2) squared
    cum = np.concatenate([np.zeros((len(n_v), 1)), np.cumsum(n_v, axis=1)], axis=1)
    lo = np.minimum.outer(np.arange(size), np.arange(size))
    hi = np.maximum.outer(np.arange(size), np.arange(size))
    between = cum[:, hi + 1] - cum[:, lo]
    return (between - (n_v[:, :, None] + n_v[:, None, :]) / 2) ** 2


def _alpha_of_coincidences(coincidences: np.ndarray, domain: np.ndarray,
                           level: str) -> np.ndarray:
    """alpha = 1 - (n - 1) * sum(o * delta) / sum(n_c * n_k * delta), per replicate."""
    n_v = coincidences.sum(axis=2)
    n = n_v.sum(axis=1)
    delta = _distances(n_v, domain, level)
    observed = (coincidences * delta).sum(axis=(1, 2))
    expected = (n_v[:, :, None] * n_v[:, None, :] * delta).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        result = 1 - (n - 1) * observed / expected
    result[~np.isfinite(result) | (expected <= 0)] = np.nan
    return result

"""Small-sample statistics: bootstrap CI of the median, a rank test, an effect size.

Repetitions are few (3 to 10) and latencies are skewed, so every statistic here is rank- or
resampling-based. ``inf`` (never happened) is a legitimate value: it ranks last.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def finite_or_inf(values: FloatArray) -> FloatArray:
    """The values without NaN (``inf`` kept)."""
    array: FloatArray = np.asarray(values, dtype="float64")
    kept: FloatArray = array[~np.isnan(array)]
    return kept


def bootstrap_median_ci(
    values: FloatArray, *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the median, as ``(low, high)``.

    NaN values are dropped; ``(nan, nan)`` for no value, ``(v, v)`` for one. The bounds are
    observed resampled medians (no interpolation), so ``inf`` values stay ``inf``. The seed
    makes a report reproducible.
    """
    data = finite_or_inf(values)
    if data.size == 0:
        return math.nan, math.nan
    if data.size == 1:
        return float(data[0]), float(data[0])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, data.size, size=(resamples, data.size))
    samples = np.sort(data[picks], axis=1)
    mid = data.size // 2
    if data.size % 2:
        medians = samples[:, mid]
    else:
        with np.errstate(invalid="ignore"):
            medians = np.where(
                np.isinf(samples[:, mid]),
                samples[:, mid],
                (samples[:, mid - 1] + samples[:, mid]) / 2,
            )
    alpha = (1.0 - confidence) / 2.0
    low = np.quantile(medians, alpha, method="inverted_cdf")
    high = np.quantile(medians, 1.0 - alpha, method="inverted_cdf")
    return float(low), float(high)


def median(values: FloatArray) -> float:
    """Median ignoring NaN; ``inf`` counts as the largest value; NaN when empty."""
    data = np.sort(finite_or_inf(values))
    if data.size == 0:
        return math.nan
    mid = data.size // 2
    if data.size % 2 or math.isinf(data[mid]):
        return float(data[mid])
    return float((data[mid - 1] + data[mid]) / 2)


@dataclass(frozen=True)
class RankTest:
    """Mann-Whitney U of ``x`` against ``y`` with Cliff's delta as its effect size."""

    p_value: float
    """Two-sided p-value; NaN when either side has no value."""
    cliffs_delta: float
    """P(x > y) − P(x < y), in [-1, 1]; positive when ``x`` tends to be larger."""


def rank_test(x: FloatArray, y: FloatArray) -> RankTest:
    """Two-sided Mann-Whitney U test and Cliff's delta; NaN values dropped, ``inf`` ranks last.

    The p-value is the exact permutation distribution of the rank sum (ties get mid-ranks)
    when the pooled sample has at most EXACT_LIMIT splits, else the tie-corrected normal
    approximation. Identical samples give p = 1. (Implemented with numpy alone: importing
    scipy.stats costs more time than a whole report.)
    """
    a, b = finite_or_inf(x), finite_or_inf(y)
    if a.size == 0 or b.size == 0:
        return RankTest(math.nan, math.nan)
    greater = float(np.sum(a[:, None] > b[None, :]))
    less = float(np.sum(a[:, None] < b[None, :]))
    delta = (greater - less) / (a.size * b.size)
    # Ranks only: map inf to a finite value above every finite one so scipy can rank it.
    ceiling = _finite_ceiling(a, b)
    a_ranked, b_ranked = np.where(np.isinf(a), ceiling, a), np.where(np.isinf(b), ceiling, b)
    pooled = np.concatenate([a_ranked, b_ranked])
    if np.all(pooled == pooled[0]):
        return RankTest(1.0, 0.0)
    if math.comb(pooled.size, a.size) <= EXACT_LIMIT:
        return RankTest(_exact_p_value(pooled, a.size), delta)
    return RankTest(_normal_p_value(pooled, a.size), delta)


EXACT_LIMIT = 20_000
"""Up to this many splits of the pooled sample the p-value is computed exactly."""


def _exact_p_value(pooled: FloatArray, n_x: int) -> float:
    """Exact two-sided permutation p-value of the rank sum, valid with ties (mid-ranks)."""
    ranks = midranks(pooled)
    splits = np.array(list(itertools.combinations(range(pooled.size), n_x)), dtype="int64")
    sums = ranks[splits].sum(axis=1)
    centre = n_x * (pooled.size + 1) / 2.0
    observed = abs(float(ranks[:n_x].sum()) - centre)
    return float(np.mean(np.abs(sums - centre) >= observed - 1e-9))


def _normal_p_value(pooled: FloatArray, n_x: int) -> float:
    """Two-sided p-value of the rank sum by the normal approximation with tie correction and
    continuity correction (as scipy's ``mannwhitneyu(method="asymptotic")``)."""
    n = pooled.size
    n_y = n - n_x
    ranks = midranks(pooled)
    u = float(ranks[:n_x].sum()) - n_x * (n_x + 1) / 2.0
    _, counts = np.unique(pooled, return_counts=True)
    ties = float(np.sum(counts**3 - counts)) / (n * (n - 1))
    sigma = math.sqrt(n_x * n_y / 12.0 * ((n + 1) - ties))
    if sigma == 0:
        return 1.0
    z = (abs(u - n_x * n_y / 2.0) - 0.5) / sigma
    return min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2.0)))


def midranks(values: FloatArray) -> FloatArray:
    """Ranks from 1, ties sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    bounds = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1], [True]]))
    ranks: FloatArray = np.empty(values.size, dtype="float64")
    for start, stop in itertools.pairwise(bounds):
        ranks[order[start:stop]] = (start + 1 + stop) / 2.0
    return ranks


def _finite_ceiling(a: FloatArray, b: FloatArray) -> float:
    finite = np.concatenate([a[np.isfinite(a)], b[np.isfinite(b)]])
    top = float(np.max(np.abs(finite))) if finite.size else 0.0
    return top * 2.0 + 1.0


def smallest_p_value(n_x: int, n_y: int) -> float:
    """The smallest two-sided p-value an exact rank test can reach with these sample sizes.

    With 3 repetitions against 3 it is 0.1: such a comparison can never pass α = 0.05.
    """
    if n_x < 1 or n_y < 1:
        return 1.0
    return min(1.0, 2.0 / math.comb(n_x + n_y, n_x))

import math

import numpy as np
import pandas as pd
import pytest

from hpalab.analysis.comparison import choose_baseline, compare, variant_verdicts
from hpalab.analysis.statistics import (
    bootstrap_median_ci,
    median,
    rank_test,
    smallest_p_value,
)
from hpalab.results.schema import COMPARISON


def _summary(values: dict[str, list[float]], metric: str = "time_to_capacity_s"):
    rows = [
        {"trial_id": f"{v}#{i}", "variant": v, "repetition": i, "status": "complete", metric: x}
        for v, xs in values.items()
        for i, x in enumerate(xs, 1)
    ]
    return pd.DataFrame(rows)


def _row(table, variant, metric="time_to_capacity_s"):
    return table[(table["variant"] == variant) & (table["metric"] == metric)].iloc[0]


def test_clear_separation_gives_better_and_worse():
    table = compare(
        _summary(
            {
                "base": [40, 42, 41, 43, 44],
                "fast": [20, 21, 22, 19, 20],
                "slow": [60, 61, 62, 63, 64],
            }
        ),
        baseline="base",
    )
    assert list(table.columns) == list(COMPARISON.names)
    assert _row(table, "base")["verdict"] == "baseline"
    fast = _row(table, "fast")
    assert fast["verdict"] == "better"
    assert fast["median"] == 20 and fast["diff_vs_baseline"] == -22
    assert fast["effect_size"] == -1.0 and fast["p_value"] < 0.05
    assert fast["ci_low"] <= 20 <= fast["ci_high"]
    assert _row(table, "slow")["verdict"] == "worse"


def test_overlap_or_too_few_repetitions_is_inconclusive():
    overlap = compare(_summary({"a": [1, 5, 3, 7, 2], "b": [2, 6, 4, 3, 5]}), baseline="a")
    assert _row(overlap, "b")["verdict"] == "inconclusive"
    three = compare(_summary({"a": [40, 41, 42], "b": [10, 11, 12]}), baseline="a")
    assert _row(three, "b")["p_value"] == pytest.approx(0.1)
    assert _row(three, "b")["verdict"] == "inconclusive"


def test_never_ranks_worst_and_zero_direction_uses_magnitude():
    table = compare(_summary({"a": [10, 11, 12, 13, 14], "b": [math.inf] * 5}), baseline="a")
    assert _row(table, "b")["verdict"] == "worse"
    assert math.isinf(_row(table, "b")["median"])
    jitter = compare(
        _summary({"a": [-9, 9, -8, 8, 10], "b": [0.1, -0.2, 0.0, 0.3, -0.1]}, "psi_per_min"),
        baseline="a",
    )
    assert _row(jitter, "b", "psi_per_min")["verdict"] == "better"


def test_variant_verdict_lines():
    table = compare(_summary({"a": [40, 42, 41, 43, 44], "b": [20, 21, 22, 19, 20]}), baseline="a")
    lines = variant_verdicts(table, ["time_to_capacity_s", "cost_replica_s"])
    assert lines == {"a": "baseline", "b": "better on 1, worse on 0 of 2"}


def test_baseline_choice():
    assert choose_baseline(["x", "baseline"]) == "baseline"
    assert choose_baseline(["x", "y"]) == "x"
    assert choose_baseline(["x", "y"], "y") == "y"
    with pytest.raises(ValueError, match="unknown baseline"):
        choose_baseline(["x"], "z")
    with pytest.raises(ValueError, match="no variants"):
        choose_baseline([])


def test_statistics_edge_cases():
    assert smallest_p_value(3, 3) == pytest.approx(0.1)
    assert smallest_p_value(5, 5) == pytest.approx(2 / 252)
    assert all(math.isnan(x) for x in bootstrap_median_ci(np.array([np.nan])))
    assert bootstrap_median_ci(np.array([4.0])) == (4.0, 4.0)
    once = bootstrap_median_ci(np.array([1.0, 2, 3, 4, 50]), seed=3)
    assert once == bootstrap_median_ci(np.array([1.0, 2, 3, 4, 50]), seed=3)
    assert median(np.array([1.0, np.inf])) == math.inf
    assert rank_test(np.array([1.0, 1]), np.array([1.0, 1])).p_value == 1.0
    assert math.isnan(rank_test(np.array([]), np.array([1.0])).p_value)
    big = rank_test(np.arange(20.0), np.arange(20.0) + 30)
    assert big.p_value < 0.001 and big.cliffs_delta == -1.0


def test_rank_test_agrees_with_scipy():
    from scipy import stats

    rng = np.random.default_rng(5)
    for n_x, n_y in ((3, 3), (4, 6), (12, 15)):
        x = rng.integers(0, 8, n_x).astype(float)
        y = rng.integers(2, 10, n_y).astype(float)
        ours = rank_test(x, y).p_value
        method = stats.PermutationMethod(n_resamples=100_000) if n_x < 10 else "asymptotic"
        theirs = stats.mannwhitneyu(x, y, alternative="two-sided", method=method).pvalue
        assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-9)


def test_midranks_share_tied_ranks():
    from hpalab.analysis.statistics import midranks

    assert list(midranks(np.array([10.0, 20, 10, 30]))) == [1.5, 3, 1.5, 4]

"""The gate's decision on hand-built summaries: fail, pass, inconclusive, strict."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hpalab.analysis.gate import bootstrap_difference_ci, gate_failed, run_gate
from hpalab.specs.gate import LoadedRule


def _summary(variant: str, **metrics: list[float]) -> pd.DataFrame:
    n = len(next(iter(metrics.values())))
    return pd.DataFrame({"variant": [variant] * n, "status": ["complete"] * n, **metrics})


TTC_10 = LoadedRule("time_to_capacity_s", "time_to_capacity_s", 0.10, True)
SLO_0 = LoadedRule("slo_violation_s", "slo_violation_s", 0.0, False)


def _one(new, old, rule=TTC_10):
    (check,) = run_gate(new, old, [rule])
    return check


def test_clearly_worse_beyond_the_allowance_fails():
    old = _summary("v", time_to_capacity_s=[40, 41, 42, 43, 44])
    new = _summary("v", time_to_capacity_s=[60, 61, 62, 63, 64])
    check = _one(new, old)
    assert check.outcome == "fail"
    assert check.verdict == "worse" and check.p_value < 0.05
    assert check.worsening == 20.0 and check.allowed == pytest.approx(4.2)
    assert check.ci_low > check.allowed
    assert gate_failed([check])


def test_better_or_within_the_allowance_passes():
    old = _summary("v", time_to_capacity_s=[40, 41, 42, 43, 44])
    better = _one(_summary("v", time_to_capacity_s=[30, 31, 32, 33, 34]), old)
    assert better.outcome == "pass" and better.verdict == "better" and better.worsening == -10
    slightly = _one(_summary("v", time_to_capacity_s=[43, 44, 45, 46, 47]), old)
    assert slightly.outcome == "pass"  # 3 s worse, 4.2 s allowed
    assert not gate_failed([better, slightly], strict=True)


def test_worse_at_the_median_without_significance_is_inconclusive_and_strict_fails_it():
    old = _summary("v", time_to_capacity_s=[40, 44])
    new = _summary("v", time_to_capacity_s=[50, 60])  # 2 vs 2 trials: p ≥ 0.33 at best
    check = _one(new, old)
    assert check.outcome == "inconclusive" and check.verdict == "inconclusive"
    assert "rank test does not separate" in check.reason
    assert not gate_failed([check])
    assert gate_failed([check], strict=True)


def test_an_absolute_zero_allowance_and_never_reached_goals():
    old = _summary("v", slo_violation_s=[0, 0, 0, 0, 0], time_to_capacity_s=[30] * 5)
    new = _summary("v", slo_violation_s=[5, 6, 7, 8, 9], time_to_capacity_s=[math.inf] * 5)
    slo, ttc = run_gate(new, old, [SLO_0, TTC_10])
    assert slo.outcome == "fail" and slo.worsening == 7.0 and slo.allowed == 0.0
    assert ttc.outcome == "fail" and math.isinf(ttc.worsening) and math.isinf(ttc.ci_low)


def test_a_variant_missing_from_the_old_run_is_inconclusive():
    old = _summary("a", time_to_capacity_s=[1, 2, 3])
    new = pd.concat(
        [_summary("a", time_to_capacity_s=[1, 2, 3]), _summary("b", time_to_capacity_s=[1])]
    )
    checks = run_gate(new, old, [TTC_10])
    assert [(c.variant, c.outcome) for c in checks] == [("a", "pass"), ("b", "inconclusive")]
    assert "no usable trial with this metric in the old run" in checks[1].reason


def test_the_difference_interval_is_reproducible_and_brackets_the_shift():
    rng = np.random.default_rng(1)
    new, old = rng.normal(60, 2, 8), rng.normal(40, 2, 8)
    low, high = bootstrap_difference_ci(new, old, seed=3)
    assert (low, high) == bootstrap_difference_ci(new, old, seed=3)
    assert 14 < low < 20 < high < 26
    assert all(math.isnan(x) for x in bootstrap_difference_ci(new, np.array([])))


def test_user_strings_are_escaped_in_markdown_and_junit():
    from xml.etree import ElementTree

    from hpalab.report.gate import GateResult, junit, markdown

    name = "<script>alert(1)</script>|x"
    old = _summary(name, time_to_capacity_s=[40, 41, 42, 43, 44])
    new = _summary(name, time_to_capacity_s=[60, 61, 62, 63, 64])
    result = GateResult("new", "old", run_gate(new, old, [TTC_10]), strict=False)
    text = markdown(result)
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;\\|x" in text
    (case,) = ElementTree.fromstring(junit(result)).iter("testcase")
    assert case.get("classname") == f"gate.{name}"  # escaped in the XML, intact once parsed

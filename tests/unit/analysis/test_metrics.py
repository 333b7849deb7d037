import math

import numpy as np
import pandas as pd
import pytest

from hpalab.analysis.episodes import Slo
from hpalab.analysis.metrics import METRICS, aggregate, reversals, summarize, trial_metrics

from .builders import piecewise, trace
from .test_episodes import _scale_up_trial

SLO = Slo(latency_ms=250, percentile=95, error_rate=0.01)


def test_service_and_cost_metrics_of_a_hand_built_trial():
    length = 10
    t = trace(
        {
            "offered_rps": [10.0] * length,
            "achieved_rps": [10.0] * 5 + [5.0] * 5,
            "spec_replicas": piecewise(length, (0, 1), (4, 3), (7, 2)),
            "ready_replicas": piecewise(length, (0, 1), (6, 3), (8, 2)),
            "demand_replicas": [2.0] * length,
            "latency_p50_ms": [50.0] * length,
            "latency_p95_ms": [100.0] * 5 + [400.0] * 5,
            "latency_p99_ms": [500.0] * length,
            "error_rate": [0.0] * 8 + [0.5, 0.0],
        }
    )
    m = trial_metrics(t, slo=SLO)
    assert m["cost_replica_s"] == 4 * 1 + 3 * 3 + 3 * 2
    assert m["max_replicas"] == 3
    assert m["reversals"] == 1
    assert m["slo_violation_s"] == 5  # p95 over 250 ms from t = 5
    assert m["latency_p95_ms"] == pytest.approx((100 * 10 * 5 + 400 * 5 * 5) / 75)
    assert m["error_ratio"] == pytest.approx(0.5 * 5 / 75)
    assert m["load_error_pct"] == pytest.approx(25.0)
    assert m["episodes"] == 0 and math.isnan(m["detection_latency_s"])
    assert m["duration_s"] == 10 and m["gaps_pct"] == 0


def test_scale_up_trial_has_its_episode_metrics():
    m = trial_metrics(_scale_up_trial(), slo=SLO)
    assert m["episodes"] == 1
    assert m["detection_latency_s"] == 15
    assert m["time_to_capacity_s"] == 21
    assert m["wf_sync_wait_s"] == 8
    assert set(m) == {info.name for info in METRICS}


def test_aggregate_keeps_never_as_infinite_and_unknown_as_nan():
    assert aggregate([1.0, 3.0, math.nan]) == 2.0
    assert math.isinf(aggregate([1.0, math.inf]))
    assert math.isnan(aggregate([]))


def test_reversals_ignore_flat_stretches_and_gaps():
    assert reversals(np.array([1.0, 2, 2, np.nan, 3, 2, 2, 1, 4])) == 2
    assert reversals(np.array([1.0, 1.0])) == 0


def test_summarize_covers_trials_without_samples():
    trials = pd.DataFrame(
        {
            "trial_id": ["a#1", "a#2"],
            "variant": ["a", "a"],
            "repetition": [1, 2],
            "status": ["complete", "failed"],
        }
    )
    summary = summarize(trials, {"a#1": _scale_up_trial()}, slo={"a": SLO}, tolerance=0.1)
    assert list(summary["trial_id"]) == ["a#1", "a#2"]
    assert summary.loc[0, "detection_latency_s"] == 15
    assert math.isnan(summary.loc[1, "cost_replica_s"])
    assert summary.loc[1, "gaps_pct"] == 100
    assert list(summary.columns[:4]) == ["trial_id", "variant", "repetition", "status"]


def test_the_cool_down_has_no_load_and_is_no_gap():
    signals = {name: [1.0] * 6 + [math.nan] * 4 for name in ("offered_rps", "achieved_rps")}
    signals.update({"ready_replicas": [1.0] * 10, "demand_replicas": [1.0] * 6 + [0.0] * 4})
    cool = (6, "phase", "trial", {"phase": "cooldown"})
    assert trial_metrics(trace(signals, [cool]), slo=SLO)["gaps_pct"] == 0
    assert trial_metrics(trace(signals), slo=SLO)["gaps_pct"] == pytest.approx(20.0)

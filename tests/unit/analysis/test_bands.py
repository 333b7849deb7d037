import math

import pytest

from hpalab.analysis.bands import LoadStep, PipelineParams, ScalingPolicy, predict_band

FAST = PipelineParams(
    scrape_interval_s=1,
    rate_window_s=2,
    sync_period_s=10,
    capacity_rps=10,
    startup_delay_s=5,
    readiness_period_s=1,
    max_replicas=20,
)


def test_hand_computed_band_with_default_policies():
    # Syncs at phase 0, 2, 4, 6, 8 s; the 2 s rate window sees the step at the first sync
    # after t0 (except at t = 0 itself). Default policies cap the first step at 1 + 4 = 5
    # replicas; the rest (10) comes one 15 s policy period later.
    band = predict_band(FAST, LoadStep(from_rps=10, to_rps=100, replicas_at_t0=1))
    assert band.scale_up_expected
    assert band.detection_s == (2, 6, 10)
    earliest, _, worst = band.time_to_capacity_s
    assert earliest == 22 + 5  # second decision at 22 s, Ready 5 s later, probe at once
    assert worst == 30 + 5 + 1  # phase 0: decisions at 10 and 30, probe a full period late


def test_step_within_tolerance_expects_no_scale_up():
    absorbed = predict_band(FAST, LoadStep(from_rps=10, to_rps=20, replicas_at_t0=2))
    assert not absorbed.scale_up_expected
    assert math.isinf(absorbed.detection_s[0])
    assert absorbed.time_to_capacity_s == (0, 0, 0)
    # 10.5 requests/s need 2 replicas, but 5% over target is inside the tolerance: stuck.
    stuck = predict_band(FAST, LoadStep(from_rps=10, to_rps=10.5, replicas_at_t0=1))
    assert not stuck.scale_up_expected
    assert math.isinf(stuck.time_to_capacity_s[0])


def test_demand_above_max_replicas_never_reaches_capacity():
    capped = PipelineParams(**{**FAST.__dict__, "max_replicas": 4})
    band = predict_band(capped, LoadStep(from_rps=10, to_rps=100, replicas_at_t0=1))
    assert math.isinf(band.time_to_capacity_s[0])
    assert "maxReplicas" in band.note


def test_every_delay_moves_the_band_the_right_way():
    base = PipelineParams(
        scrape_interval_s=15, rate_window_s=60, sync_period_s=15, capacity_rps=10, max_replicas=50
    )
    step = LoadStep(from_rps=20, to_rps=100, replicas_at_t0=2)
    reference = predict_band(base, step)
    slower_sync = predict_band(PipelineParams(**{**base.__dict__, "sync_period_s": 60}), step)
    stabilized = predict_band(
        PipelineParams(**{**base.__dict__, "scale_up_stabilization_s": 120}), step
    )
    slow_start = predict_band(PipelineParams(**{**base.__dict__, "startup_delay_s": 30}), step)
    assert reference.detection_s[0] <= reference.detection_s[1] <= reference.detection_s[2]
    assert slower_sync.detection_s[2] > reference.detection_s[2]
    assert stabilized.detection_s[0] >= 100
    assert slow_start.time_to_capacity_s[0] == pytest.approx(reference.time_to_capacity_s[0] + 30)
    assert slow_start.detection_s == reference.detection_s


def test_pods_policy_and_disabled_scale_up():
    one_at_a_time = PipelineParams(
        **{**FAST.__dict__, "scale_up_policies": (ScalingPolicy("Pods", 1, 60),)}
    )
    step = LoadStep(from_rps=10, to_rps=40, replicas_at_t0=1)
    slow = predict_band(one_at_a_time, step)
    assert slow.time_to_capacity_s[0] >= 120  # +1 pod per minute, 3 more needed
    disabled = PipelineParams(**{**FAST.__dict__, "select_policy": "Disabled"})
    assert math.isinf(predict_band(disabled, step).detection_s[0])


def test_ramp_is_detected_later_than_a_step():
    step = predict_band(FAST, LoadStep(from_rps=10, to_rps=100, replicas_at_t0=1))
    ramp = predict_band(FAST, LoadStep(from_rps=10, to_rps=100, replicas_at_t0=1, ramp_s=60))
    assert ramp.detection_s[1] >= step.detection_s[1]


def test_contains_allows_two_seconds_of_slack():
    band = predict_band(FAST, LoadStep(from_rps=10, to_rps=100, replicas_at_t0=1))
    assert band.contains("detection", 11.9)
    assert not band.contains("detection", 12.1)
    assert band.contains("detection", 0.1) and not band.contains("detection", -0.5)
    assert not band.contains("time_to_capacity", math.inf)
    assert band.contains("time_to_capacity", math.nan)


def test_idle_time_before_the_load_delays_detection_with_a_long_window():
    params = PipelineParams(
        scrape_interval_s=5, rate_window_s=120, sync_period_s=15, capacity_rps=10, max_replicas=30
    )
    step = LoadStep(from_rps=5, to_rps=200, replicas_at_t0=1, ramp_s=150)
    long_history = predict_band(params, step)
    short_history = predict_band(params, LoadStep(5, 200, 1, 150, history_s=35))
    assert short_history.detection_s[0] > long_history.detection_s[0]

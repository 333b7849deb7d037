import math

from hpalab.analysis.episodes import Slo, find_episodes

from .builders import decision, piecewise, pod, step, trace

SLO = Slo(latency_ms=250, percentile=95, error_rate=0.01)


def _metric(length: int) -> list[float]:
    # 10 before the first post-step scrape at t=15, then +0.5 per second up to 30.
    return [10.0 if t < 15 else min(30.0, 10.0 + 0.5 * (t - 14)) for t in range(length)]


def _scale_up_trial(length: int = 60, *, ready_at: tuple[float, float] = (29, 31)):
    signals = {
        "offered_rps": piecewise(length, (0, 10), (10, 30)),
        "achieved_rps": piecewise(length, (0, 10), (10, 30)),
        "demand_replicas": piecewise(length, (0, 1), (10, 3)),
        "ready_replicas": piecewise(length, (0, 1), (int(ready_at[0]), 2), (int(ready_at[1]), 3)),
        "spec_replicas": piecewise(length, (0, 1), (25, 3)),
        "metric_value": _metric(length),
        "metric_target": [10.0] * length,
        "latency_p95_ms": piecewise(length, (0, 100), (10, 400), (31, 100)),
        "error_rate": [0.0] * length,
    }
    events = [
        step(10, 10, 30),
        decision(10, 1, 1),
        decision(25, 3, 1),
        pod(25.5, "pod_created", "p1"),
        pod(26, "pod_created", "p2"),
        pod(26, "pod_started", "p1"),
        pod(26.5, "pod_started", "p2"),
        pod(ready_at[0], "pod_ready", "p1"),
        pod(ready_at[1], "pod_ready", "p2"),
        decision(40, 3, 3),
    ]
    return trace(signals, events)


def test_one_step_gives_every_latency_and_a_waterfall_that_adds_up():
    [ep] = find_episodes(_scale_up_trial(), slo=SLO)
    assert (ep.t0_s, ep.from_rps, ep.to_rps, ep.demand_peak) == (10, 10, 30, 3)
    assert ep.detection_s == 15
    assert ep.actuation_s == 6
    assert ep.time_to_capacity_s == 21
    assert ep.slo_recovery_s == 21
    w = ep.waterfall
    assert (w.scrape_wait_s, w.rate_window_s, w.sync_wait_s, w.hold_s) == (5, 2, 8, 0)
    assert w.startup_s + w.readiness_s == ep.actuation_s
    assert (w.startup_s, w.readiness_s) == (1.5, 4.5)


def test_a_trial_that_never_reaches_capacity():
    t = _scale_up_trial()
    signals = t.signals.copy()
    signals["ready_replicas"] = 1.0
    never = type(t)(t.trial_id, signals, t.events[~t.events["kind"].eq("pod_ready")], 1.0)
    [ep] = find_episodes(never, slo=SLO)
    assert ep.detection_s == 15
    assert math.isinf(ep.actuation_s)
    assert math.isinf(ep.time_to_capacity_s)


def test_no_scale_up_needed_means_no_episode():
    flat = trace(
        {"demand_replicas": [2.0] * 20, "ready_replicas": [2.0] * 20},
        [step(5, 10, 12)],
    )
    assert find_episodes(flat, slo=SLO) == []
    falling = trace(
        {"demand_replicas": [1.0] * 20, "ready_replicas": [3.0] * 20}, [step(5, 30, 10)]
    )
    assert find_episodes(falling, slo=SLO) == []


def test_never_detected_and_unknown_are_told_apart():
    length = 30
    signals = {
        "demand_replicas": piecewise(length, (0, 1), (5, 4)),
        "ready_replicas": [1.0] * length,
    }
    undetected = trace(signals, [step(5, 10, 40), decision(20, 1, 1)])
    [ep] = find_episodes(undetected, slo=SLO)
    assert math.isinf(ep.detection_s) and math.isinf(ep.time_to_capacity_s)
    unknown = trace(signals, [step(5, 10, 40)])
    [ep] = find_episodes(unknown, slo=SLO)
    assert math.isnan(ep.detection_s)
    assert math.isnan(ep.slo_recovery_s)  # no latency signal at all


def test_decision_belongs_to_its_own_episode():
    length = 60
    signals = {
        "demand_replicas": piecewise(length, (0, 1), (5, 2), (20, 4)),
        "ready_replicas": piecewise(length, (0, 1), (40, 4)),
    }
    events = [step(5, 10, 20, 1), step(20, 20, 40, 2), decision(30, 4, 1)]
    first, second = find_episodes(trace(signals, events), slo=SLO)
    assert math.isinf(first.detection_s)
    assert second.detection_s == 10
    assert second.time_to_capacity_s == 20


def test_ramp_capacity_clock_starts_at_t0_but_waits_for_the_shortfall():
    length = 40
    demand = [1.0 if t < 10 else (2.0 if t < 20 else 3.0) for t in range(length)]
    ready = [1.0 if t < 15 else (2.0 if t < 25 else 3.0) for t in range(length)]
    events = [step(5, 10, 30)]
    [ep] = find_episodes(
        trace({"demand_replicas": demand, "ready_replicas": ready}, events), slo=SLO
    )
    assert ep.time_to_capacity_s == 10  # the shortfall starts at 10, ready meets demand at 15


def test_slo_recovery_needs_ten_good_seconds_in_a_row():
    length = 50
    latency = [100.0] * length
    for t in (12, 13, 25):  # bad seconds; recovery starts at 26
        latency[t] = 900.0
    signals = {
        "demand_replicas": piecewise(length, (0, 1), (10, 2)),
        "ready_replicas": piecewise(length, (0, 1), (20, 2)),
        "latency_p95_ms": latency,
        "error_rate": [0.0] * 20 + [0.5] + [0.0] * 29,
    }
    [ep] = find_episodes(trace(signals, [step(10, 10, 20)]), slo=SLO)
    # Streaks broken at 12 (latency), 20 (errors) and 25 (latency): the first clean 10 s
    # start at 26.
    assert ep.slo_recovery_s == 16


def test_stage_type_and_peak_come_from_the_event_and_the_offered_rate():
    length = 60
    signals = {
        "offered_rps": [10.0] * 10 + [50.0] * 5 + [10.0] * 45,  # a spike inside the stage
        "demand_replicas": [1.0] * 10 + [5.0] * 5 + [1.0] * 45,
        "ready_replicas": [1.0] * length,
    }
    spike = (
        10,
        "load_step",
        "load",
        {"stage": 1, "type": "spike", "from_rps": 10, "start_rps": 10, "to_rps": 10},
    )
    ramp = (
        30,
        "load_step",
        "load",
        {"stage": 2, "type": "ramp", "from_rps": 10, "start_rps": 10, "to_rps": 40},
    )
    signals["demand_replicas"][30:] = [4.0] * 30
    first, second = find_episodes(trace(signals, [spike, ramp]), slo=SLO)
    assert (first.kind, first.to_rps, first.ramp_s) == ("spike", 50, 0)
    assert (second.kind, second.to_rps, second.ramp_s) == ("ramp", 40, 30)


def test_a_ramp_then_a_plateau_is_one_episode():
    # Demand is met only on the plateau: the episode must run past the ramp stage.
    length = 50
    demand = [1.0] * 10 + [2.0] * 10 + [3.0] * 30
    ready = [1.0] * 30 + [3.0] * 20
    ramp = (5, "load_step", "load", {"type": "ramp", "from_rps": 10, "start_rps": 10, "to_rps": 30})
    hold = (
        20,
        "load_step",
        "load",
        {"type": "hold", "from_rps": 30, "start_rps": 30, "to_rps": 30},
    )
    [ep] = find_episodes(
        trace({"demand_replicas": demand, "ready_replicas": ready}, [ramp, hold]), slo=SLO
    )
    assert ep.end_s == length and ep.ramp_s == 15
    assert ep.time_to_capacity_s == 25


def test_a_raise_is_judged_against_the_previous_decision():
    # A watcher reports current = the pods that exist, which lag the previous decision: the
    # decision at 12 repeats desired 3 and is no new scale-up; the one at 20 raises to 4.
    length = 30
    signals = {"demand_replicas": piecewise(length, (0, 1), (10, 4)), "ready_replicas": [1.0] * 30}
    events = [decision(5, 3, 1), step(10, 10, 40), decision(12, 3, 2), decision(20, 4, 3)]
    [ep] = find_episodes(trace(signals, events), slo=SLO)
    assert ep.detection_s == 10


def test_a_keda_activation_is_the_decision_and_its_poll_wait_is_a_waterfall_part():
    length = 60
    signals = {
        "offered_rps": piecewise(length, (0, 0), (10, 5)),
        "achieved_rps": piecewise(length, (0, 0), (10, 5)),
        "demand_replicas": piecewise(length, (0, 0), (10, 1)),
        "ready_replicas": piecewise(length, (0, 0), (24, 1)),
        "spec_replicas": piecewise(length, (0, 0), (21, 1)),
        "latency_p95_ms": [100.0] * length,
        "error_rate": piecewise(length, (0, 0.0), (10, 1.0), (24, 0.0)),
    }
    activation = {"from": 0, "to": 1, "active_for_s": 7.0, "action": "activate"}
    events = [
        step(10, 0, 5),
        decision(12, 0, 0),  # the HPA at zero replicas: ScalingDisabled, desired stays 0
        (21.0, "keda_activation", "scaledobject/sample-app", activation),
        pod(21.2, "pod_created", "p1"),
        pod(22, "pod_started", "p1"),
        pod(24, "pod_ready", "p1"),
    ]
    [ep] = find_episodes(trace(signals, events), slo=SLO)
    assert ep.decision_at_s == 21 and ep.detection_s == 11
    w = ep.waterfall
    assert (w.scrape_wait_s, w.rate_window_s, w.polling_wait_s) == (0, 4, 7)
    assert (w.sync_wait_s, w.hold_s) == (0, 0)
    assert (w.startup_s, w.readiness_s) == (1, 2)


def test_hpa_decided_episodes_have_no_polling_wait():
    [ep] = find_episodes(_scale_up_trial(), slo=SLO)
    assert ep.waterfall.polling_wait_s == 0

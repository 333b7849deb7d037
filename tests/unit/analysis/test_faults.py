"""Per-fault metrics on hand-built traces whose answers are known."""

from __future__ import annotations

import math

from hpalab.analysis.episodes import Slo
from hpalab.analysis.faults import fault_impacts, fault_windows
from hpalab.analysis.metrics import fault_metrics

from .builders import piecewise, trace


def _cond(status: str, reason: str) -> list[dict]:
    return [{"type": "ScalingActive", "status": status, "reason": reason, "message": "m 1.5"}]


def _sync(t: float, desired: int, current: int, status="True", reason="ValidMetricFound"):
    detail = {"desired": desired, "current": current, "conditions": _cond(status, reason)}
    return (t, "hpa_decision", "hpa/app", detail)


def _fault(t: float, kind: str, index: int, type_: str, end: float, obj: str):
    detail = {"event": index, "type": type_, "planned_s": t, "planned_end_s": end}
    return (t, kind, obj, detail)


SLO = Slo(latency_ms=100.0, percentile=95)


def _outage_trace():
    # demand 3 throughout; an adapter outage from 10 s to 20 s; the HPA notices at 11 s
    # (ScalingActive flips), holds 3 replicas, one pod is lost at 15 s and back Ready at 24 s;
    # latency is over the SLO from 14 s to 17 s and at 40 s (not this fault's doing)
    n = 50
    latency = [50.0] * n
    for t in (14, 15, 16, 17, 40):
        latency[t] = 300.0
    events = [
        _sync(5, 3, 3),
        _fault(10.0, "fault_injected", 0, "adapterOutage", 20.0, "adapter"),
        _sync(11, 3, 3, "False", "FailedGetPodsMetric"),
        _sync(17, 3, 3, "False", "FailedGetPodsMetric"),
        _fault(20.0, "fault_cleared", 0, "adapterOutage", 20.0, "adapter"),
        _sync(21, 3, 3),
    ]
    signals = {
        "ready_replicas": piecewise(n, (0, 3), (15, 2), (24, 3)),
        "spec_replicas": [3.0] * n,
        "demand_replicas": [3.0] * n,
        "latency_p95_ms": latency,
        "error_rate": [0.0] * n,
    }
    return trace(signals, events)


def test_an_outage_is_measured_from_its_start_and_end():
    (impact,) = fault_impacts(_outage_trace(), slo=SLO)
    assert impact.fault.type == "adapterOutage" and impact.fault.component == "adapter"
    assert (impact.fault.start_s, impact.fault.end_s) == (10.0, 20.0)
    assert impact.notice_s == 1.0
    assert impact.replicas_lost == 1.0
    assert impact.scale_change == 0.0  # held
    assert impact.recovery_s == 4.0  # Ready 3 again at 24 s
    assert impact.slo_violation_s == 4.0  # 14..17, not the violation at 40 s


def test_summary_columns_of_a_trial_with_and_without_faults():
    row = fault_metrics(_outage_trace(), slo=SLO)
    assert row == {
        "fault_notice_s": 1.0,
        "fault_replicas_lost": 1.0,
        "fault_recovery_s": 4.0,
        "fault_slo_violation_s": 4.0,
    }
    quiet = trace({"ready_replicas": [1.0] * 5}, [_sync(1, 1, 1)])
    assert all(math.isnan(v) for v in fault_metrics(quiet, slo=SLO).values())


def test_a_pod_kill_that_the_hpa_never_reacts_to():
    # 4 Ready, 2 killed at 5 s, replaced and Ready at 12 s; demand 4; the HPA keeps syncing
    # with the same conditions and decision, so it never noticed
    n = 30
    events = [_sync(t, 4, 4) for t in range(0, n, 3)]
    events.append(_fault(5.0, "fault_injected", 0, "killPods", 5.0, "pods"))
    signals = {
        "ready_replicas": piecewise(n, (0, 4), (5, 2), (12, 4)),
        "spec_replicas": [4.0] * n,
        "demand_replicas": [4.0] * n,
    }
    (impact,) = fault_impacts(trace(signals, events), slo=SLO)
    assert impact.fault.start_s == impact.fault.end_s == 5.0
    assert math.isinf(impact.notice_s)
    assert impact.replicas_lost == 2.0
    assert impact.recovery_s == 7.0
    assert math.isnan(impact.slo_violation_s)  # no latency recorded


def test_a_scale_up_during_a_fault_counts_as_noticing_it_and_a_missing_end_uses_the_plan():
    n = 30
    events = [
        _sync(2, 2, 2),
        _fault(4.0, "fault_injected", 3, "appSlowdown", 14.0, "app"),
        _sync(8, 4, 2),
    ]
    signals = {
        "ready_replicas": piecewise(n, (0, 2), (11, 4)),
        "spec_replicas": piecewise(n, (0, 2), (8, 4)),
        "demand_replicas": piecewise(n, (0, 2), (6, 4)),
    }
    windows = fault_windows(trace(signals, events))
    assert [(w.index, w.start_s, w.end_s) for w in windows] == [(3, 4.0, 14.0)]
    (impact,) = fault_impacts(trace(signals, events), slo=SLO)
    assert impact.notice_s == 4.0
    assert impact.scale_change == 2.0
    assert impact.recovery_s == 0.0  # capacity was back before the slowdown ended


def test_a_pod_kill_counts_the_ready_pods_it_took_and_the_second_it_began_in():
    # 2 Ready pods killed at 90.001; a third, starting, went Ready before the next sample, so
    # the 1 s grid shows one lost; the requests of second 90 failed
    n = 100
    errors = [0.0] * n
    errors[90] = 0.96
    kill = _fault(90.001, "fault_injected", 0, "killPods", 90.001, "pods")
    kill[3].update(killed=["a", "b"], of=3, ready_killed=2)
    signals = {
        "ready_replicas": piecewise(n, (0, 2), (91, 1), (95, 3)),
        "demand_replicas": [3.0] * n,
        "latency_p95_ms": [20.0] * n,
        "error_rate": errors,
    }
    (impact,) = fault_impacts(trace(signals, [kill]), slo=SLO)
    assert impact.replicas_lost == 2.0
    assert impact.fault.ready_killed == 2.0
    assert impact.slo_violation_s == 1.0

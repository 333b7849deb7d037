"""The local platform end to end: real replicas, Prometheus, HAProxy and the embedded HPA."""

import os
import signal

import pytest

from hpalab.autoscaling.hpa import ControllerConfig
from hpalab.platforms.local.platform import LocalPlatform
from hpalab.platforms.local.processes import pid_alive
from hpalab.platforms.local.replicas import Backoff, ProbeSettings, ReplicaTemplate
from hpalab.platforms.local.settings import DEFAULT_ADAPTER, LabSettings
from hpalab.results.schema import EVENT_KINDS

pytestmark = pytest.mark.integration

RULE = {
    **DEFAULT_ADAPTER["rules"][0],
    "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[4s])) by (<<.GroupBy>>)",
}
HPA = {
    "minReplicas": 1,
    "maxReplicas": 5,
    "metrics": [
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": "http_requests_per_second"},
                "target": {"type": "AverageValue", "averageValue": "5"},
            },
        }
    ],
    "behavior": {"scaleDown": {"stabilizationWindowSeconds": 2}},
}


def _settings(**overrides):
    values = {
        "template": ReplicaTemplate(startup_delay_s=0.5, cpu_per_request_s=0.001),
        "probe": ProbeSettings(period_s=0.25),
        "grace_s": 5.0,
        "scrape_interval_s": 1.0,
        "evaluation_interval_s": 1.0,
        "controller": ControllerConfig(
            sync_period_s=1.0,
            downscale_stabilization_window_s=2.0,
            initial_readiness_delay_s=1.0,
            cpu_initialization_period_s=5.0,
        ),
        "hpa": HPA,
        "adapter": {"rules": [RULE]},
        "metric_resolution_s": 2.0,
        "relist_interval_s": 1.0,
        "backoff": Backoff(base_s=1.0),
        "prometheus_restart_delay_s": 4.0,
    }
    values.update(overrides)
    return LabSettings(**values)


@pytest.fixture
def platform(tmp_path):
    lab = LocalPlatform(tmp_path / "lab", _settings())
    seen: list[int] = []
    with lab:
        yield lab
        seen.extend(lab.pids().values())
    assert seen and not [pid for pid in seen if pid_alive(pid)], "processes outlived the lab"


def _condition(snapshot, kind):
    for condition in snapshot.hpa.get("conditions") or []:
        if condition["type"] == kind:
            return condition
    return None


def test_hpa_scales_one_to_five_and_back_under_load(platform, trickle, wait_until):
    snapshot = platform.observe()
    assert (snapshot.spec_replicas, snapshot.ready_replicas) == (1, 1)
    load = trickle(platform.load_url + "/", rps=30, max_duration_s=40)
    wait_until(
        lambda: platform.observe().ready_replicas == 5, timeout_s=40, what="5 Ready replicas"
    )
    top = platform.observe()
    assert top.spec_replicas == top.desired_replicas == 5
    assert top.metric_target == 5.0
    assert _condition(top, "ScalingActive")["status"] == "True"
    load.stop()
    assert load.ok > 0 and load.failed == 0
    wait_until(lambda: len(platform.observe().pods) == 1, timeout_s=40, what="scale back to 1 pod")
    events = platform.drain_events()
    assert {e.kind for e in events} <= set(EVENT_KINDS)
    rescales = [(e.detail["old"], e.detail["new"]) for e in events if e.kind == "hpa_rescale"]
    assert max(new for _, new in rescales) == 5
    assert rescales[-1][1] == 1
    deleted = [e for e in events if e.kind == "pod_deleted"]
    assert len(deleted) == 4
    assert all(e.detail["exit_code"] == 0 for e in deleted)  # drained, then SIGTERM
    assert not [e for e in platform.drain_events() if e in events]  # never replayed


def test_a_crashed_replica_is_restarted_and_recorded(platform, wait_until):
    (pod,) = platform.observe().pods
    os.kill(platform.pids()[pod.name], signal.SIGKILL)
    wait_until(
        lambda: any(p.restarts == 1 and p.ready for p in platform.observe().pods),
        timeout_s=20,
        what="the replica restarted and Ready",
    )
    events = [e for e in platform.drain_events() if e.object == pod.name]
    crash = next(e for e in events if e.kind == "pod_crashed")
    assert crash.detail["exit_code"] == -signal.SIGKILL
    assert crash.detail["restarts"] == 1
    kinds = [e.kind for e in events]
    assert kinds.index("pod_crashed") < len(kinds) - 1 - kinds[::-1].index("pod_ready")


def test_prometheus_down_stops_scaling_with_the_upstream_reason(platform, trickle, wait_until):
    trickle(platform.load_url + "/", rps=4, max_duration_s=50)

    def active():
        return _condition(platform.observe(), "ScalingActive") or {"status": "unknown"}

    wait_until(lambda: active()["status"] == "True", timeout_s=20, what="ScalingActive=True")
    os.kill(platform.pids()["prometheus"], signal.SIGKILL)
    down = wait_until(
        lambda: (c := active())["status"] == "False" and c, timeout_s=10, what="ScalingActive=False"
    )
    assert down["reason"] == "FailedGetPodsMetric"
    assert "unable to fetch metrics from custom metrics API" in down["message"]
    wait_until(lambda: active()["status"] == "True", timeout_s=30, what="recovery")
    assert active()["reason"] == "ValidMetricFound"
    faults = [e.detail["state"] for e in platform.drain_events() if e.kind == "fault"]
    assert faults[:2] == ["down", "restarted"]

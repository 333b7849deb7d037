"""Each fault of spec.events on the real local stack, checked by what the HPA did.

One lab serves the module (starting one takes seconds); every test reconfigures it, which
resets it and takes back any fault a failed test left behind.
"""

from __future__ import annotations

import time
import urllib.request

import pytest

from hpalab.autoscaling.hpa import ControllerConfig
from hpalab.platforms.local.lab import prometheus_targets
from hpalab.platforms.local.platform import LocalPlatform
from hpalab.platforms.local.processes import pid_alive
from hpalab.platforms.local.replicas import Backoff, ProbeSettings, ReplicaTemplate
from hpalab.platforms.local.settings import DEFAULT_ADAPTER, LabSettings
from hpalab.specs.events import (
    AdapterOutage,
    AppSlowdown,
    KillPods,
    MetricsServerOutage,
    PrometheusOutage,
    ScrapeDelay,
)

pytestmark = pytest.mark.integration

RULE = {
    **DEFAULT_ADAPTER["rules"][0],
    "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[4s])) by (<<.GroupBy>>)",
}
RPS_METRIC = {
    "type": "Pods",
    "pods": {
        "metric": {"name": "http_requests_per_second"},
        "target": {"type": "AverageValue", "averageValue": "50"},
    },
}
CPU_METRIC = {
    "type": "Resource",
    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
}


def _settings(metric, *, replicas):
    return LabSettings(
        template=ReplicaTemplate(startup_delay_s=0.5, cpu_per_request_s=0.001),
        probe=ProbeSettings(period_s=0.25),
        initial_replicas=replicas,
        grace_s=5.0,
        scrape_interval_s=1.0,
        evaluation_interval_s=1.0,
        controller=ControllerConfig(
            sync_period_s=1.0,
            downscale_stabilization_window_s=30.0,
            initial_readiness_delay_s=1.0,
            cpu_initialization_period_s=2.0,
        ),
        hpa={"minReplicas": replicas, "maxReplicas": 4, "metrics": [metric]},
        adapter={"rules": [RULE]},
        metric_resolution_s=2.0,
        relist_interval_s=1.0,
        backoff=Backoff(base_s=1.0),
        prometheus_restart_delay_s=2.0,
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    platform = LocalPlatform(
        tmp_path_factory.mktemp("faults") / "lab", _settings(RPS_METRIC, replicas=1)
    )
    seen: list[int] = []
    with platform:
        yield platform
        seen.extend(platform.pids().values())
    assert not [pid for pid in seen if pid_alive(pid)], "processes outlived the lab"


def _use(lab, metric, *, replicas=1):
    lab.configure(_settings(metric, replicas=replicas))
    lab.drain_events()
    return lab


def _active(lab):
    for condition in lab.observe().hpa.get("conditions") or []:
        if condition["type"] == "ScalingActive":
            return condition
    return {"status": "Unknown", "reason": "", "message": ""}


def _scaling_inactive(lab, wait_until, reason):
    condition = wait_until(
        lambda: (c := _active(lab))["status"] == "False" and c,
        timeout_s=20,
        what=f"ScalingActive=False ({reason})",
    )
    assert condition["reason"] == reason, condition
    return condition


def test_kill_pods_loses_them_and_the_replica_set_replaces_them(lab, wait_until):
    _use(lab, RPS_METRIC, replicas=3)
    before = {p.name for p in lab.observe().pods}
    detail = lab.start_fault(KillPods(type="killPods", at=0.0, fraction=0.5))
    assert len(detail["killed"]) == 2 and set(detail["killed"]) <= before
    assert detail["of"] == 3 and detail["ready_killed"] == 2
    wait_until(
        lambda: (
            (s := lab.observe()).ready_replicas == 3
            and not {p.name for p in s.pods} & set(detail["killed"])
        ),
        timeout_s=20,
        what="two new Ready replicas replacing the killed ones",
    )
    events = lab.drain_events()
    deleted = [e for e in events if e.kind == "pod_deleted" and e.detail.get("reason") == "killed"]
    assert sorted(e.object for e in deleted) == sorted(detail["killed"])
    assert len([e for e in events if e.kind == "pod_created"]) == 2
    # the HPA held its scale: the replica set, not the HPA, made up for the loss
    assert not [e for e in events if e.kind == "hpa_rescale"]
    assert lab.observe().spec_replicas == 3


def test_adapter_outage_makes_the_hpa_hold_with_failed_get_pods_metric(lab, trickle, wait_until):
    _use(lab, RPS_METRIC, replicas=2)
    trickle(lab.load_url + "/", rps=5, max_duration_s=40)
    wait_until(lambda: _active(lab)["status"] == "True", timeout_s=20, what="ScalingActive=True")
    event = AdapterOutage(type="adapterOutage", at=0.0, duration=5.0)
    assert lab.start_fault(event)["status"] == 503
    condition = _scaling_inactive(lab, wait_until, "FailedGetPodsMetric")
    assert "the server is currently unable to handle the request" in condition["message"]
    assert "pods.custom.metrics.k8s.io" in condition["message"]
    held = lab.observe()
    assert held.spec_replicas == held.desired_replicas == 2  # held, not scaled to minReplicas
    lab.end_fault(event)
    wait_until(lambda: _active(lab)["status"] == "True", timeout_s=20, what="recovery")
    assert _active(lab)["reason"] == "ValidMetricFound"


def test_prometheus_outage_keeps_it_down_until_the_end(lab, trickle, wait_until):
    _use(lab, RPS_METRIC, replicas=1)
    trickle(lab.load_url + "/", rps=5, max_duration_s=40)
    wait_until(lambda: _active(lab)["status"] == "True", timeout_s=20, what="ScalingActive=True")
    old_pid = lab.pids()["prometheus"]
    event = PrometheusOutage(type="prometheusOutage", at=0.0, duration=10.0)
    assert lab.start_fault(event)["pid"] == old_pid
    condition = _scaling_inactive(lab, wait_until, "FailedGetPodsMetric")
    assert "unable to fetch metrics" in condition["message"]
    time.sleep(3.0)  # longer than the watchdog's restart delay: the outage holds it down
    assert "prometheus" not in lab.pids()
    new_pid = lab.end_fault(event)["pid"]
    assert new_pid != old_pid and lab.pids()["prometheus"] == new_pid
    wait_until(lambda: _active(lab)["status"] == "True", timeout_s=30, what="recovery")
    # an injected outage is not a crash: the watchdog recorded nothing
    assert not [e for e in lab.drain_events() if e.kind == "fault"]


def test_scrape_delay_beyond_the_timeout_fails_the_scrapes(lab, trickle, wait_until):
    _use(lab, RPS_METRIC, replicas=1)
    trickle(lab.load_url + "/", rps=5, max_duration_s=40)
    wait_until(lambda: _active(lab)["status"] == "True", timeout_s=20, what="ScalingActive=True")
    event = ScrapeDelay(type="scrapeDelay", at=0.0, duration=10.0, delay=3.0)
    assert lab.start_fault(event) == {"metrics_delay_s": 3.0}
    down = wait_until(
        lambda: [t for t in prometheus_targets(lab.prometheus_url) if t["health"] == "down"],
        timeout_s=15,
        what="a scrape that timed out",
    )
    assert "deadline" in down[0]["last_error"] or "timeout" in down[0]["last_error"]
    _scaling_inactive(lab, wait_until, "FailedGetPodsMetric")
    lab.end_fault(event)
    wait_until(
        lambda: {t["health"] for t in prometheus_targets(lab.prometheus_url)} == {"up"},
        timeout_s=15,
        what="scrapes healthy again",
    )
    wait_until(lambda: _active(lab)["status"] == "True", timeout_s=20, what="recovery")


def test_metrics_server_outage_fails_cpu_targets(lab, wait_until):
    _use(lab, CPU_METRIC, replicas=1)
    wait_until(lambda: _active(lab)["status"] == "True", timeout_s=20, what="ScalingActive=True")
    event = MetricsServerOutage(type="metricsServerOutage", at=0.0, duration=5.0)
    lab.start_fault(event)
    condition = _scaling_inactive(lab, wait_until, "FailedGetResourceMetric")
    assert "pods.metrics.k8s.io" in condition["message"]
    lab.end_fault(event)
    wait_until(lambda: _active(lab)["status"] == "True", timeout_s=20, what="recovery")


def _request_s(url):
    begin = time.perf_counter()
    with urllib.request.urlopen(url, timeout=10) as response:
        response.read()
    return time.perf_counter() - begin


def test_app_slowdown_adds_latency_and_cpu_and_the_hpa_scales_up(lab, trickle, wait_until):
    _use(lab, CPU_METRIC, replicas=1)
    wait_until(lambda: _active(lab)["status"] == "True", timeout_s=20, what="ScalingActive=True")
    url = lab.load_url + "/"
    assert _request_s(url) < 0.15
    event = AppSlowdown(type="appSlowdown", at=0.0, duration=30.0, latency=0.3, cpu=0.02)
    assert lab.start_fault(event) == {"latency_s": 0.3, "cpu_s": 0.02}
    wait_until(lambda: _request_s(url) >= 0.3, timeout_s=5, what="slower requests")
    # 20 ms of CPU per request at 10 requests/s is 200m: 100 % of the 200m request, twice the
    # 50 % target, so the HPA must scale up
    trickle(url, rps=10, max_duration_s=40)
    wait_until(lambda: lab.observe().spec_replicas >= 2, timeout_s=30, what="a scale-up")
    lab.end_fault(event)
    wait_until(lambda: _request_s(url) < 0.15, timeout_s=5, what="fast requests again")

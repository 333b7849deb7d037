"""KEDA on the local platform: real Prometheus, HAProxy and replicas; scale to zero and back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hpalab.autoscaling.hpa import ControllerConfig
from hpalab.autoscaling.keda.convert import Workload, convert
from hpalab.platforms.local.platform import LocalPlatform
from hpalab.platforms.local.processes import pid_alive
from hpalab.platforms.local.replicas import Backoff, ProbeSettings, ReplicaTemplate
from hpalab.platforms.local.settings import LabSettings
from hpalab.specs import load_experiment
from hpalab.specs.keda.generated import generated_hpa_spec

pytestmark = pytest.mark.integration

# Requests reach HAProxy's backend counter even with no pod: that is what scale from zero
# keys on (the app's own counter vanishes with its last pod).
QUERY = 'sum(rate(haproxy_backend_http_requests_total{proxy="pods"}[4s]))'
SCALED_OBJECT = {
    "scaleTargetRef": {"name": "sample-app"},
    "minReplicaCount": 0,
    "maxReplicaCount": 4,
    "pollingInterval": 1,
    "cooldownPeriod": 3,
    "triggers": [
        {
            "type": "prometheus",
            "metadata": {
                "serverAddress": "http://replaced-by-the-lab:9090",
                "query": QUERY,
                "threshold": "5",
                "activationThreshold": "0.5",
            },
        }
    ],
}


def _settings(scaled_object):
    return LabSettings(
        template=ReplicaTemplate(startup_delay_s=0.3, cpu_per_request_s=0.001),
        probe=ProbeSettings(period_s=0.25),
        grace_s=3.0,
        scrape_interval_s=1.0,
        evaluation_interval_s=1.0,
        controller=ControllerConfig(
            sync_period_s=1.0,
            downscale_stabilization_window_s=2.0,
            initial_readiness_delay_s=1.0,
            cpu_initialization_period_s=5.0,
        ),
        hpa=generated_hpa_spec("sample-app", scaled_object),
        adapter={},
        keda=scaled_object,
        metric_resolution_s=2.0,
        backoff=Backoff(base_s=1.0),
    )


@pytest.fixture
def lab(tmp_path):
    platform = LocalPlatform(tmp_path / "lab", _settings(SCALED_OBJECT))
    seen: list[int] = []
    with platform:
        yield platform
        seen.extend(platform.pids().values())
    assert not [pid for pid in seen if pid_alive(pid)], "processes outlived the lab"


def _events(lab, kept):
    kept.extend(lab.drain_events())
    return kept


def test_scales_to_zero_when_idle_and_back_on_load(lab, trickle, wait_until):
    events: list = []
    # idle: the first polls see no requests; the cooldown (3 s) runs from creation
    wait_until(
        lambda: lab.observe().spec_replicas == 0 and not lab.supervisor.replicas,
        timeout_s=30,
        what="KEDA to scale the idle app to zero",
    )
    deactivations = [e for e in _events(lab, events) if e.kind == "keda_deactivation"]
    assert deactivations and deactivations[0].detail["to"] == 0

    load = trickle(lab.load_url, rps=10, max_duration_s=40)
    snap = wait_until(
        lambda: (s := lab.observe()).ready_replicas >= 1 and s,
        timeout_s=30,
        what="KEDA to activate 0 -> 1 and the pod to become Ready",
    )
    assert snap.spec_replicas >= 1
    activations = [e for e in _events(lab, events) if e.kind == "keda_activation"]
    assert activations and activations[0].detail["from"] == 0
    assert activations[0].detail["to"] == 1
    assert 0 <= activations[0].detail["active_for_s"] <= SCALED_OBJECT["pollingInterval"] + 1
    assert load.failed > 0, "requests at zero replicas fail: KEDA has no request buffer"
    # At zero replicas the HPA is inactive; once KEDA has activated it, it reads the external
    # metric from KEDA's metrics server. (Before the first scale to zero it may not have synced
    # at all on a slow machine, so that is not where this is checked.)
    wait_until(
        lambda: any(e.kind == "hpa_decision" and e.detail["metrics"] for e in _events(lab, events)),
        timeout_s=30,
        what="the HPA to read KEDA's metrics server",
    )
    load.stop()


def test_hpa_reads_keda_values_and_the_metric_name(lab, trickle, wait_until):
    trickle(lab.load_url, rps=20, max_duration_s=30)

    def served():
        status = lab.control.last.status if lab.control and lab.control.last else {}
        for metric in status.get("currentMetrics") or []:
            external = metric.get("external") or {}
            value = (external.get("current") or {}).get("averageValue")
            if external.get("metric", {}).get("name") == "s0-prometheus" and value not in (
                None,
                "0",
            ):
                return metric
        return None

    metric = wait_until(served, timeout_s=30, what="the HPA to read s0-prometheus > 0")
    assert metric["external"]["metric"]["selector"] == {
        "matchLabels": {"scaledobject.keda.sh/name": "sample-app"}
    }
    spec = lab.control.controller.spec
    assert spec.metrics[0].name == "s0-prometheus" and spec.min_replicas == 1


SMOKE = Path(__file__).resolve().parents[2] / "experiments" / "ci-smoke.yaml"


def _steady_desired(lab, wait_until) -> int:
    """The HPA's desired replicas once the scale-up is over: after 15 syncs, eight agreeing.

    The first syncs are skipped because the two paths differ while pods start: KEDA divides
    the total by all replicas, Ready or not, and may step back once before it settles.
    """
    syncs: list[object] = []
    desired: list[int] = []

    def settled():
        last = lab.control.last if lab.control else None
        if last is not None and (not syncs or syncs[-1] is not last):
            syncs.append(last)
            desired.append(last.desired_replicas)
        tail = desired[15:][-8:]
        return len(tail) == 8 and len(set(tail)) == 1 and tail[0] > 1 and tail[0]

    return int(wait_until(settled, timeout_s=90, what="eight HPA syncs agreeing"))


def test_the_converted_trigger_reaches_the_same_desired_replicas(tmp_path, trickle, wait_until):
    spec = load_experiment(SMOKE).experiment.spec  # a shipped experiment: target 8 per pod
    hpa, rules = spec.hpa.to_kubernetes(), dict(spec.adapter)
    conversion = convert(hpa, rules, workload=Workload("sample-app"))
    keda_spec = {**conversion.spec, "pollingInterval": 1}
    base = _settings(SCALED_OBJECT)
    adapter = replace(base, hpa=hpa, adapter=rules, keda=None)
    keda = replace(
        base, hpa=generated_hpa_spec("sample-app", keda_spec), adapter={}, keda=keda_spec
    )
    with LocalPlatform(tmp_path / "lab", adapter) as lab:
        # 22 requests/s at 8 per pod: 3 replicas on either path, for any achieved rate
        # from 17.6 to 26.4 requests/s (the tolerance band around 2 and 3 replicas)
        trickle(lab.load_url, rps=22, max_duration_s=180, max_requests=4000)
        with_adapter = _steady_desired(lab, wait_until)
        lab.configure(keda)
        with_keda = _steady_desired(lab, wait_until)
    assert (with_adapter, with_keda) == (3, 3)


RUN_EXPERIMENT = """\
apiVersion: hpalab/v1
kind: Experiment
metadata: {name: keda-smoke}
spec:
  keda:
    minReplicaCount: 0
    maxReplicaCount: 4
    pollingInterval: 1
    cooldownPeriod: 4
    triggers:
      - type: prometheus
        metadata:
          serverAddress: http://replaced-by-the-lab:9090
          query: 'sum(rate(haproxy_backend_http_requests_total{proxy="pods"}[4s]))'
          threshold: "8"
          activationThreshold: "0.5"
  controller: {syncPeriod: 2s, initialReadinessDelay: 2s, cpuInitializationPeriod: 10s}
  prometheus: {scrapeInterval: 1s, evaluationInterval: 1s}
  app: {cpuPerRequest: 1ms, latency: 5ms, startupDelay: 500ms}
  load:
    stages:
      - {type: hold, rps: 0, duration: 12s}
      - {type: step, rps: 16, duration: 20s}
      - {type: hold, rps: 0, duration: 12s}
    arrivals: {process: uniform}
  phases: {warmup: 4s, warmupRps: 0, cooldown: 4s, settleTimeout: 30s}
"""


def test_a_keda_run_scales_to_zero_and_back_and_times_the_polling_wait(tmp_path):
    from hpalab.cli.main import run
    from hpalab.results import read_table
    from hpalab.results.schema import EVENTS, SUMMARY

    spec = tmp_path / "keda-smoke.yaml"
    spec.write_text(RUN_EXPERIMENT)
    out = tmp_path / "reports"
    assert run(["run", str(spec), "--out", str(out), "--quiet"]) in (0, 3)
    [run_dir] = out.iterdir()
    events = read_table(run_dir, EVENTS)
    kinds = list(events["kind"])
    assert "keda_deactivation" in kinds and "keda_activation" in kinds
    activation = events[events["kind"] == "keda_activation"].iloc[0]
    assert activation["t_s"] > 12, "activated by the step, not before"
    summary = read_table(run_dir, SUMMARY)
    assert summary["wf_polling_wait_s"].iloc[0] >= 0
    assert summary["detection_latency_s"].iloc[0] > 0


def test_fallback_steers_to_its_replicas_while_prometheus_is_down(tmp_path, wait_until):
    scaled_object = {
        **SCALED_OBJECT,
        "minReplicaCount": 1,
        "fallback": {"failureThreshold": 2, "replicas": 3},
    }
    settings = replace(_settings(scaled_object), prometheus_restart_delay_s=60.0)
    events: list = []
    with LocalPlatform(tmp_path / "lab", settings) as lab:
        assert lab.prometheus is not None
        lab.prometheus.kill()
        wait_until(
            lambda: any(e.kind == "keda_fallback" for e in _events(lab, events)),
            timeout_s=30,
            what="KEDA to switch to the fallback value",
        )
        snap = wait_until(
            lambda: (s := lab.observe()).spec_replicas == 3 and s,
            timeout_s=30,
            what="the HPA to steer to fallback.replicas",
        )
    assert snap.desired_replicas == 3
    [switch] = [e for e in events if e.kind == "keda_fallback"]
    assert switch.detail["state"] == "on" and switch.detail["failures"] > 2

"""KubernetesPlatform against recorded API responses: watches, observe, variants, reset, stop."""

import time

import pytest

from hpalab.platforms.kubernetes.platform import KubernetesPlatform
from hpalab.specs import load_experiment
from tests.unit.kubernetes.conftest import EXPERIMENTS

HPA_PATH = "/apis/autoscaling/v2/namespaces/hpalab/horizontalpodautoscalers/sampleapp"


@pytest.fixture
def platform(api, server, client, waiter, smoke_spec):
    for name in ("up_fresh_cluster", "watch_scale_up", "kind_control_plane"):
        api.load(name)
    running = KubernetesPlatform(smoke_spec, deploy=False, client=client, waiter=waiter)
    yield running
    running.stop()


def _drain_until(platform, kinds, timeout_s=5.0):
    seen = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen += platform.drain_events()
        if kinds <= {e.kind for e in seen}:
            return seen
        time.sleep(0.02)
    return seen


def test_watches_turn_a_scale_up_into_timestamped_events(platform):
    platform.start()
    events = _drain_until(platform, {"hpa_rescale", "pod_ready", "warning"})
    kinds = [e.kind for e in events]
    assert kinds.count("pod_ready") == 2 and kinds.count("pod_created") == 2
    assert "hpa_status" in kinds and "warning" in kinds
    assert [e.t for e in events] == sorted(e.t for e in events)
    again = platform.drain_events()
    assert not [e for e in again if e in events]  # each event is returned once


METRIC_PATH = (
    "/apis/custom.metrics.k8s.io/v1beta1/namespaces/hpalab/pods/*/http_requests_per_second"
)


def test_observe_reads_the_scale_the_watch_caches_and_the_served_metric(platform, api):
    api.routes[("GET", METRIC_PATH)] = api.routes[("GET", METRIC_PATH)][-1:]
    platform.start()
    _drain_until(platform, {"pod_ready", "hpa_rescale"})
    snapshot = platform.observe()
    assert snapshot.spec_replicas == 3
    assert snapshot.desired_replicas == 3
    assert snapshot.ready_replicas == 3
    assert snapshot.hpa["currentReplicas"] == 3
    assert snapshot.metric_target == 8.0
    assert snapshot.metric_value == pytest.approx((7.5 + 7.2 + 7.2) / 3)
    metric_reads = api.calls("GET", "/apis/custom.metrics.k8s.io/")
    assert (
        metric_reads[-1].query["labelSelector"]
        == "app.kubernetes.io/instance=hpalab,app.kubernetes.io/name=sampleapp"
    )


def test_a_metrics_api_failure_is_a_gap_and_a_collector_error_not_a_crash(platform, api):
    api.routes[("GET", METRIC_PATH)] = [
        {
            "status": 503,
            "body": {
                "kind": "Status",
                "message": "the server is currently unable to handle the request",
                "code": 503,
            },
        }
    ]
    snapshot = platform.observe()
    assert snapshot.metric_value is None and snapshot.metric_target == 8.0
    errors = [e for e in platform.drain_events() if e.kind == "collector_error"]
    assert "unable to handle the request" in errors[0].detail["message"]


def test_apply_variant_renders_the_variant_waits_and_records_controller_flags(platform, api):
    loaded = load_experiment(EXPERIMENTS / "ci-smoke.yaml")
    variant = loaded.variant("target-15").spec
    platform.apply_variant(variant)
    applied = {(r.body["kind"], r.body["metadata"]["name"]): r.body for r in api.calls("PATCH")}
    assert (
        applied[("HorizontalPodAutoscaler", "sampleapp")]["spec"]["metrics"][0]["pods"]["target"][
            "averageValue"
        ]
        == "15"
    )
    assert ("ConfigMap", "prometheus-adapter-config") in applied and (
        "Deployment",
        "prometheus-adapter",
    ) in applied
    hpa_reads = [r for r in api.calls("GET") if r.path == HPA_PATH]
    assert hpa_reads, "apply_variant must wait for ScalingActive"
    warnings = [e for e in platform.drain_events() if e.kind == "warning"]
    assert len(warnings) == 1 and "downscale-stabilization is 300" in warnings[0].detail["message"]
    flags = platform.fingerprint()["controller_flags"]
    assert flags["source"] == "read" and flags["sync_period"] == 2.0


def test_reset_deletes_the_hpa_returns_to_initial_replicas_and_recreates_it(platform, api):
    platform.reset()
    sequence = [(r.method, r.path) for r in api.requests if r.method in ("PATCH", "DELETE")]
    assert sequence[0] == ("DELETE", HPA_PATH)
    assert sequence[1] == ("PATCH", "/apis/apps/v1/namespaces/hpalab/deployments/sampleapp")
    assert sequence[2] == ("PATCH", HPA_PATH)
    deployment = api.calls("PATCH")[0].body
    assert deployment["spec"]["replicas"] == 1


def test_fingerprint_and_a_managed_cluster_records_flags_as_assumed(platform, api, smoke_spec):
    api.routes[("GET", "/api/v1/namespaces/kube-system/pods")] = [
        {"status": 200, "body": {"kind": "PodList", "items": []}}
    ]
    print_ = platform.fingerprint()
    assert print_["kubernetes_version"] == "v1.33.1"
    assert print_["kubelet_versions"] == ["v1.33.1"]
    assert print_["controller_flags"] == {
        "source": "assumed",
        "sync_period": 2.0,
        "tolerance": 0.1,
        "downscale_stabilization": 10.0,
        "initial_readiness_delay": 2.0,
        "cpu_initialization_period": 10.0,
    }
    assert "python:3.12-slim" in print_["app_image"]


def test_stop_ends_the_watches_and_deletes_the_hpa(platform, api):
    platform.start()
    platform.stop()
    assert ("DELETE", HPA_PATH) in [(r.method, r.path) for r in api.requests]
    assert platform._watches == []


def test_urls_default_to_the_kind_node_ports(platform):
    assert platform.load_url == "http://127.0.0.1:30080"
    assert platform.prometheus_url == "http://127.0.0.1:30090"


def test_another_hpa_in_the_namespace_is_ignored(platform):
    other = {"metadata": {"name": "someone-elses"}, "status": {"desiredReplicas": 9}}
    platform._on_hpa("MODIFIED", other)
    assert platform.hpa.status == {}
    assert platform.drain_events() == []


def test_a_run_keeps_the_image_up_deployed(api, server, client, waiter, smoke_spec):
    deployed = {
        "metadata": {"name": "sampleapp"},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "sampleapp", "image": "hpalab-sampleapp:e2e"}]}
            }
        },
    }
    api.add(
        "GET",
        "/apis/apps/v1/namespaces/hpalab/deployments/sampleapp",
        {"status": 200, "body": deployed},
    )
    platform = KubernetesPlatform(smoke_spec, deploy=False, client=client, waiter=waiter)
    try:
        platform.start()
        assert platform.options.app_image == "hpalab-sampleapp:e2e"
        assert platform.fingerprint()["app_image"] == "hpalab-sampleapp:e2e"
    finally:
        platform.stop()


def test_variants_keep_the_serving_certificate_of_up(api, server, client, waiter, smoke_spec):
    for name in ("up_fresh_cluster", "kind_control_plane"):
        api.load(name)
    secret = {
        "kind": "Secret",
        "metadata": {"name": "prometheus-adapter-tls"},
        "type": "kubernetes.io/tls",
        "data": {"ca.crt": "Q0E=", "tls.crt": "Y3J0", "tls.key": "a2V5"},
    }
    api.add(
        "GET",
        "/api/v1/namespaces/hpalab/secrets/prometheus-adapter-tls",
        {"status": 200, "body": secret},
    )
    platform = KubernetesPlatform(smoke_spec, deploy=False, client=client, waiter=waiter)
    try:
        platform.start()
        platform.apply_variant(smoke_spec)
    finally:
        platform.stop()
    adapter = next(
        r.body for r in api.calls("PATCH") if r.body["metadata"]["name"] == "prometheus-adapter"
    )
    assert (
        "--tls-cert-file=/var/run/serving-cert/tls.crt"
        in adapter["spec"]["template"]["spec"]["containers"][0]["args"]
    )

"""KubernetesPlatform against API responses captured from a real API server during one trial of
`hpalab run --platform kubernetes` on an `hpalab cluster` (watch_scale_up): watches, observe,
variants, reset, stop."""

import statistics
import time

import pytest

from hpalab.platforms.kubernetes.platform import KubernetesPlatform
from hpalab.specs import load_experiment, parse_quantity_value
from tests.unit.kubernetes.conftest import EXPERIMENTS
from tests.unit.kubernetes.fakeapi import NAMESPACE, recorded

RUN = recorded("watch_scale_up")
HPA_PATH = f"/apis/autoscaling/v2/namespaces/{NAMESPACE}/horizontalpodautoscalers/sampleapp"
METRIC_PATH = (
    f"/apis/custom.metrics.k8s.io/v1beta1/namespaces/{NAMESPACE}/pods/*/http_requests_per_second"
)
SCALE_PATH = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/sampleapp/scale"
KUBE_SYSTEM_PODS = ("GET", "/api/v1/namespaces/kube-system/pods")


def _platform(api, client, waiter, smoke_spec):
    return KubernetesPlatform(
        smoke_spec, namespace=NAMESPACE, deploy=False, client=client, waiter=waiter
    )


@pytest.fixture
def platform(api, server, client, waiter, smoke_spec):
    api.load("watch_scale_up")
    running = _platform(api, client, waiter, smoke_spec)
    yield running
    running.stop()


def _drain_until(platform, done, timeout_s=5.0):
    seen = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen += platform.drain_events()
        if done([e.kind for e in seen]):
            return seen
        time.sleep(0.02)
    return seen


def _streamed(path):
    return [e for r in RUN[("GET", path + "?watch")] for e in r["stream"]]


def test_watches_turn_a_scale_up_into_timestamped_events(platform):
    pods = _streamed(f"/api/v1/namespaces/{NAMESPACE}/pods")
    listed = {
        p["metadata"]["name"]
        for p in RUN[("GET", f"/api/v1/namespaces/{NAMESPACE}/pods")][0]["body"]["items"]
    }
    new = {e["object"]["metadata"]["name"] for e in pods if e["type"] == "ADDED"} - listed
    rescales = [
        e["object"]
        for e in _streamed(f"/api/v1/namespaces/{NAMESPACE}/events")
        if e["object"].get("reason") == "SuccessfulRescale"
    ]
    assert new and rescales  # the trial scaled the app up
    platform.start()
    events = _drain_until(
        platform,
        lambda kinds: (
            kinds.count("pod_ready") >= len(new) and kinds.count("hpa_rescale") >= len(rescales)
        ),
    )
    kinds = [e.kind for e in events]
    assert kinds.count("pod_created") == len(new)  # the pods listed first are not new
    assert {e.object for e in events if e.kind == "pod_ready"} == new
    assert kinds.count("hpa_rescale") == len(rescales)
    assert "hpa_status" in kinds
    assert [e.t for e in events] == sorted(e.t for e in events)
    again = platform.drain_events()
    assert not [e for e in again if e in events]  # each event is returned once


def test_observe_reads_the_scale_and_the_served_metric(platform, api):
    platform.start()
    snapshot = platform.observe()
    scale = RUN[("GET", SCALE_PATH)][0]["body"]
    assert snapshot.spec_replicas == scale["spec"]["replicas"]
    assert snapshot.metric_target == 8.0
    served = RUN[("GET", METRIC_PATH)][0]["body"]["items"]
    values = [float(parse_quantity_value(i["value"])) for i in served]
    assert snapshot.metric_value == pytest.approx(statistics.mean(values))
    metric_reads = api.calls("GET", "/apis/custom.metrics.k8s.io/")
    assert (
        metric_reads[-1].query["labelSelector"]
        == f"app.kubernetes.io/instance={NAMESPACE},app.kubernetes.io/name=sampleapp"
    )


def test_a_metrics_api_failure_is_a_gap_and_a_collector_error_not_a_crash(platform, api):
    # The aggregator's plain-text 503 while the adapter is scaled to zero, as captured.
    api.routes[("GET", METRIC_PATH)] = recorded("aggregator_unavailable")[("GET", METRIC_PATH)]
    snapshot = platform.observe()
    assert snapshot.metric_value is None and snapshot.metric_target == 8.0
    errors = [e for e in platform.drain_events() if e.kind == "collector_error"]
    assert "HTTP 503 service unavailable" in errors[0].detail["message"]


def test_apply_variant_renders_the_variant_waits_and_records_controller_flags(platform, api):
    # kube-controller-manager's pod as kind runs it, listed before the run's own (empty) list.
    api.routes[KUBE_SYSTEM_PODS] = [
        *recorded("kind_control_plane")[KUBE_SYSTEM_PODS],
        *api.routes[KUBE_SYSTEM_PODS],
    ]
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
    assert sequence[1] == (
        "PATCH",
        f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/sampleapp",
    )
    assert sequence[2] == ("PATCH", HPA_PATH)
    deployment = api.calls("PATCH")[0].body
    assert deployment["spec"]["replicas"] == 1


def test_fingerprint_where_the_controller_is_not_visible_records_flags_as_assumed(platform):
    # hpalab cluster runs kube-controller-manager as a process: kube-system lists no pod of it.
    assert RUN[KUBE_SYSTEM_PODS][0]["body"]["items"] == []
    print_ = platform.fingerprint()
    nodes = RUN[("GET", "/api/v1/nodes")][0]["body"]["items"]
    version = RUN[("GET", "/version")][0]["body"]["gitVersion"]
    assert print_["kubernetes_version"] == version
    assert print_["kubelet_versions"] == [nodes[0]["status"]["nodeInfo"]["kubeletVersion"]]
    assert print_["controller_flags"] == {
        "source": "assumed",
        "sync_period": 2.0,
        "tolerance": 0.1,
        "downscale_stabilization": 10.0,
        "initial_readiness_delay": 2.0,
        "cpu_initialization_period": 10.0,
    }
    assert print_["namespace"] == NAMESPACE


def test_stop_ends_the_watches_and_deletes_the_hpa(platform, api):
    platform.start()
    platform.stop()
    assert ("DELETE", HPA_PATH) in [(r.method, r.path) for r in api.requests]
    assert platform._watches == []


def test_urls_default_to_the_node_ports_at_the_node_address(platform):
    platform.start()
    nodes = RUN[("GET", "/api/v1/nodes")][0]["body"]["items"]
    (address,) = [
        a["address"] for a in nodes[0]["status"]["addresses"] if a["type"] == "InternalIP"
    ]
    assert platform.load_url == f"http://{address}:30080"
    assert platform.prometheus_url == f"http://{address}:30090"


def test_another_hpa_in_the_namespace_is_ignored(platform):
    other = {"metadata": {"name": "someone-elses"}, "status": {"desiredReplicas": 9}}
    platform._on_hpa("MODIFIED", other)
    assert platform.hpa.status == {}
    assert platform.drain_events() == []


def test_a_run_keeps_the_image_up_deployed(api, server, client, waiter, smoke_spec):
    # The app's Deployment as `hpalab up` left it; no nodes listed, so no cluster profile picks
    # an image instead.
    path = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/sampleapp"
    deployed = recorded("up_fresh_cluster")[("GET", path)][-1]
    api.add("GET", path, deployed)
    image = deployed["body"]["spec"]["template"]["spec"]["containers"][0]["image"]
    platform = _platform(api, client, waiter, smoke_spec)
    try:
        platform.start()
        assert platform.options.app_image == image
        assert platform.fingerprint()["app_image"] == image
    finally:
        platform.stop()


def test_variants_keep_the_serving_certificate_of_up(platform, api, smoke_spec):
    platform.start()
    platform.apply_variant(smoke_spec)
    adapter = next(
        r.body for r in api.calls("PATCH") if r.body["metadata"]["name"] == "prometheus-adapter"
    )
    assert (
        "--tls-cert-file=/var/run/serving-cert/tls.crt"
        in adapter["spec"]["template"]["spec"]["containers"][0]["args"]
    )


def test_a_deleted_hpa_is_created_again_only_once_the_controller_dropped_its_history(
    smoke_spec,
):
    """The controller drops a deleted HPA's recommendations when a worker next takes its key,
    at the latest one sync period (ci-smoke: 2 s) after its last sync: the reset waits that
    long (and 1 s more) after the delete, counted from the delete, before creating it again."""
    now = [100.0]
    slept: list[float] = []

    class Waiter:
        def sleep(self, seconds: float) -> None:
            slept.append(seconds)
            now[0] += seconds

    platform = KubernetesPlatform(smoke_spec, deploy=False, client=object(), clock=lambda: now[0])
    platform.wait_until_forgotten(99.5, Waiter())  # type: ignore[arg-type]
    assert slept == [pytest.approx(2.5)]
    platform.wait_until_forgotten(90.0, Waiter())  # the rollout took longer: no wait
    assert slept == [pytest.approx(2.5)]

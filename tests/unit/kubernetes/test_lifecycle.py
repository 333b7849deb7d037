"""`up` and `status` against API responses captured from a real API server (`hpalab up` on a
fresh `hpalab cluster`, then `hpalab status`), at the HTTP boundary (`down` runs on the real
cluster: tests/cluster/test_kube_teardown.py)."""

import io
import json

import pytest

from hpalab.errors import PlatformError, PrerequisiteError
from hpalab.platforms.kubernetes import lifecycle
from hpalab.platforms.kubernetes.client import APPLY_CONTENT_TYPE
from hpalab.platforms.kubernetes.objects import StackOptions
from hpalab.platforms.kubernetes.stack import plan
from hpalab.platforms.kubernetes.waiting import deployment_ready, hpa_active
from tests.unit.kubernetes.conftest import EXPERIMENTS
from tests.unit.kubernetes.fakeapi import NAMESPACE, RECORDINGS, recorded

pytestmark = pytest.mark.usefixtures("stand_in_upstream")

UPSTREAM = RECORDINGS.parent / "data" / "upstream"
UP = recorded("up_fresh_cluster")
METRIC_PATH = (
    f"/apis/custom.metrics.k8s.io/v1beta1/namespaces/{NAMESPACE}/pods/*/http_requests_per_second"
)
HPA_PATH = f"/apis/autoscaling/v2/namespaces/{NAMESPACE}/horizontalpodautoscalers/sampleapp"


def _up(api, client, waiter, overrides=None, **kwargs):
    api.load("up_fresh_cluster")
    for path, response in (overrides or {}).items():
        api.routes[("GET", path)] = [response]
    out = io.StringIO()
    result = lifecycle.up(
        EXPERIMENTS / "ci-smoke.yaml",
        out=out,
        namespace=NAMESPACE,
        manifests_dir=UPSTREAM,
        client=client,
        waiter=waiter,
        kubelet_insecure_tls=True,
        **kwargs,
    )
    return result, out.getvalue()


def _applied(api):
    return [(r.body["kind"], r.body["metadata"]["name"]) for r in api.calls("PATCH")]


def test_up_applies_everything_in_dependency_order_with_server_side_apply(api, client, waiter):
    result, _ = _up(api, client, waiter)
    patches = api.calls("PATCH")
    assert len(patches) == len(result.objects)
    for request in patches:
        assert request.headers["content-type"] == APPLY_CONTENT_TYPE
        assert request.query == {"fieldManager": "hpalab", "force": "true"}
        assert request.headers["authorization"] == "Bearer test-token"
    kinds = [kind for kind, _ in _applied(api)]
    order = [
        kinds.index("Namespace"),
        kinds.index("CustomResourceDefinition"),
        kinds.index("Prometheus"),
        kinds.index("ServiceMonitor"),
        _applied(api).index(("APIService", "v1beta1.custom.metrics.k8s.io")),
        kinds.index("HorizontalPodAutoscaler"),
    ]
    assert order == sorted(order)
    assert kinds[-1] == "HorizontalPodAutoscaler"
    # every CRD comes before any object of the kinds they define
    last_crd = max(i for i, k in enumerate(kinds) if k == "CustomResourceDefinition")
    assert last_crd < kinds.index("Prometheus")


def _served(response):
    return response["status"] == 200 and bool(response["body"].get("items"))


def _active(response):
    return hpa_active(response["body"])[0]


def test_up_waits_for_each_part_before_applying_the_next(api, client, waiter, clock):
    _up(api, client, waiter)
    log = [(r.method, r.path) for r in api.requests]
    first_app_patch = next(
        i for i, (m, p) in enumerate(log) if m == "PATCH" and "/deployments/sampleapp" in p
    )
    crd_established = max(
        i
        for i, (m, p) in enumerate(log)
        if m == "GET" and "servicemonitors.monitoring.coreos.com" in p
    )
    assert crd_established < first_app_patch
    hpa_patch = next(
        i for i, (m, p) in enumerate(log) if m == "PATCH" and "horizontalpodautoscalers" in p
    )
    # The metric is read until the adapter serves a value, as the captured answers went.
    metric = UP[("GET", METRIC_PATH)]
    assert _served(metric[-1]) and not any(_served(r) for r in metric[:-1])
    metric_reads = [i for i, (m, p) in enumerate(log) if p == METRIC_PATH]
    assert len(metric_reads) == len(metric) and min(metric_reads) > hpa_patch
    # The HPA is read until it is ScalingActive with a metric, after the metric is served.
    hpa = UP[("GET", HPA_PATH)]
    assert _active(hpa[-1]) and not any(_active(r) for r in hpa[:-1])
    hpa_reads = [i for i, (m, p) in enumerate(log) if m == "GET" and p == HPA_PATH]
    assert len(hpa_reads) == len(hpa) and min(hpa_reads) > max(metric_reads)
    # the polls slept in virtual time only
    assert clock.slept and set(clock.slept) == {2}


def test_no_grafana_on_a_cluster_that_cannot_run_it(api, client, waiter):
    # The captured cluster is an hpalab cluster: its runtime runs no Grafana.
    result, printed = _up(api, client, waiter)
    assert "grafana: not deployed" in printed
    assert not [o for o in result.objects if "grafana" in o["metadata"]["name"]]


def test_a_grafana_password_is_generated_unless_the_secret_exists(api, client, smoke_spec):
    options = StackOptions(namespace=NAMESPACE, instance=NAMESPACE)
    path = f"/api/v1/namespaces/{NAMESPACE}/secrets/grafana-admin"
    api.add("GET", path, *UP[("GET", path)])  # not found on the fresh cluster
    password = lifecycle._grafana_password(client, options)
    assert password is not None and len(password) >= 24
    steps = plan(smoke_spec, options, upstream={}, grafana_password=password, tls=None)
    secret = next(o for s in steps for o in s.objects if o["metadata"]["name"] == "grafana-admin")
    assert secret["stringData"]["admin-password"] == password
    assert password not in lifecycle.password_command(NAMESPACE)
    api.routes[("GET", path)] = recorded("grafana_secret_exists")[("GET", path)]
    assert lifecycle._grafana_password(client, options) is None  # kept, never overwritten


def test_up_labels_upstream_objects_and_patches_metrics_server_for_kind(api, client, waiter):
    _up(api, client, waiter)
    bodies = {(r.body["kind"], r.body["metadata"]["name"]): r.body for r in api.calls("PATCH")}
    metrics_server = bodies[("Deployment", "metrics-server")]
    assert (
        "--kubelet-insecure-tls"
        in metrics_server["spec"]["template"]["spec"]["containers"][0]["args"]
    )
    for body in bodies.values():
        assert body["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "hpalab"
        assert body["metadata"]["labels"]["app.kubernetes.io/instance"] == NAMESPACE


def test_up_leaves_upstream_components_installed_by_someone_else_alone(api, client, waiter):
    path = "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io"
    (foreign,) = recorded("metrics_server_foreign")[("GET", path)]
    _, printed = _up(api, client, waiter, overrides={path: foreign})
    assert ("Deployment", "metrics-server") not in _applied(api)
    assert "using the metrics-server already installed" in printed


def test_up_times_out_with_the_last_reason_and_a_hint(api, client, waiter):
    path = "/apis/apps/v1/namespaces/default/deployments/prometheus-operator"
    # The operator as up first found it after applying it, never becoming ready.
    stuck = next(r for r in UP[("GET", path)] if not deployment_ready(r["body"])[0])
    with pytest.raises(PlatformError) as caught:
        _up(api, client, waiter, overrides={path: stuck})
    assert deployment_ready(stuck["body"])[1] in caught.value.message
    assert "kubectl -n default describe deployment prometheus-operator" in caught.value.hint


def test_up_refuses_a_manifests_dir_without_the_release_files(api, client, waiter, tmp_path):
    api.load("up_fresh_cluster")
    with pytest.raises(PrerequisiteError, match="is missing"):
        lifecycle.up(
            EXPERIMENTS / "ci-smoke.yaml",
            out=io.StringIO(),
            manifests_dir=tmp_path,
            client=client,
            waiter=waiter,
        )


def test_up_reports_an_unreachable_api_server(tmp_path):
    config = tmp_path / "kubeconfig"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "gone",
                "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "gone", "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    with pytest.raises(PlatformError, match="cannot reach the API server"):
        lifecycle.up(
            EXPERIMENTS / "ci-smoke.yaml",
            out=io.StringIO(),
            kubeconfig=config,
            manifests_dir=UPSTREAM,
        )


def test_up_without_kubeconfig_is_a_prerequisite_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(PrerequisiteError) as caught:
        lifecycle.up(EXPERIMENTS / "ci-smoke.yaml", out=io.StringIO())
    assert "--dry-run" in caught.value.hint


def test_status_reports_readiness_apiservices_and_the_hpa(api, client):
    api.load("status_running")
    out = io.StringIO()
    report = lifecycle.status(out=out, client=client, namespace=NAMESPACE)
    captured = recorded("status_running")
    deployments = captured[("GET", "/apis/apps/v1/deployments")][0]["body"]["items"]
    assert report["deployments"] == {
        d["metadata"]["name"]: deployment_ready(d)[0] for d in deployments
    }
    assert report["deployments"]["sampleapp"] and report["deployments"]["prometheus-adapter"]
    assert report["apiservices"] == {
        "v1beta1.custom.metrics.k8s.io": True,
        "v1beta2.custom.metrics.k8s.io": True,
        "v1beta1.metrics.k8s.io": True,
    }
    hpas = f"/apis/autoscaling/v2/namespaces/{NAMESPACE}/horizontalpodautoscalers"
    (hpa,) = captured[("GET", hpas)][0]["body"]["items"]
    assert report["hpa"] == hpa["status"]
    text = out.getvalue()
    assert f"deployment {NAMESPACE}/sampleapp: ready (1/1 updated, 1/1 available)" in text
    assert "apiservice v1beta1.custom.metrics.k8s.io: available" in text
    current, desired = hpa["status"]["currentReplicas"], hpa["status"]["desiredReplicas"]
    assert f"hpa sampleapp: {current} → {desired} replicas, ScalingActive=True" in text


def test_status_of_an_empty_namespace_says_how_to_start(api, client):
    out = io.StringIO()
    assert lifecycle.status(out=out, client=client, namespace=NAMESPACE)["deployments"] == {}
    assert "hpalab up --platform kubernetes" in out.getvalue()


def test_up_generates_serving_certs_and_the_apiservices_verify_them(api, client, waiter):
    _, printed = _up(api, client, waiter)
    applied = _applied(api)
    assert applied.index(("Secret", "prometheus-adapter-tls")) < applied.index(
        ("Deployment", "prometheus-adapter")
    )
    bodies = {(r.body["kind"], r.body["metadata"]["name"]): r.body for r in api.calls("PATCH")}
    secret = bodies[("Secret", "prometheus-adapter-tls")]
    assert secret["type"] == "kubernetes.io/tls" and set(secret["data"]) == {
        "tls.crt",
        "tls.key",
        "ca.crt",
    }
    # ci-smoke has no externalRules: the adapter serves only the custom metrics API.
    assert ("APIService", "v1beta1.external.metrics.k8s.io") not in applied
    for name in ("v1beta1.custom.metrics.k8s.io",):
        spec = bodies[("APIService", name)]["spec"]
        assert spec["caBundle"] == secret["data"]["ca.crt"] and "insecureSkipTLSVerify" not in spec
    args = bodies[("Deployment", "prometheus-adapter")]["spec"]["template"]["spec"]["containers"][
        0
    ]["args"]
    assert "--tls-cert-file=/var/run/serving-cert/tls.crt" in args
    assert "PRIVATE KEY" not in printed and secret["data"]["tls.key"] not in printed


def test_up_reuses_the_serving_certs_of_an_earlier_up(api, client, waiter):
    # The Secret as the run after `hpalab up` found it.
    path = f"/api/v1/namespaces/{NAMESPACE}/secrets/prometheus-adapter-tls"
    earlier = recorded("watch_scale_up")[("GET", path)][0]
    _up(api, client, waiter, overrides={path: earlier})
    assert ("Secret", "prometheus-adapter-tls") not in _applied(api)
    apiservice = next(
        r.body
        for r in api.calls("PATCH")
        if r.body["metadata"]["name"] == "v1beta1.custom.metrics.k8s.io"
    )
    assert apiservice["spec"]["caBundle"] == earlier["body"]["data"]["ca.crt"]

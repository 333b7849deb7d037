"""`up` and `status` against recorded API responses at the HTTP boundary (`down` runs on
the real cluster: tests/cluster/test_kube_teardown.py)."""

import io
import json

import pytest

from hpalab.errors import PlatformError, PrerequisiteError
from hpalab.platforms.kubernetes import lifecycle
from hpalab.platforms.kubernetes.client import APPLY_CONTENT_TYPE
from tests.unit.kubernetes.conftest import EXPERIMENTS
from tests.unit.kubernetes.fakeapi import RECORDINGS

pytestmark = pytest.mark.usefixtures("stand_in_upstream")

UPSTREAM = RECORDINGS.parent / "data" / "upstream"


def _up(api, client, waiter, overrides=None, **kwargs):
    api.load("up_fresh_cluster")
    for path, response in (overrides or {}).items():
        api.routes[("GET", path)] = [response]
    out = io.StringIO()
    result = lifecycle.up(
        EXPERIMENTS / "ci-smoke.yaml",
        out=out,
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
    metric_reads = [
        i for i, (m, p) in enumerate(log) if "custom.metrics.k8s.io/v1beta1/namespaces" in p
    ]
    assert len(metric_reads) == 3  # 503 while the adapter starts, then 404, then a value
    hpa_reads = [
        i
        for i, (m, p) in enumerate(log)
        if m == "GET" and p.endswith("horizontalpodautoscalers/sampleapp")
    ]
    assert len(hpa_reads) == 2 and min(hpa_reads) > hpa_patch  # ScalingActive False, then True
    # the polls slept in virtual time only
    assert clock.slept and set(clock.slept) == {2}


def test_up_generates_a_grafana_password_and_never_prints_it(api, client, waiter):
    _, printed = _up(api, client, waiter)
    secret = next(
        r.body for r in api.calls("PATCH") if r.body["metadata"]["name"] == "grafana-admin"
    )
    password = secret["stringData"]["admin-password"]
    assert password not in ("admin", "<generated on apply; read it with kubectl>")
    assert len(password) >= 24
    assert password not in printed
    assert "get secret grafana-admin" in printed


def test_up_keeps_an_existing_grafana_password(api, client, waiter):
    secret = {
        "kind": "Secret",
        "metadata": {"name": "grafana-admin"},
        "data": {"admin-password": "c2VjcmV0"},
    }
    path = "/api/v1/namespaces/hpalab/secrets/grafana-admin"
    _up(api, client, waiter, overrides={path: {"status": 200, "body": secret}})
    assert ("Secret", "grafana-admin") not in _applied(api)


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
        assert body["metadata"]["labels"]["app.kubernetes.io/instance"] == "hpalab"


def test_up_leaves_upstream_components_installed_by_someone_else_alone(api, client, waiter):
    foreign = {
        "status": 200,
        "body": {
            "metadata": {"name": "v1beta1.metrics.k8s.io", "labels": {"k8s-app": "metrics-server"}},
            "status": {"conditions": [{"type": "Available", "status": "True"}]},
        },
    }
    path = "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io"
    _, printed = _up(api, client, waiter, overrides={path: foreign})
    assert ("Deployment", "metrics-server") not in _applied(api)
    assert "using the metrics-server already installed" in printed


def test_up_times_out_with_the_last_reason_and_a_hint(api, client, waiter):
    stuck = {
        "status": 200,
        "body": {
            "metadata": {"name": "prometheus-operator", "generation": 1},
            "spec": {"replicas": 1},
            "status": {
                "observedGeneration": 1,
                "replicas": 1,
                "updatedReplicas": 1,
                "availableReplicas": 0,
            },
        },
    }
    path = "/apis/apps/v1/namespaces/default/deployments/prometheus-operator"
    with pytest.raises(PlatformError) as caught:
        _up(api, client, waiter, overrides={path: stuck})
    assert "0/1 available" in caught.value.message
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
    report = lifecycle.status(out=out, client=client)
    assert report["deployments"] == {"sampleapp": True, "prometheus-adapter": False}
    assert report["apiservices"] == {
        "v1beta1.custom.metrics.k8s.io": True,
        "v1beta1.external.metrics.k8s.io": False,
    }
    assert report["hpa"]["desiredReplicas"] == 3
    text = out.getvalue()
    assert "prometheus-adapter: not ready (0/1 updated" in text
    assert "unavailable (FailedDiscoveryCheck)" in text
    assert "hpa sampleapp: 2 → 3 replicas, ScalingActive=True" in text


def test_status_of_an_empty_namespace_says_how_to_start(api, client):
    out = io.StringIO()
    assert lifecycle.status(out=out, client=client)["deployments"] == {}
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
    earlier = {
        "kind": "Secret",
        "metadata": {"name": "prometheus-adapter-tls"},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "Y3J0", "tls.key": "a2V5", "ca.crt": "Q0E="},
    }
    path = "/api/v1/namespaces/hpalab/secrets/prometheus-adapter-tls"
    _up(api, client, waiter, overrides={path: {"status": 200, "body": earlier}})
    assert ("Secret", "prometheus-adapter-tls") not in _applied(api)
    apiservice = next(
        r.body
        for r in api.calls("PATCH")
        if r.body["metadata"]["name"] == "v1beta1.custom.metrics.k8s.io"
    )
    assert apiservice["spec"]["caBundle"] == "Q0E="

"""hpalab's KubeClient against the real API server: server-side apply on the wire, lists,
404s, the API's own error messages, the aggregator's plain-text 503, watches, and discovery."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from hpalab.cluster.config import ClusterConfig
from hpalab.errors import PlatformError
from hpalab.platforms.kubernetes.client import ApiStatusError, KubeClient, load_api_client
from hpalab.platforms.kubernetes.metrics_api import metric_read, resolved
from hpalab.platforms.kubernetes.resources import discovered_plural
from tests.cluster.conftest import Kube, wait_for


@pytest.fixture
def client(cluster: ClusterConfig) -> KubeClient:
    return KubeClient(load_api_client(context=None, config_file=cluster.kubeconfig), timeout_s=20)


def _configmap(namespace: str, name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"t": "client"}},
        "data": data,
    }


def test_apply_get_list_and_delete(kube: Kube, client: KubeClient) -> None:
    ns = kube.namespace
    applied = client.apply(_configmap(ns, "one", a="1"))
    assert applied["metadata"]["uid"] and applied["data"] == {"a": "1"}
    managers = {(m["manager"], m["operation"]) for m in applied["metadata"]["managedFields"]}
    assert ("hpalab", "Apply") in managers
    client.apply(_configmap(ns, "one", a="2"))  # a second apply updates in place
    path = f"/api/v1/namespaces/{ns}/configmaps"
    assert [c["data"] for c in client.list(path, label_selector="t=client")] == [{"a": "2"}]
    assert client.list(path, label_selector="t=other") == []
    assert client.get(f"{path}/absent") is None
    assert client.delete(f"{path}/one") is True
    assert wait_for(lambda: client.get(f"{path}/one") is None, timeout_s=30, what="deleted")
    assert client.delete(f"{path}/one") is False


def test_an_invalid_object_is_an_error_with_the_api_servers_message(
    kube: Kube, client: KubeClient
) -> None:
    with pytest.raises(ApiStatusError) as caught:
        client.apply(_configmap(kube.namespace, "Not_A_Name"))
    assert caught.value.status == 422
    assert "Not_A_Name" in caught.value.message and "RFC 1123" in caught.value.message
    assert "dry-run" in (caught.value.hint or "")


def _unavailable_api(kube: Kube, group: str) -> dict[str, Any]:
    """An APIService whose Service has no pods: the aggregator answers for it in plain text."""
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "nobody"},
            "spec": {"selector": {"app": "nobody"}, "ports": [{"port": 443}]},
        }
    )
    return {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": f"v1alpha1.{group}"},
        "spec": {
            "group": group,
            "version": "v1alpha1",
            "service": {"name": "nobody", "namespace": kube.namespace, "port": 443},
            "insecureSkipTLSVerify": True,
            "groupPriorityMinimum": 10,
            "versionPriority": 10,
        },
    }


def test_the_aggregators_plain_text_503_is_a_platform_error(kube: Kube, client: KubeClient) -> None:
    group = f"{kube.namespace}.hpalab.example.com"
    apiservice = _unavailable_api(kube, group)
    client.apply(apiservice)
    try:

        def answered() -> ApiStatusError | None:
            try:
                client.get(f"/apis/{group}/v1alpha1")
            except ApiStatusError as error:
                return error if error.status == 503 else None
            return None  # 404 until the aggregator has registered the group

        error = wait_for(answered, timeout_s=60, what="the aggregator to answer 503")
        raw = client.request("GET", f"/apis/{group}/v1alpha1")
        assert raw.status == 503 and "json" not in raw.headers.get("Content-Type", "")
        assert isinstance(error, PlatformError)
        assert "service unavailable" in error.message.lower()
        assert "apiservice" in (error.hint or "").lower()
        # a watch (as the platform's watchers hold) gets the same answer and the same error
        with pytest.raises(ApiStatusError, match="service unavailable") as caught:
            next(client.watch(f"/apis/{group}/v1alpha1/things", timeout_s=5))
        assert caught.value.status == 503
    finally:
        client.delete(f"/apis/apiregistration.k8s.io/v1/apiservices/v1alpha1.{group}")


def test_a_watch_streams_events_and_an_error_status_is_an_api_error(
    kube: Kube, client: KubeClient
) -> None:
    path = f"/api/v1/namespaces/{kube.namespace}/configmaps"
    listed = client.get(path)
    assert listed is not None
    version = listed["metadata"]["resourceVersion"]
    seen: list[str] = []

    def watch() -> None:
        for event in client.watch(path, resource_version=version, timeout_s=5):
            if event["type"] == "ADDED":
                seen.append(event["object"]["metadata"]["name"])

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    client.apply(_configmap(kube.namespace, "watched"))
    thread.join(timeout=30)
    assert "watched" in seen
    with pytest.raises(ApiStatusError) as caught:  # resourceVersion "x" is not a version
        next(client.watch(path, resource_version="x", timeout_s=5))
    assert caught.value.status in (400, 500)


def test_object_metrics_use_the_resource_name_discovery_serves(client: KubeClient) -> None:
    assert discovered_plural(client, "networking.k8s.io/v1", "Ingress") == "ingresses"
    assert discovered_plural(client, "v1", "Endpoints") == "endpoints"
    assert discovered_plural(client, "networking.k8s.io/v1", "NetworkPolicy") == "networkpolicies"
    metric = {
        "type": "Object",
        "object": {
            "describedObject": {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "name": "main-route",
            },
            "metric": {"name": "requests_per_second"},
            "target": {"type": "Value", "value": "10"},
        },
    }
    read = resolved(client, metric_read(metric, namespace="shop", pod_selector=""))
    assert read.path == (
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/"
        "ingresses.networking.k8s.io/main-route/requests_per_second"
    )
    with pytest.raises(PlatformError, match="does not serve kind Gizmo"):
        discovered_plural(client, "networking.k8s.io/v1", "Gizmo")

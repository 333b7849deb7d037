"""hpalab's KubeClient against the real API server: server-side apply on the wire, lists,
404s, the API's own error messages and watches."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from hpalab.cluster.config import ClusterConfig
from hpalab.platforms.kubernetes.client import ApiStatusError, KubeClient, load_api_client
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

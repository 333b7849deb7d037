"""``down`` on the real API server: it waits until pods are really gone."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from hpalab.cluster import addons
from hpalab.cluster.config import ClusterConfig
from hpalab.platforms.kubernetes.client import KubeClient, load_api_client
from hpalab.platforms.kubernetes.objects import StackOptions, labels, owned_selector
from hpalab.platforms.kubernetes.teardown import down
from tests.cluster.conftest import wait_for

# A container that ignores SIGTERM, so its pod stays Terminating for its whole grace period.
STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(3600)"


@pytest.fixture
def client(cluster: ClusterConfig) -> KubeClient:
    return KubeClient(load_api_client(context=None, config_file=cluster.kubeconfig), timeout_s=20)


@pytest.fixture
def stack(
    cluster: ClusterConfig, client: KubeClient, request: pytest.FixtureRequest
) -> Iterator[StackOptions]:
    """A namespace name of this test's own; whatever is left is removed afterwards."""
    name = "h-" + request.node.name.replace("_", "-").lower()[5:35].strip("-")
    yield StackOptions(namespace=name, instance=name)
    down(namespace=name, out=io.StringIO(), client=client, wait=False)
    addons.kubectl(cluster, "delete", "namespace", name, "--ignore-not-found", "--wait=false")


def _namespace(options: StackOptions) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": options.namespace, "labels": labels(options, "hpalab")},
    }


def _workload(options: StackOptions) -> list[dict[str, Any]]:
    meta = {"namespace": options.namespace, "labels": labels(options, "stubborn")}
    pod_labels = {**labels(options, "stubborn")}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "stubborn", **meta},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": pod_labels},
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "terminationGracePeriodSeconds": 4,
                        "containers": [
                            {
                                "name": "main",
                                "image": "python:3.12",
                                "command": ["python", "-c", STUBBORN],
                            }
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", **meta},
            "data": {"a": "b"},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"{options.instance}-reader", "labels": meta["labels"]},
            "rules": [],
        },
    ]


def _left(client: KubeClient, options: StackOptions) -> list[str]:
    """What a leftover check sees: anything carrying the stack's labels, anywhere."""
    selector = owned_selector(options.instance)
    paths = (
        "/api/v1/pods",
        "/apis/apps/v1/replicasets",
        "/apis/apps/v1/deployments",
        "/api/v1/configmaps",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "/api/v1/namespaces",
    )
    return [
        f"{path.rsplit('/', 1)[1]}/{item['metadata']['name']}"
        for path in paths
        for item in client.list(path, label_selector=selector)
    ]


def _running_pods(client: KubeClient, options: StackOptions) -> int:
    path = f"/api/v1/namespaces/{options.namespace}/pods"
    pods = client.list(path, label_selector=owned_selector(options.instance))
    return sum(p.get("status", {}).get("phase") == "Running" for p in pods)


def test_down_returns_once_everything_is_gone_pods_included(
    client: KubeClient, stack: StackOptions
) -> None:
    client.apply(_namespace(stack))
    for body in _workload(stack):
        client.apply(body)
    wait_for(lambda: _running_pods(client, stack) == 2, timeout_s=90, what="2 running pods")
    out = io.StringIO()
    deleted = down(namespace=stack.namespace, out=out, client=client)
    assert _left(client, stack) == []
    assert client.get(f"/api/v1/namespaces/{stack.namespace}") is None
    assert f"Namespace {stack.namespace}" in deleted
    assert "Deployment" in out.getvalue() and "objects are gone" in out.getvalue()


def test_down_without_wait_returns_while_pods_still_terminate(
    client: KubeClient, stack: StackOptions
) -> None:
    # What a leftover check saw before `down` waited: the reason waiting is the default.
    client.apply(_namespace(stack))
    for body in _workload(stack):
        client.apply(body)
    wait_for(lambda: _running_pods(client, stack) == 2, timeout_s=90, what="2 running pods")
    down(namespace=stack.namespace, out=io.StringIO(), client=client, wait=False)
    assert any(name.startswith("pods/") for name in _left(client, stack))

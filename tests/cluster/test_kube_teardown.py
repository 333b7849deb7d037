"""The kubernetes platform's namespace handling and ``down`` on the real API server: ``down``
waits until pods are really gone, a namespace hpalab did not create is never adopted nor
deleted, and ``up`` straight after ``down`` waits for the Terminating namespace."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hpalab.cluster import addons
from hpalab.cluster.config import ClusterConfig
from hpalab.errors import UsageError
from hpalab.platforms.kubernetes.client import ApiStatusError, KubeClient, load_api_client
from hpalab.platforms.kubernetes.namespaces import CREATED_BY, prepare_namespace
from hpalab.platforms.kubernetes.objects import StackOptions, labels, owned_selector
from hpalab.platforms.kubernetes.teardown import down
from tests.cluster.conftest import Kube, wait_for

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
    assert prepare_namespace(client, stack) is True
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
    prepare_namespace(client, stack)
    for body in _workload(stack):
        client.apply(body)
    wait_for(lambda: _running_pods(client, stack) == 2, timeout_s=90, what="2 running pods")
    down(namespace=stack.namespace, out=io.StringIO(), client=client, wait=False)
    assert any(name.startswith("pods/") for name in _left(client, stack))


def test_a_namespace_hpalab_did_not_create_is_neither_adopted_nor_deleted(
    kube: Kube, client: KubeClient
) -> None:
    # `kube` made the namespace, as a team would; an older hpalab even labelled it as its own.
    shared = StackOptions(namespace=kube.namespace, instance=kube.namespace)
    kube(
        "label", "namespace", kube.namespace, *(f"{k}={v}" for k, v in labels(shared, "x").items())
    )
    kube("create", "configmap", "keep", "--from-literal=a=b")
    with pytest.raises(UsageError, match="hpalab did not create") as caught:
        prepare_namespace(client, shared)
    assert caught.value.exit_code == 2 and "--namespace" in (caught.value.hint or "")
    kube.apply(_workload(shared)[1])  # an object hpalab rendered into it
    out = io.StringIO()
    deleted = down(namespace=kube.namespace, out=out, client=client)
    assert deleted == [f"ConfigMap {kube.namespace}/settings"]
    assert f"kept Namespace {kube.namespace}: hpalab did not create it" in out.getvalue()
    namespace = client.get(f"/api/v1/namespaces/{kube.namespace}")
    assert namespace is not None and namespace["status"]["phase"] == "Active"
    assert client.get(f"/api/v1/namespaces/{kube.namespace}/configmaps/keep") is not None


def test_the_default_namespace_is_refused_before_anything_is_applied(client: KubeClient) -> None:
    with pytest.raises(UsageError, match="--namespace default"):
        prepare_namespace(client, StackOptions(namespace="default", instance="default"))


def test_a_later_up_accepts_the_namespace_hpalab_created_and_apply_keeps_the_mark(
    client: KubeClient, stack: StackOptions
) -> None:
    assert prepare_namespace(client, stack) is True
    # what `up` applies next: the namespace with hpalab's labels, by server-side apply
    client.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": stack.namespace, "labels": labels(stack, "hpalab")},
        }
    )
    assert prepare_namespace(client, stack) is False
    found = client.get(f"/api/v1/namespaces/{stack.namespace}")
    assert found is not None and found["metadata"]["annotations"][CREATED_BY] == stack.instance


def test_up_straight_after_down_waits_for_the_terminating_namespace(
    client: KubeClient, stack: StackOptions
) -> None:
    prepare_namespace(client, stack)
    held = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "held",
            "namespace": stack.namespace,
            "finalizers": ["hpalab.io/test-hold"],
        },
    }
    client.apply(held)
    down(namespace=stack.namespace, out=io.StringIO(), client=client, wait=False)
    # What `up` met before: a 403 that blamed permissions.
    with pytest.raises(ApiStatusError) as caught:
        client.apply({**held, "metadata": {"name": "new", "namespace": stack.namespace}})
    assert caught.value.status == 403 and "Terminating" in (caught.value.hint or "")

    def release() -> None:
        time.sleep(3)
        path = f"/api/v1/namespaces/{stack.namespace}/configmaps/held"
        client.call(
            "PATCH",
            path,
            body={"metadata": {"finalizers": None}},
            content_type="application/merge-patch+json",
        )

    releaser = threading.Thread(target=release, daemon=True)
    releaser.start()
    logged: list[str] = []
    assert prepare_namespace(client, stack, log=logged.append) is True
    releaser.join()
    assert logged == [
        f"waiting for namespace {stack.namespace} to finish terminating",
        f"created namespace {stack.namespace}",
    ]

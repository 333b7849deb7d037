"""The cluster profile read from the nodes. The hpalab-cluster node is the one `hpalab up`
listed in the captured recording; the kind, minikube and docker-desktop nodes carry only the
fields that tell them apart, since no such cluster runs here."""

from __future__ import annotations

from typing import Any

import pytest

from hpalab.platforms.kubernetes import profile
from tests.unit.kubernetes.fakeapi import recorded


class Nodes:
    """KubeClient's seam: ``list`` answers the nodes."""

    def __init__(self, nodes: list[dict[str, Any]]) -> None:
        self.nodes = nodes

    def list(self, path: str, **_: Any) -> list[dict[str, Any]]:
        assert path == "/api/v1/nodes"
        return self.nodes


def test_an_hpalab_cluster_gets_the_built_image_no_grafana_and_its_node_address():
    nodes = recorded("up_fresh_cluster")[("GET", "/api/v1/nodes")][0]["body"]["items"]
    found = profile.detect(Nodes(nodes))  # type: ignore[arg-type]
    assert found.hpalab_runtime and not found.grafana and not found.kubelet_insecure_tls
    assert found.app_image == profile.APP_IMAGE
    options = found.options(namespace="ns", app_image=None)
    assert options.app_image == profile.APP_IMAGE
    assert options.namespace == options.instance == "ns"
    assert found.node_url(30080).startswith("http://10.250.")
    assert found.options(namespace="ns", app_image="mine:1").app_image == "mine:1"


@pytest.mark.parametrize(
    "node",
    [
        {
            "metadata": {"name": "kind-control-plane"},
            "spec": {"providerID": "kind://docker/kind/kind-control-plane"},
        },
        {"metadata": {"name": "minikube", "labels": {"minikube.k8s.io/name": "minikube"}}},
        {"metadata": {"name": "docker-desktop"}},
    ],
)
def test_clusters_with_self_signed_kubelets(node: dict[str, Any]) -> None:
    node.setdefault("status", {"nodeInfo": {"containerRuntimeVersion": "containerd://2.1.1"}})
    found = profile.detect(Nodes([node]))  # type: ignore[arg-type]
    assert found.kubelet_insecure_tls and found.grafana and found.app_image is None
    assert found.node_url(30080) == "http://127.0.0.1:30080"


def test_other_clusters_verify_kubelet_certificates() -> None:
    node = {"metadata": {"name": "ip-10-0-0-1"}, "spec": {"providerID": "aws:///eu-west-1a/i-1"}}
    assert not profile.detect(Nodes([node])).kubelet_insecure_tls  # type: ignore[arg-type]

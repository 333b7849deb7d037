"""What kind of cluster this is, read from its nodes, and what that changes for the stack.

- ``kubelet_insecure_tls``: metrics-server must skip verifying kubelet certificates on kind,
  minikube and docker-desktop, whose kubelets serve self-signed certificates; recognised by the
  node's provider ID (``kind://``), minikube's node labels, or the node name.
- ``hpalab`` runtime (``hpalab cluster``): containers are programs of this machine, mapped by
  image. It runs the sample app from the ``hpalab/sample-app`` image (no pip install in the
  pod) and no Grafana (its image needs a browser-asset build). Its node address is reachable
  from here, so NodePorts are used there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hpalab import __version__
from hpalab.platforms.kubernetes.client import KubeClient
from hpalab.platforms.kubernetes.objects import StackOptions

HPALAB_RUNTIME = "hpalab://"
APP_IMAGE = f"hpalab/sample-app:{__version__}"


@dataclass(frozen=True, slots=True)
class Profile:
    runtime: str = ""
    kubelet_insecure_tls: bool = False
    grafana: bool = True
    """False when the cluster cannot run Grafana's image."""
    app_image: str | None = None
    """The sample-app image to use when none is given (``None``: source from a ConfigMap)."""
    node_address: str | None = None
    """Where NodePorts are reached from this machine (``None``: 127.0.0.1, as kind maps them)."""

    @property
    def hpalab_runtime(self) -> bool:
        return self.runtime.startswith(HPALAB_RUNTIME)

    def options(self, *, namespace: str, app_image: str | None) -> StackOptions:
        """The stack's options on this cluster; an explicit ``app_image`` wins."""
        return StackOptions(
            namespace=namespace, instance=namespace, app_image=app_image or self.app_image
        )

    def node_url(self, port: int) -> str:
        return f"http://{self.node_address or '127.0.0.1'}:{port}"


def _self_signed_kubelets(node: dict[str, Any]) -> bool:
    labels = node.get("metadata", {}).get("labels", {})
    return (
        str(node.get("spec", {}).get("providerID", "")).startswith("kind://")
        or any(key.startswith("minikube.k8s.io/") for key in labels)
        or node.get("metadata", {}).get("name") == "docker-desktop"
    )


def detect(client: KubeClient) -> Profile:
    nodes = client.list("/api/v1/nodes")
    if not nodes:
        return Profile()
    node = nodes[0]
    runtime = str(node.get("status", {}).get("nodeInfo", {}).get("containerRuntimeVersion", ""))
    insecure = any(_self_signed_kubelets(n) for n in nodes)
    if not runtime.startswith(HPALAB_RUNTIME):
        return Profile(runtime=runtime, kubelet_insecure_tls=insecure)
    addresses = node.get("status", {}).get("addresses", [])
    internal = next((a["address"] for a in addresses if a.get("type") == "InternalIP"), None)
    return Profile(
        runtime=runtime,
        kubelet_insecure_tls=insecure,
        grafana=False,
        app_image=APP_IMAGE,
        node_address=internal,
    )

"""kube-proxy in iptables mode; its rules exist only in the node's network namespace."""

from __future__ import annotations

import yaml

from hpalab.cluster.components.base import Component, http_ok, program
from hpalab.cluster.config import NODE_NAME, ClusterConfig


def settings(config: ClusterConfig) -> dict[str, object]:
    """The KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1)."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(config.path("kube-proxy.kubeconfig"))},
        "mode": "iptables",
        "clusterCIDR": config.pod_cidr,
        "hostnameOverride": NODE_NAME,
        "bindAddress": config.node_ip,
        "healthzBindAddress": f"{config.node_ip}:10256",
        "metricsBindAddress": f"{config.node_ip}:10249",
        "nodePortAddresses": [f"{config.node_ip}/32"],
        # The conntrack table size is the machine's, not the namespace's: leave it alone.
        "conntrack": {"maxPerCore": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }


def prepare(config: ClusterConfig) -> None:
    config.path("kube-proxy.yaml").write_text(yaml.safe_dump(settings(config), sort_keys=False))


def argv(config: ClusterConfig) -> list[str]:
    return [program("kube-proxy"), f"--config={config.path('kube-proxy.yaml')}"]


def healthy(config: ClusterConfig) -> bool:
    return http_ok(f"http://{config.node_ip}:10256/healthz")


COMPONENT = Component("kube-proxy", argv, healthy, prepare=prepare)

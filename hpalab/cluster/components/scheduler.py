"""kube-scheduler."""

from __future__ import annotations

from hpalab.cluster.components.base import Component, http_ok, program
from hpalab.cluster.config import ClusterConfig


def argv(config: ClusterConfig) -> list[str]:
    kubeconfig = config.path("scheduler.kubeconfig")
    return [
        program("kube-scheduler"),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--bind-address={config.node_ip}",
        "--leader-elect=false",
        "--profiling=false",
    ]


def healthy(config: ClusterConfig) -> bool:
    return http_ok(f"https://{config.node_ip}:10259/healthz")


COMPONENT = Component("kube-scheduler", argv, healthy)

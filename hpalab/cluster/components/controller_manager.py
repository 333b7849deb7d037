"""kube-controller-manager, with the HPA flags of the cluster's configuration."""

from __future__ import annotations

from hpalab.cluster.components.base import Component, http_ok, program
from hpalab.cluster.config import ClusterConfig


def argv(config: ClusterConfig) -> list[str]:
    pki = config.path("pki")
    kubeconfig = config.path("controller-manager.kubeconfig")
    return [
        program("kube-controller-manager"),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--bind-address={config.node_ip}",
        f"--cluster-signing-cert-file={pki / 'ca.crt'}",
        f"--cluster-signing-key-file={pki / 'ca.key'}",
        f"--root-ca-file={pki / 'ca.crt'}",
        f"--service-account-private-key-file={pki / 'sa.key'}",
        f"--service-cluster-ip-range={config.service_cidr}",
        "--use-service-account-credentials=true",
        "--leader-elect=false",
        "--profiling=false",
        *config.controller.args(),
    ]


def healthy(config: ClusterConfig) -> bool:
    return http_ok(f"https://{config.node_ip}:10257/healthz")


COMPONENT = Component("kube-controller-manager", argv, healthy)

"""kube-apiserver, on the node address; the aggregator routes to endpoints directly."""

from __future__ import annotations

from hpalab.cluster.components.base import Component, http_ok, program
from hpalab.cluster.components.etcd import CLIENT
from hpalab.cluster.config import CLUSTER_DOMAIN, ClusterConfig


def argv(config: ClusterConfig) -> list[str]:
    pki = config.path("pki")
    return [
        program("kube-apiserver"),
        f"--advertise-address={config.node_ip}",
        f"--bind-address={config.node_ip}",
        "--secure-port=6443",
        f"--etcd-servers={CLIENT}",
        f"--service-cluster-ip-range={config.service_cidr}",
        f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
        f"--kubelet-certificate-authority={pki / 'ca.crt'}",
        "--kubelet-preferred-address-types=InternalIP",
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        f"--requestheader-client-ca-file={pki / 'front-proxy-ca.crt'}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-username-headers=X-Remote-User",
        f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}",
        f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
        # Aggregated APIs (metrics-server, prometheus-adapter) are reached at their pod
        # addresses: the host has no kube-proxy rules, only the node namespace has.
        "--enable-aggregator-routing=true",
        "--allow-privileged=true",
        "--profiling=false",
    ]


def healthy(config: ClusterConfig) -> bool:
    return http_ok(f"{config.server}/readyz", ca=config.path("pki", "ca.crt"))


COMPONENT = Component("kube-apiserver", argv, healthy, start_timeout_s=90)

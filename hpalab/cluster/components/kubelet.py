"""The kubelet, talking CRI to hpalab's runtime; Ready once the Node says so."""

from __future__ import annotations

from pathlib import Path

import yaml

from hpalab.cluster.components.base import Component, http_ok, program
from hpalab.cluster.components.runtime import socket_path
from hpalab.cluster.config import CLUSTER_DOMAIN, NODE_NAME, ClusterConfig


def settings(config: ClusterConfig) -> dict[str, object]:
    """The KubeletConfiguration (kubelet.config.k8s.io/v1beta1)."""
    pki = config.path("pki")
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": config.node_ip,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": config.node_ip,
        "healthzPort": 10248,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet-serving.key"),
        "containerRuntimeEndpoint": f"unix://{socket_path(config)}",
        "cgroupDriver": "cgroupfs",
        # Every pod cgroup of this cluster lives below its own root, so two clusters never
        # share one and `down` removes exactly this cluster's.
        "cgroupRoot": config.cgroup_root,
        # This machine has cgroup v1 only; the kubelet refuses it since 1.35 unless told.
        "failCgroupV1": False,
        "failSwapOn": False,
        "clusterDNS": [config.dns_ip],
        "clusterDomain": CLUSTER_DOMAIN,
        # No upstream resolvers: names outside the cluster do not resolve, nothing leaves.
        "resolvConf": "",
        "podLogsDir": str(config.path("pod-logs")),
        "podCIDR": config.pod_cidr,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
        "nodeStatusReportFrequency": "10s",
        "syncFrequency": "10s",
    }


def make_cgroup_root(config: ClusterConfig) -> None:
    """The kubelet wants its cgroupRoot to exist in every hierarchy before it starts."""
    base = Path("/sys/fs/cgroup")
    for hierarchy in sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink()):
        if hierarchy.name == "unified":
            continue
        root = hierarchy / config.cgroup_root.strip("/")
        root.mkdir(exist_ok=True)
        if hierarchy.name == "cpuset":
            # A new cpuset has no CPUs or memory nodes until given its parent's.
            for name in ("cpuset.cpus", "cpuset.mems"):
                (root / name).write_text((hierarchy / name).read_text())


def prepare(config: ClusterConfig) -> None:
    make_cgroup_root(config)
    config.path("kubelet.yaml").write_text(yaml.safe_dump(settings(config), sort_keys=False))


def argv(config: ClusterConfig) -> list[str]:
    return [
        program("kubelet"),
        f"--config={config.path('kubelet.yaml')}",
        f"--kubeconfig={config.path('kubelet.kubeconfig')}",
        f"--root-dir={config.path('kubelet')}",
        f"--node-ip={config.node_ip}",
        f"--hostname-override={NODE_NAME}",
    ]


def healthy(config: ClusterConfig) -> bool:
    return http_ok(f"http://{config.node_ip}:10248/healthz")


COMPONENT = Component("kubelet", argv, healthy, start_timeout_s=60, prepare=prepare)

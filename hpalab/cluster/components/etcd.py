"""etcd: the cluster's store, on the node's loopback only (its health on the node address)."""

from __future__ import annotations

from hpalab.cluster.components.base import Component, http_ok, program
from hpalab.cluster.config import ClusterConfig

CLIENT = "http://127.0.0.1:2379"
PEER = "http://127.0.0.1:2380"


def argv(config: ClusterConfig) -> list[str]:
    return [
        program("etcd"),
        "--name=node",
        f"--data-dir={config.path('etcd')}",
        f"--listen-client-urls={CLIENT}",
        f"--advertise-client-urls={CLIENT}",
        f"--listen-peer-urls={PEER}",
        f"--initial-advertise-peer-urls={PEER}",
        f"--initial-cluster=node={PEER}",
        # /health and /metrics only, for hpalab's health check from the host.
        f"--listen-metrics-urls=http://{config.node_ip}:2381",
        "--log-level=warn",
        # A throw-away single-node test cluster: durability is not worth an fsync per write.
        "--unsafe-no-fsync",
    ]


def healthy(config: ClusterConfig) -> bool:
    return http_ok(f"http://{config.node_ip}:2381/health")


COMPONENT = Component("etcd", argv, healthy, start_timeout_s=30)

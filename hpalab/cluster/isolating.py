"""Cutting a pod off the network, as if its process were gone, with its state kept.

Every packet the node forwards to the pod's address is refused: TCP with a reset, as a closed
port answers, the rest dropped. Pods reach each other through the node's bridge, whose traffic
passes the node namespace's ``FORWARD`` chain (``bridge-nf-call-iptables``), and Services and
NodePorts are DNATed to the pod's address before it: so neither its clients (the adapter,
hpalab through the NodePort) nor the targets it scrapes, whose answers come back to that
address, get through. The kubelet's probes come from the node itself (``OUTPUT``, not
``FORWARD``), so the pod is not restarted. A Prometheus cut off this way neither answers nor
scrapes, like a dead one, and keeps what it had (``prometheusOutage``).
"""

from __future__ import annotations

import ipaddress
import subprocess

from hpalab.cluster.config import ClusterConfig
from hpalab.cluster.network import in_netns
from hpalab.errors import PlatformError, UsageError


def _rules(ip: str) -> list[list[str]]:
    target = f"{ip}/32"
    return [
        ["-d", target, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"],
        ["-d", target, "-j", "DROP"],
    ]


def _iptables(config: ClusterConfig, *args: str) -> subprocess.CompletedProcess[str]:
    argv = in_netns(config.netns, ["iptables", "-w", *args])
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def isolate_pod(config: ClusterConfig, ip: str, isolated: bool) -> None:
    """Refuse (or again forward) everything sent to pod address ``ip`` on ``config``'s node."""
    address = ipaddress.ip_address(ip)
    if address not in ipaddress.ip_network(config.pod_cidr):
        raise UsageError(f"{ip} is not a pod address of cluster {config.name}")
    # The REJECT rule goes first: inserted last, at the top.
    for rule in reversed(_rules(ip)) if isolated else _rules(ip):
        present = _iptables(config, "-C", "FORWARD", *rule).returncode == 0
        if isolated and not present:
            done = _iptables(config, "-I", "FORWARD", "1", *rule)
        elif not isolated and present:
            done = _iptables(config, "-D", "FORWARD", *rule)
        else:
            continue
        if done.returncode != 0:
            raise PlatformError(f"iptables on cluster {config.name}: {done.stderr.strip()}")

"""Cutting a pod off the network, as if its process were gone, with its state kept.

Every packet the node forwards to the pod's address is refused: TCP with a reset, as a closed
port answers, the rest dropped. Pods reach each other through the node's bridge, whose traffic
passes the node namespace's ``FORWARD`` chain (``bridge-nf-call-iptables``), and Services and
NodePorts are DNATed to the pod's address before it: so neither its clients (the adapter,
hpalab through the NodePort) nor the targets it scrapes, whose answers come back to that
address, get through. The kubelet's probes come from the node itself (``OUTPUT``, not
``FORWARD``), so the pod is not restarted. A Prometheus cut off this way neither answers nor
scrapes, like a dead one, and keeps what it had (``prometheusOutage``).

Every rule a fault adds carries the comment ``hpalab-fault``; :func:`remove_fault_rules` takes
away any that a killed run left behind.
"""

from __future__ import annotations

import ipaddress
import shlex
import subprocess
from dataclasses import dataclass

from hpalab.cluster.config import ClusterConfig
from hpalab.cluster.network import in_netns
from hpalab.errors import PlatformError, UsageError

COMMENT = "hpalab-fault"


def _iptables(config: ClusterConfig, *args: str) -> subprocess.CompletedProcess[str]:
    argv = in_netns(config.netns, ["iptables", "-w", *args])
    return subprocess.run(argv, capture_output=True, text=True, check=False)


@dataclass(frozen=True, slots=True)
class Rule:
    """One iptables rule of a fault, in the node's network namespace."""

    table: str
    chain: str
    spec: list[str]

    def _args(self) -> list[str]:
        return [self.chain, "-m", "comment", "--comment", COMMENT, *self.spec]

    def present(self, config: ClusterConfig) -> bool:
        return _iptables(config, "-t", self.table, "-C", *self._args()).returncode == 0

    def insert(self, config: ClusterConfig) -> None:
        """Put the rule first in its chain (once)."""
        if self.present(config):
            return
        chain, *rest = self._args()
        done = _iptables(config, "-t", self.table, "-I", chain, "1", *rest)
        if done.returncode != 0:
            raise PlatformError(f"iptables on cluster {config.name}: {done.stderr.strip()}")

    def delete(self, config: ClusterConfig) -> None:
        while self.present(config):
            _iptables(config, "-t", self.table, "-D", *self._args())


def remove_fault_rules(config: ClusterConfig) -> int:
    """Delete every rule a fault added (those left by a killed run too); how many there were."""
    removed = 0
    for table in ("filter", "nat"):
        listed = _iptables(config, "-t", table, "-S").stdout.splitlines()
        for line in listed:
            if f"--comment {COMMENT}" in line and line.startswith("-A "):
                _iptables(config, "-t", table, "-D", *shlex.split(line)[1:])
                removed += 1
    return removed


def _isolation(ip: str) -> list[Rule]:
    target = ["-d", f"{ip}/32"]
    return [
        Rule(
            "filter",
            "FORWARD",
            [*target, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"],
        ),
        Rule("filter", "FORWARD", [*target, "-j", "DROP"]),
    ]


def isolate_pod(config: ClusterConfig, ip: str, isolated: bool) -> None:
    """Refuse (or again forward) everything sent to pod address ``ip`` on ``config``'s node."""
    if ipaddress.ip_address(ip) not in ipaddress.ip_network(config.pod_cidr):
        raise UsageError(f"{ip} is not a pod address of cluster {config.name}")
    rules = _isolation(ip)
    # The REJECT rule goes first: inserted last, at the top.
    for rule in reversed(rules) if isolated else rules:
        rule.insert(config) if isolated else rule.delete(config)

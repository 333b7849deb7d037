"""Pod sandboxes' networks: a namespace, a veth onto the node's bridge, an address, loopback.

The runtime runs in the node's network namespace, so ``ip link add … netns`` puts the pod's
end into the pod namespace and leaves the other end on the node's bridge.
"""

from __future__ import annotations

import ipaddress

from hpalab.cluster.config import ClusterConfig
from hpalab.cluster.network import BRIDGE, ip, netns_exists


def netns_name(config: ClusterConfig, sandbox_id: str) -> str:
    return f"{config.pod_netns_prefix}{sandbox_id[:12]}"


def host_link(sandbox_id: str) -> str:
    return f"vh{sandbox_id[:10]}"


def allocate(config: ClusterConfig, in_use: set[str], *, after: str | None = None) -> str:
    """The first free pod address after ``after`` (the last one given), wrapping around; the
    bridge has .1.

    Like the host-local IPAM plugin, addresses go round: a pod replacing a killed one must not
    get its address at once, or peers that still hold the old pod's MAC address for it (a
    scraper's ARP entry, for up to a minute) send their packets nowhere.
    """
    hosts = [str(h) for h in list(ipaddress.ip_network(config.pod_cidr).hosts())[1:]]
    start = hosts.index(after) + 1 if after in hosts else 0
    for host in hosts[start:] + hosts[:start]:
        if host not in in_use:
            return host
    raise RuntimeError(f"no free address left in {config.pod_cidr}")


def create(config: ClusterConfig, sandbox_id: str, address: str) -> str:
    """Make the pod's namespace with ``address``; return the namespace's name."""
    ns = netns_name(config, sandbox_id)
    link = host_link(sandbox_id)
    destroy(config, sandbox_id)
    ip("netns", "add", ns)
    ip("link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("link", "set", link, "master", BRIDGE, "up")
    ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
    ip("-n", ns, "link", "set", "eth0", "up")
    ip("-n", ns, "link", "set", "lo", "up")
    # The node forwards only between its bridge and the host link, so this default route
    # reaches the cluster and the host's end of the link, nothing beyond the machine.
    ip("-n", ns, "route", "add", "default", "via", config.bridge_ip)
    return ns


def destroy(config: ClusterConfig, sandbox_id: str) -> None:
    ip("link", "delete", host_link(sandbox_id), check=False)
    ns = netns_name(config, sandbox_id)
    if netns_exists(ns):
        ip("netns", "delete", ns, check=False)


def resolv_conf(servers: list[str], searches: list[str], options: list[str]) -> str:
    lines = [f"nameserver {s}" for s in servers]
    if searches:
        lines.append("search " + " ".join(searches))
    if options:
        lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"

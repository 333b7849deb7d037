"""The node's network namespace, its link to the host, and the routes that keep traffic here.

Everything is made with the ``ip`` command (iproute2) and undone by :func:`teardown`, which
works on a half-made network too. iptables rules exist only inside the node namespace
(kube-proxy's), so deleting the namespace deletes them.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

from hpalab.cluster.config import ClusterConfig
from hpalab.errors import PlatformError, PrerequisiteError

NETNS_DIR = Path("/run/netns")
BRIDGE = "cbr0"
UNREACHABLE_METRIC = "4000"


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``ip ARGS``; raise :class:`PlatformError` with its stderr when it fails."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise PlatformError(
            f"`ip {' '.join(args)}` failed: {result.stderr.strip()}",
            hint="hpalab cluster needs root and iproute2; `hpalab cluster down` undoes a "
            "half-made network",
        )
    return result


def in_netns(netns: str, argv: list[str]) -> list[str]:
    """``argv`` run in network namespace ``netns`` (and nothing else changed)."""
    return ["nsenter", f"--net={NETNS_DIR / netns}", "--", *argv]


def sysctl(netns: str, key: str, value: str) -> None:
    # /proc/sys/net belongs to the reading process's namespace, so nsenter sets the node's.
    subprocess.run(in_netns(netns, ["sysctl", "-q", "-w", f"{key}={value}"]), check=True)


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def check_prerequisites() -> None:
    """Root, and the commands the network and kube-proxy need."""
    import os

    if os.geteuid() != 0:
        raise PrerequisiteError(
            "hpalab cluster needs root (network namespaces, cgroups, mounts)",
            hint="run it as root, for example with sudo",
        )
    for tool, package in (("ip", "iproute2"), ("nsenter", "util-linux"), ("iptables", "iptables")):
        if shutil.which(tool) is None:
            raise PrerequisiteError(
                f"the `{tool}` command is missing", hint=f"apt-get install {package}"
            )


def setup(config: ClusterConfig) -> None:
    """Create the node namespace, its veth link to the host, the pod bridge and the routes."""
    ns = config.netns
    if not netns_exists(ns):
        ip("netns", "add", ns)
    if ip("link", "show", config.host_veth, check=False).returncode != 0:
        ip("link", "add", config.host_veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        ip("addr", "add", f"{config.host_ip}/30", "dev", config.host_veth)
        ip("link", "set", config.host_veth, "up")
        ip("-n", ns, "addr", "add", f"{config.node_ip}/30", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", ns, "link", "set", "lo", "up")
    if ip("-n", ns, "link", "show", BRIDGE, check=False).returncode != 0:
        ip("-n", ns, "link", "add", BRIDGE, "type", "bridge")
        ip("-n", ns, "addr", "add", f"{config.bridge_ip}/24", "dev", BRIDGE)
        ip("-n", ns, "link", "set", BRIDGE, "up")
    sysctl(ns, "net.ipv4.ip_forward", "1")
    sysctl(ns, "net.bridge.bridge-nf-call-iptables", "1")
    # A service address that no DNAT rule claims must fail here, not be forwarded anywhere.
    ip("-n", ns, "route", "replace", "unreachable", config.service_cidr)
    for cidr in (config.pod_cidr, config.service_cidr):
        ip("route", "replace", cidr, "via", config.node_ip)
        ip("route", "replace", "unreachable", cidr, "metric", UNREACHABLE_METRIC)


def netns_inodes(config: ClusterConfig) -> set[int]:
    """Inode numbers of the node namespace and of every pod namespace of the cluster."""
    inodes = set()
    for name in namespaces(config):
        with contextlib.suppress(OSError):
            inodes.add((NETNS_DIR / name).stat().st_ino)
    return inodes


def namespaces(config: ClusterConfig) -> list[str]:
    """The cluster's network namespaces by name: its pods' and its node's (``ip netns`` names,
    which carry the cluster's name, not its index)."""
    names = sorted(e.name for e in NETNS_DIR.iterdir()) if NETNS_DIR.is_dir() else []
    pods = [n for n in names if n.startswith(config.pod_netns_prefix)]
    return pods + [n for n in names if n == config.netns]


def delete_namespaces(config: ClusterConfig) -> None:
    """Delete the pods' namespaces, then the node's (with it, the node's end of the veth)."""
    for name in namespaces(config):
        ip("netns", "delete", name, check=False)


def teardown(config: ClusterConfig) -> None:
    """Delete every namespace, link and route the cluster made; missing ones are fine."""
    delete_namespaces(config)
    ip("link", "delete", config.host_veth, check=False)
    for cidr in (config.pod_cidr, config.service_cidr):
        ip("route", "delete", cidr, "via", config.node_ip, check=False)
        ip("route", "delete", "unreachable", cidr, "metric", UNREACHABLE_METRIC, check=False)


def leftovers(config: ClusterConfig) -> list[str]:
    """What of the cluster's network still exists (for ``status`` and the tests)."""
    found = [f"netns {n}" for n in namespaces(config)]
    if ip("link", "show", config.host_veth, check=False).returncode == 0:
        found.append(f"link {config.host_veth}")
    routes = ip("route", "show", "table", "all", check=False).stdout.splitlines()
    found += [f"route {r}" for r in routes if config.pod_cidr in r or config.service_cidr in r]
    return found

"""One typed object that describes a cluster; every component's flags are rendered from it.

A cluster lives in one state directory (``~/.local/state/hpalab/clusters/NAME`` unless
``$HPALAB_CLUSTER_DIR`` says otherwise) and in one network namespace of its own, the *node*
namespace, like a kind node container. Its addresses come from the cluster's index, so that
several clusters on one machine never share an address, a route or an iptables rule:

==================  ======================  ==========================================
what                address (index N)       where it exists
==================  ======================  ==========================================
host end of link    10.250.N.1/30           the host, on veth ``hpl-N``
node address        10.250.N.2/30           the node namespace; apiserver, kubelet
pod range           10.244.N.0/24           bridge ``cbr0`` (10.244.N.1) in the node
service range       10.96.N.0/24            only as DNAT rules in the node namespace
==================  ======================  ==========================================

The host routes the pod and service ranges to the node address and nowhere else; an
``unreachable`` route for each range stays behind them, so a packet for a cluster address
that is gone fails on this machine instead of following the default route out.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hpalab.errors import UsageError

MAX_CLUSTERS = 64
NODE_NAME = "hpalab-node"
CLUSTER_DOMAIN = "cluster.local"


def clusters_home() -> Path:
    """Where every cluster's state directory lives."""
    explicit = os.environ.get("HPALAB_CLUSTER_DIR")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "hpalab" / "clusters"


def check_name(name: str) -> str:
    """A cluster name: lower-case letters, digits and dashes, at most 20 characters."""
    ok = 0 < len(name) <= 20 and name[0].isalpha()
    ok = ok and all(c.islower() or c.isdigit() or c == "-" for c in name)
    if not ok:
        raise UsageError(
            f"bad cluster name {name!r}",
            hint="use 1-20 lower-case letters, digits or dashes, starting with a letter",
        )
    return name


@dataclass(frozen=True)
class ControllerFlags:
    """kube-controller-manager's HPA flags, as the flag strings the binary takes."""

    hpa_sync_period: str = "15s"
    """``--horizontal-pod-autoscaler-sync-period``."""
    hpa_tolerance: float = 0.1
    """``--horizontal-pod-autoscaler-tolerance`` (a fraction)."""
    downscale_stabilization: str = "5m0s"
    """``--horizontal-pod-autoscaler-downscale-stabilization``."""
    initial_readiness_delay: str = "30s"
    """``--horizontal-pod-autoscaler-initial-readiness-delay``."""
    cpu_initialization_period: str = "5m0s"
    """``--horizontal-pod-autoscaler-cpu-initialization-period``."""

    def args(self) -> list[str]:
        prefix = "--horizontal-pod-autoscaler-"
        return [
            f"{prefix}sync-period={self.hpa_sync_period}",
            f"{prefix}tolerance={self.hpa_tolerance}",
            f"{prefix}downscale-stabilization={self.downscale_stabilization}",
            f"{prefix}initial-readiness-delay={self.initial_readiness_delay}",
            f"{prefix}cpu-initialization-period={self.cpu_initialization_period}",
        ]


@dataclass(frozen=True)
class ClusterConfig:
    """Everything that distinguishes one cluster from another."""

    name: str
    index: int
    """0 ≤ index < 64; picks the addresses (see the module docstring)."""
    kubernetes_version: str
    controller: ControllerFlags = field(default_factory=ControllerFlags)

    # -- places ---------------------------------------------------------------------------

    @property
    def state_dir(self) -> Path:
        return clusters_home() / self.name

    def path(self, *parts: str) -> Path:
        return self.state_dir.joinpath(*parts)

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig users and the kubernetes platform get."""
        return self.path("kubeconfig")

    @property
    def netns(self) -> str:
        """The node's network namespace (``ip netns`` name)."""
        return f"hpalab-{self.name}"

    @property
    def pod_netns_prefix(self) -> str:
        return f"hpalab-{self.name}-pod-"

    @property
    def cgroup_root(self) -> str:
        """The kubelet's ``cgroupRoot``: every pod cgroup of this cluster lives below it."""
        return f"/hpalab-{self.name}"

    @property
    def host_veth(self) -> str:
        return host_veth(self.index)

    # -- addresses ------------------------------------------------------------------------

    @property
    def host_ip(self) -> str:
        return f"10.250.{self.index}.1"

    @property
    def node_ip(self) -> str:
        return f"10.250.{self.index}.2"

    @property
    def pod_cidr(self) -> str:
        return f"10.244.{self.index}.0/24"

    @property
    def bridge_ip(self) -> str:
        return f"10.244.{self.index}.1"

    @property
    def service_cidr(self) -> str:
        return f"10.96.{self.index}.0/24"

    @property
    def kubernetes_service_ip(self) -> str:
        return f"10.96.{self.index}.1"

    @property
    def dns_ip(self) -> str:
        return f"10.96.{self.index}.10"

    @property
    def server(self) -> str:
        return f"https://{self.node_ip}:6443"

    # -- persistence ----------------------------------------------------------------------

    def save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.path("cluster.json").write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, name: str) -> ClusterConfig | None:
        """The saved configuration of cluster ``name``, or ``None`` when it has none."""
        file = clusters_home() / name / "cluster.json"
        try:
            data = json.loads(file.read_text())
            data["controller"] = ControllerFlags(**data.get("controller", {}))
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None

    def with_controller(self, controller: ControllerFlags) -> ClusterConfig:
        return ClusterConfig(
            name=self.name,
            index=self.index,
            kubernetes_version=self.kubernetes_version,
            controller=controller,
        )


def known_clusters() -> list[str]:
    """Names of the clusters that have a state directory."""
    home = clusters_home()
    if not home.is_dir():
        return []
    return sorted(p.name for p in home.iterdir() if p.is_dir())


SYS_NET = Path("/sys/class/net")


def host_veth(index: int) -> str:
    """The host end of cluster ``index``'s veth pair (its name is all another state directory
    can see of the cluster)."""
    return f"hpl-{index}"


def free_index(name: str) -> int:
    """The lowest index no other cluster uses (the saved one when ``name`` has one).

    Indices in use on the host count too: a cluster of another state directory (another user's
    home, another ``$HPALAB_CLUSTER_DIR``) holds its host veth, whose name carries its index.
    """
    own = ClusterConfig.load(name)
    if own is not None:
        return own.index
    taken = {c.index for n in known_clusters() if (c := ClusterConfig.load(n)) is not None}
    for index in range(MAX_CLUSTERS):
        if index not in taken and not (SYS_NET / host_veth(index)).exists():
            return index
    raise UsageError(
        f"{MAX_CLUSTERS} clusters exist already",
        hint="remove one with `hpalab cluster down --name NAME`",
    )

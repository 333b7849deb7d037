"""Controller flags per variant when the kubernetes platform runs on an ``hpalab cluster``.

kube-controller-manager's flags cannot be set through the API. On a cluster that ``hpalab
cluster`` made, hpalab owns the process, so each variant's ``spec.controller`` is really applied:
kube-controller-manager restarts with the variant's flags when they differ from the running
ones. The kubeconfig's server tells which cluster it is. On other clusters there is no hook and
the flags are read where visible, else recorded as assumed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from hpalab.errors import PlatformError
from hpalab.specs.experiment import ControllerFlags as ControllerSpec

ControllerHook = Callable[[ControllerSpec], dict[str, Any]]


def _server(context: str | None) -> str | None:
    from kubernetes import client, config

    configuration = client.Configuration()
    # The client reads $KUBECONFIG once, at import; read it now, as `hpalab run` is given it.
    path = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=path, context=context, client_configuration=configuration
        )
    except Exception:
        return None
    return str(configuration.host)


def _cluster_name(context: str | None) -> str | None:
    """The hpalab cluster the kubeconfig points at, if it is one."""
    from hpalab.cluster.config import ClusterConfig, known_clusters

    server = _server(context)
    for name in known_clusters():
        found = ClusterConfig.load(name)
        if found is not None and server and found.server == server:
            return name
    return None


def fault_platform(platform: str, context: str | None) -> str:
    """The key of ``PLATFORM_SUPPORT`` for faults: ``hpalab-cluster`` for the kubernetes
    platform on an hpalab cluster, where hpalab can cut a pod off the node's network."""
    if platform == "kubernetes" and _cluster_name(context) is not None:
        return "hpalab-cluster"
    return platform


def controller_hook(context: str | None) -> ControllerHook | None:
    """A hook that applies ``spec.controller`` to the hpalab cluster the kubeconfig points at."""
    name = _cluster_name(context)
    return None if name is None else lambda wanted: apply_flags(name, wanted)


class ClusterNode:
    """The node of an hpalab cluster, for the faults that need it (``platforms.kubernetes.
    faults.Node``). Made at the start of a run, it removes fault rules a killed run left."""

    def __init__(self, name: str) -> None:
        from hpalab.cluster.isolating import remove_fault_rules

        self.name = name
        remove_fault_rules(self._config())

    def _config(self) -> Any:
        from hpalab.cluster.config import ClusterConfig

        config = ClusterConfig.load(self.name)
        if config is None:
            raise PlatformError(f"cluster {self.name} is gone")
        return config

    def isolate(self, pod_ip: str, isolated: bool) -> None:
        from hpalab.cluster.isolating import isolate_pod

        isolate_pod(self._config(), pod_ip, isolated)

    def delay(self, pod_ip: str, delay_s: float, jitter_s: float) -> Callable[[], None]:
        from hpalab.cluster.delaying import PodDelay

        return PodDelay(self._config(), pod_ip, delay_s, jitter_s).stop


def cluster_node(context: str | None) -> ClusterNode | None:
    """The node of the hpalab cluster the kubeconfig points at, if it is one."""
    name = _cluster_name(context)
    return None if name is None else ClusterNode(name)


def apply_flags(name: str, wanted: ControllerSpec) -> dict[str, Any]:
    """Restart the cluster's kube-controller-manager with ``wanted`` unless it runs with them."""
    from hpalab.cluster import lifecycle
    from hpalab.cluster.config import ClusterConfig, ControllerFlags

    flags = ControllerFlags(
        hpa_sync_period=f"{wanted.sync_period:g}s",
        hpa_tolerance=wanted.tolerance,
        downscale_stabilization=f"{wanted.downscale_stabilization:g}s",
        initial_readiness_delay=f"{wanted.initial_readiness_delay:g}s",
        cpu_initialization_period=f"{wanted.cpu_initialization_period:g}s",
    )
    current = ClusterConfig.load(name)
    if current is None or current.controller != flags:
        lifecycle.restart_controller_manager(name, flags)
    return {"source": "set", **{field: float(getattr(wanted, field)) for field in FLAG_FIELDS}}


FLAG_FIELDS = (
    "sync_period",
    "tolerance",
    "downscale_stabilization",
    "initial_readiness_delay",
    "cpu_initialization_period",
)
"""The fields of ``spec.controller`` that are kube-controller-manager flags (its Kubernetes
version and feature gates are the cluster's own: hpalab cluster builds one version)."""

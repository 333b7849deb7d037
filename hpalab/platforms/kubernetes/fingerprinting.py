"""What a cluster run depends on: versions, and the HPA controller flags as far as they can be
read.

kube-controller-manager's flags cannot be set from inside a cluster. On kubeadm-style clusters
(kind, minikube, kubeadm) its static pod is visible in ``kube-system`` and its command line is
read; flags it does not set have Kubernetes' defaults. On managed clusters (EKS, GKE, AKS) the
control plane is hidden: the experiment's values are recorded as ``assumed``.
"""

from __future__ import annotations

from typing import Any

from hpalab.errors import PlatformError
from hpalab.platforms.kubernetes.client import KubeClient
from hpalab.specs import ExperimentSpec, parse_duration

FLAGS = {
    "sync_period": ("--horizontal-pod-autoscaler-sync-period", 15.0),
    "tolerance": ("--horizontal-pod-autoscaler-tolerance", 0.1),
    "downscale_stabilization": ("--horizontal-pod-autoscaler-downscale-stabilization", 300.0),
    "initial_readiness_delay": ("--horizontal-pod-autoscaler-initial-readiness-delay", 30.0),
    "cpu_initialization_period": ("--horizontal-pod-autoscaler-cpu-initialization-period", 300.0),
}
"""Spec field → (kube-controller-manager flag, Kubernetes' default)."""


def server_version(client: KubeClient) -> str:
    """The API server's ``gitVersion`` (``v1.33.1``)."""
    body = client.get("/version") or {}
    return str(body.get("gitVersion", "unknown"))


def _parse_flags(command: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for arg in command:
        if arg.startswith("--") and "=" in arg:
            key, value = arg.split("=", 1)
            out[key] = value
    return out


def _number(field: str, text: str) -> float:
    return float(text) if field == "tolerance" else parse_duration(text)


def controller_flags(client: KubeClient) -> dict[str, Any] | None:
    """The HPA flags read from kube-controller-manager's pod (defaults filled in), or ``None``
    when the control plane is not visible."""
    try:
        pods = client.list(
            "/api/v1/namespaces/kube-system/pods",
            label_selector="component=kube-controller-manager",
        )
    except PlatformError:
        return None
    if not pods:
        return None
    container = pods[0]["spec"]["containers"][0]
    flags = _parse_flags([*container.get("command", []), *container.get("args", [])])
    return {
        field: _number(field, flags[flag]) if flag in flags else default
        for field, (flag, default) in FLAGS.items()
    }


def flag_record(client: KubeClient, spec: ExperimentSpec) -> tuple[dict[str, Any], list[str]]:
    """``(record, mismatches)``: the flags with their source (``read`` or ``assumed``), and a
    sentence for each flag whose cluster value differs from the experiment's."""
    wanted = {field: float(getattr(spec.controller, field)) for field in FLAGS}
    read = controller_flags(client)
    if read is None:
        return {"source": "assumed", **wanted}, []
    mismatches = [
        f"{FLAGS[field][0]} is {read[field]:g} on the cluster but {wanted[field]:g} in the "
        "experiment; the cluster's value applies"
        for field in FLAGS
        if abs(read[field] - wanted[field]) > 1e-9
    ]
    return {"source": "read", **read}, mismatches

"""``hpalab down --platform kubernetes``: delete exactly what hpalab created, found by label."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from hpalab.platforms.kubernetes.client import (
    KubeClient,
    collection_path,
    describe,
    load_api_client,
    object_path,
)
from hpalab.platforms.kubernetes.objects import Obj, owned_selector

DELETE_ORDER = (
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("apiregistration.k8s.io/v1", "APIService"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "Prometheus"),
    ("batch/v1", "Job"),
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("v1", "ServiceAccount"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("v1", "Namespace"),
)
"""What ``down`` deletes, in order: the HPA first (it stops scaling), the aggregated APIs before
their backend, CRDs and the namespace last."""


def owned_objects(client: KubeClient, instance: str) -> list[Obj]:
    """Every object carrying hpalab's labels for ``instance``, in deletion order."""
    found: list[Obj] = []
    for api_version, kind in DELETE_ORDER:
        for item in client.list(
            collection_path(api_version, kind), label_selector=owned_selector(instance)
        ):
            found.append({"apiVersion": api_version, "kind": kind, **item})
    return found


def down(
    *,
    context: str | None = None,
    namespace: str = "hpalab",
    dry_run: bool = False,
    out: TextIO,
    kubeconfig: Path | None = None,
    client: KubeClient | None = None,
) -> list[str]:
    """Delete what ``up`` created in ``namespace`` (found by label); returns what was deleted.

    Objects without hpalab's labels are never touched, including upstream components that
    were installed before ``up`` (``up`` skips those).
    """
    client = client or KubeClient(load_api_client(context=context, config_file=kubeconfig))
    deleted: list[str] = []
    for body in owned_objects(client, namespace):
        name = describe(body)
        if dry_run or client.delete(object_path(body)):
            deleted.append(name)
            out.write(f"{'would delete' if dry_run else 'deleted'} {name}\n")
    if not deleted:
        out.write(f"nothing of hpalab instance {namespace!r} found\n")
    return deleted

"""``hpalab down --platform kubernetes``: delete exactly what hpalab created, found by label.

Deletion runs in three phases, each after the one before is done:

1. the HPA (it stops scaling), the APIServices (before their backend goes, so discovery never
   points at a dead service) and the operator's custom resources; then wait until the custom
   resources are gone, since a newer operator finalizes them and must still be running to;
2. the workloads, their configuration and RBAC, and the ``kube-system/kubelet`` Service and
   Endpoints that hpalab's prometheus-operator wrote (they carry the operator's labels, not
   hpalab's);
3. the CRDs and the namespace, the namespace only when hpalab created it.

With ``wait`` (the default), dependents are deleted in the foreground and ``down`` returns only
when every deleted object, its pods included, is gone, so that what runs next (a leftover check,
another ``up``) sees a clean cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from hpalab.errors import PlatformError
from hpalab.platforms.kubernetes.client import (
    KubeClient,
    collection_path,
    describe,
    load_api_client,
    object_path,
)
from hpalab.platforms.kubernetes.namespaces import created_by_hpalab
from hpalab.platforms.kubernetes.objects import Obj, owned_selector

DELETE_ORDER = (
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
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
"""What ``down`` lists by label, in deletion order."""

_FIRST = {
    "ScaledObject",
    "HorizontalPodAutoscaler",
    "ValidatingWebhookConfiguration",
    "APIService",
    "ServiceMonitor",
    "Prometheus",
}
# their operators' finalizers must run before the operators go
_CUSTOM_RESOURCES = {"ScaledObject", "ServiceMonitor", "Prometheus"}
_LAST = {"CustomResourceDefinition", "Namespace"}
_OPERATOR_LEFTOVERS = (
    "app.kubernetes.io/managed-by=prometheus-operator,app.kubernetes.io/name=kubelet"
)
_LEFTOVER_KINDS = (("v1", "Service"), ("v1", "Endpoints"))


def owned_objects(client: KubeClient, instance: str) -> list[Obj]:
    """Every object carrying hpalab's labels for ``instance``, in deletion order."""
    found: list[Obj] = []
    for api_version, kind in DELETE_ORDER:
        for item in client.list(
            collection_path(api_version, kind), label_selector=owned_selector(instance)
        ):
            found.append({"apiVersion": api_version, "kind": kind, **item})
    return found


def _operator_leftovers(client: KubeClient, deleted: list[Obj]) -> list[Obj]:
    """The kubelet Service and Endpoints hpalab's prometheus-operator wrote into kube-system;
    only when that operator is among what is deleted (someone else's operator keeps them)."""
    ours = any(
        b["kind"] == "Deployment" and b["metadata"]["name"] == "prometheus-operator"
        for b in deleted
    )
    if not ours:
        return []
    return [
        {"apiVersion": api_version, "kind": kind, **item}
        for api_version, kind in _LEFTOVER_KINDS
        for item in client.list(
            collection_path(api_version, kind, "kube-system"), label_selector=_OPERATOR_LEFTOVERS
        )
    ]


@dataclass
class _Deleter:
    client: KubeClient
    out: TextIO
    dry_run: bool
    wait: bool
    timeout_s: float
    poll_s: float
    clock: Callable[[], float]
    sleep: Callable[[float], None]

    def delete(self, bodies: list[Obj]) -> list[Obj]:
        """Delete ``bodies`` in order; returns those that existed."""
        deleted: list[Obj] = []
        for body in bodies:
            name = describe(body)
            # Foreground: an owner is gone only after its dependents (ReplicaSets, pods), so
            # waiting for the owner covers them; the namespace and CRDs clean up their own.
            foreground = self.wait and body["kind"] not in _LAST
            propagation = "Foreground" if foreground else "Background"
            if self.dry_run or self.client.delete(object_path(body), propagation=propagation):
                deleted.append(body)
                self.out.write(f"{'would delete' if self.dry_run else 'deleted'} {name}\n")
        return deleted

    def wait_gone(self, bodies: list[Obj], *, what: str) -> None:
        """Poll until every object in ``bodies`` is gone (404)."""
        if self.dry_run or not bodies:
            return
        deadline = self.clock() + self.timeout_s
        left = bodies
        while True:
            left = [b for b in left if self.client.get(object_path(b)) is not None]
            if not left:
                return
            if self.clock() >= deadline:
                names = ", ".join(describe(b) for b in left[:5])
                more = f" and {len(left) - 5} more" if len(left) > 5 else ""
                raise PlatformError(
                    f"{what}: still being deleted after {self.timeout_s:.0f} s: {names}{more}",
                    hint="`kubectl get <kind> <name> -o yaml` shows what holds it (finalizers, "
                    "pods in their grace period); `hpalab down` again resumes",
                )
            self.sleep(self.poll_s)


def down(
    *,
    context: str | None = None,
    namespace: str = "hpalab",
    dry_run: bool = False,
    wait: bool = True,
    timeout_s: float = 300.0,
    out: TextIO,
    kubeconfig: Path | None = None,
    client: KubeClient | None = None,
    poll_s: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Delete what ``up`` created in ``namespace`` (found by label); returns what was deleted.

    Objects without hpalab's labels are never touched, including upstream components that
    were installed before ``up`` (``up`` skips those), and a namespace is deleted only when
    hpalab created it. With ``wait``, returns once everything deleted is gone, pods included.

    Raises:
        PlatformError: the API failed, or (``wait``) something was still there after
        ``timeout_s`` seconds.
    """
    client = client or KubeClient(load_api_client(context=context, config_file=kubeconfig))
    deleter = _Deleter(client, out, dry_run, wait, timeout_s, poll_s, clock, sleep)
    found = owned_objects(client, namespace)
    kept = [b for b in found if b["kind"] == "Namespace" and not created_by_hpalab(b, namespace)]
    for body in kept:
        out.write(f"kept {describe(body)}: hpalab did not create it\n")
    first = deleter.delete([b for b in found if b["kind"] in _FIRST])
    deleter.wait_gone([b for b in first if b["kind"] in _CUSTOM_RESOURCES], what="custom resources")
    middle = deleter.delete([b for b in found if b["kind"] not in _FIRST | _LAST])
    middle += deleter.delete(_operator_leftovers(client, middle))
    last = deleter.delete([b for b in found if b["kind"] in _LAST and b not in kept])
    if wait:
        deleter.wait_gone([*first, *middle, *last], what="down")
    deleted = [describe(b) for b in [*first, *middle, *last]]
    if not deleted:
        out.write(f"nothing of hpalab instance {namespace!r} found\n")
    elif wait and not dry_run:
        out.write(f"all {len(deleted)} objects are gone\n")
    return deleted

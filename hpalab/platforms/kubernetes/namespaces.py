"""The stack's namespace: created by hpalab, never adopted, deleted only when hpalab made it.

Server-side apply creates a missing object and quietly takes over an existing one, which for a
namespace would let ``down`` delete everything a team keeps in it. So the namespace is created
with a plain ``POST`` (which fails on an existing one) and marked with the annotation
``hpalab.io/created-by: <instance>``; a later ``up`` or ``run`` accepts a namespace only with
that mark, and ``down`` deletes a namespace only with it. A namespace still Terminating after a
``down`` is waited for: the API server refuses new content in it with a 403 that reads like a
permissions problem.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote

from hpalab.errors import PlatformError, UsageError
from hpalab.platforms.kubernetes.client import ApiStatusError, KubeClient
from hpalab.platforms.kubernetes.objects import (
    FIELD_MANAGER,
    INSTANCE,
    MANAGED_BY,
    Obj,
    StackOptions,
    labels,
)

CREATED_BY = "hpalab.io/created-by"
"""Annotation on a namespace hpalab created; its value is the instance."""


def namespace_path(name: str) -> str:
    return f"/api/v1/namespaces/{quote(name)}"


def created_by_hpalab(namespace: Obj, instance: str) -> bool:
    """Whether ``namespace`` carries the mark of ``instance``'s ``up``."""
    annotations = namespace.get("metadata", {}).get("annotations") or {}
    return bool(annotations.get(CREATED_BY) == instance)


def terminating(namespace: Obj) -> bool:
    """Whether a ``down`` (or anyone) is deleting ``namespace``."""
    phase = namespace.get("status", {}).get("phase")
    return phase == "Terminating" or bool(namespace.get("metadata", {}).get("deletionTimestamp"))


def _new_namespace(options: StackOptions) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": options.namespace,
            "labels": labels(options, "hpalab"),
            "annotations": {CREATED_BY: options.instance},
        },
    }


def _not_ours(options: StackOptions) -> UsageError:
    ns = options.namespace
    return UsageError(
        f"--namespace {ns}: the namespace exists and hpalab did not create it; hpalab deploys "
        "only into a namespace of its own, because `hpalab down` deletes that namespace with "
        "everything in it",
        hint=f"pick a namespace that does not exist yet (e.g. --namespace hpalab-{ns}); if it "
        f"is left from an older hpalab, check what is in it and `kubectl delete namespace {ns}`",
    )


def prepare_namespace(
    client: KubeClient,
    options: StackOptions,
    *,
    timeout_s: float = 300.0,
    poll_s: float = 1.0,
    log: Callable[[str], None] = lambda _line: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Make sure ``options.namespace`` exists and is hpalab's; ``True`` when it was created now.

    A namespace still Terminating is waited for (up to ``timeout_s``), then created anew.

    Raises:
        UsageError: the namespace exists and hpalab did not create it (``default``, a team's).
        PlatformError: it is still Terminating after ``timeout_s``, or the API failed.
    """
    path = namespace_path(options.namespace)
    deadline = clock() + timeout_s
    said = False
    while True:
        found = client.get(path)
        if found is None and _create(client, options):
            log(f"created namespace {options.namespace}")
            return True
        # found is None here only when someone created it between the GET and the POST.
        if found is not None and not terminating(found):
            if not created_by_hpalab(found, options.instance):
                raise _not_ours(options)
            return False
        if clock() >= deadline:
            raise PlatformError(
                f"namespace {options.namespace} is still being deleted (Terminating) after "
                f"{timeout_s:.0f} s",
                hint=f"`kubectl get namespace {options.namespace} -o yaml` shows what holds it "
                "(its status conditions name the finalizers or unavailable APIs)",
            )
        if not said:
            log(f"waiting for namespace {options.namespace} to finish terminating")
            said = True
        sleep(poll_s)


def _create(client: KubeClient, options: StackOptions) -> bool:
    """POST the namespace; ``False`` when it appeared meanwhile (409)."""
    try:
        client.call(
            "POST",
            "/api/v1/namespaces",
            query={"fieldManager": FIELD_MANAGER},
            body=_new_namespace(options),
        )
    except ApiStatusError as error:
        if error.status == 409:
            return False
        raise
    return True


CUSTOM_METRICS_APISERVICE = (
    "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.custom.metrics.k8s.io"
)


def refuse_another_stack(client: KubeClient, options: StackOptions) -> None:
    """One hpalab stack per cluster: refuse ``up`` when another instance already runs.

    The custom metrics APIService, prometheus-operator's CRDs and metrics-server are
    cluster-wide: a second stack would take the first one's metrics API over and share (then
    delete, at its ``down``) the rest.

    Raises:
        UsageError: a stack of another instance (namespace) owns the custom metrics API.
    """
    found = client.get(CUSTOM_METRICS_APISERVICE)
    if found is None:
        return
    owner = found.get("metadata", {}).get("labels") or {}
    other = owner.get(INSTANCE)
    if owner.get(MANAGED_BY) == "hpalab" and other and other != options.instance:
        raise UsageError(
            f"another hpalab stack runs in this cluster (namespace {other!r}); the custom "
            "metrics API, prometheus-operator and metrics-server are cluster-wide, so one "
            "cluster holds one stack",
            hint=f"use --namespace {other}, or remove it first with "
            f"`hpalab down --platform kubernetes --namespace {other}`",
        )

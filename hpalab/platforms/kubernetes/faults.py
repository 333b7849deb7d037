"""Faults of ``spec.events`` injected on a cluster through its API, and taken back.

Each fault acts where the real one would, with nothing but what any cluster offers:

- ``killPods``: the app's pods are deleted with ``gracePeriodSeconds: 0``, so the kubelet
  SIGKILLs them at once, as with pods lost with their node; the ReplicaSet replaces them.
  Ready pods go first, the oldest first (the capacity a lost node takes).
- ``adapterOutage`` and ``metricsServerOutage``: the Deployment behind the APIService
  (``v1beta1.custom.metrics.k8s.io``, ``v1beta1.metrics.k8s.io``) is scaled to zero, so the
  aggregator answers 503, as when the adapter is down; the end scales it back.
- ``scrapeDelay`` and ``appSlowdown``: the sample app's fault file (an ``emptyDir``) is written
  in every app pod with ``kubectl exec``; pods that start meanwhile get it when first seen
  Running (:meth:`KubeFaults.catch_up`).
- ``prometheusOutage`` and ``networkDelay`` need the :class:`Node` of the cluster's owner
  (``hpalab cluster``): it refuses every packet to the Prometheus pod (it neither answers nor
  scrapes, as if dead, and keeps its data), or delays the connections Prometheus opens to its
  targets. On other clusters they are refused: deleting the pod would lose Prometheus' data,
  which lives in an ``emptyDir``, and the network belongs to the cluster.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hpalab.errors import PlatformError
from hpalab.platforms.kubernetes.client import KubeClient, collection_path
from hpalab.platforms.kubernetes.objects import APP, PROMETHEUS, Obj
from hpalab.platforms.kubernetes.render_app import FAULT_FILE
from hpalab.specs.events import (
    COMPONENT,
    AnyEvent,
    KillPods,
    NetworkDelay,
    killed_count,
    slowdown_fields,
)


class Node(Protocol):
    """What a cluster's owner can do on its node (``hpalab cluster``), by pod address."""

    def isolate(self, pod_ip: str, isolated: bool) -> None:
        """Refuse (or again let through) every packet to the pod."""

    def delay(self, pod_ip: str, delay_s: float, jitter_s: float) -> Callable[[], None]:
        """Delay the TCP traffic the pod opens to other pods; returns what ends it."""


APISERVICES = {
    "adapterOutage": ("v1beta1.custom.metrics.k8s.io", "v1beta1.external.metrics.k8s.io"),
    "metricsServerOutage": ("v1beta1.metrics.k8s.io",),
}
"""The APIServices whose backing Deployments an outage scales to zero."""

WRITE_FILE = (
    "import os, sys; p = sys.argv[1]; open(p + '.tmp', 'w').write(sys.argv[2]); "
    "os.replace(p + '.tmp', p)"
)
"""Run by the app's own Python in the pod: replace the fault file whole, never half-written."""


@dataclass
class KubeFaults:
    """The faults active on one namespace's stack, at most one per component."""

    client: KubeClient
    namespace: str
    pod_selector: str
    kubectl: list[str]
    """``kubectl`` with the kubeconfig and context options, up to the verb."""
    node: Node | None = None
    delayed: list[Callable[[], None]] = field(default_factory=list)
    active: dict[str, AnyEvent] = field(default_factory=dict)
    scaled: dict[str, dict[str, int]] = field(default_factory=dict)
    """Outage component → Deployment path → the replicas it had."""
    isolated: list[str] = field(default_factory=list)
    slowdown: dict[str, float] = field(default_factory=dict)
    written: set[str] = field(default_factory=set)
    """Pods whose fault file holds the current slowdown."""

    def start(self, event: AnyEvent) -> dict[str, Any]:
        """Inject ``event`` now; the fields of its ``fault_injected`` event."""
        if isinstance(event, KillPods):
            return self._kill(event)
        if event.type in APISERVICES:
            detail = self._scale_down(event.type)
        elif event.type == "prometheusOutage":
            detail = self._isolate_prometheus()
        elif isinstance(event, NetworkDelay):
            detail = self._delay_prometheus(event)
        elif (fields := slowdown_fields(event)) is not None:
            detail = self._slow(**fields)
        else:
            raise PlatformError(f"the kubernetes platform cannot inject {event.type}")
        self.active[COMPONENT[event.type]] = event
        return detail

    def end(self, event: AnyEvent) -> dict[str, Any]:
        """Take ``event`` back; the fields of its ``fault_cleared`` event."""
        component = COMPONENT[event.type]
        if self.active.get(component) is not event:
            return {}
        del self.active[component]
        if event.type in APISERVICES:
            return self._scale_back(event.type)
        if event.type == "prometheusOutage":
            return self._reconnect()
        if event.type == "networkDelay":
            return self._undelay()
        return self._slow(**dict.fromkeys(slowdown_fields(event) or {}, 0.0))

    def clear(self) -> list[AnyEvent]:
        """End every active fault (a new trial, the platform stopping); the ones ended. Scaled
        Deployments and isolated pods are restored even if their event is no longer known."""
        ended = list(self.active.values())
        for event in ended:
            self.end(event)
        for component in list(self.scaled):
            self._scale_back(component)
        self._reconnect()
        self._undelay()
        return ended

    # -- killPods ---------------------------------------------------------------------------

    def _pods(self) -> list[Obj]:
        path = collection_path("v1", "Pod", self.namespace)
        pods = self.client.list(path, label_selector=self.pod_selector)
        return [p for p in pods if not p.get("metadata", {}).get("deletionTimestamp")]

    def _kill(self, event: KillPods) -> dict[str, Any]:
        pods = self._pods()
        ready = {p["metadata"]["name"] for p in pods if _ready(p)}
        ranked = sorted(
            pods,
            key=lambda p: (
                p["metadata"]["name"] not in ready,
                p["metadata"].get("creationTimestamp", ""),
                p["metadata"]["name"],
            ),
        )
        victims = [p["metadata"]["name"] for p in ranked[: killed_count(event, len(pods))]]
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0}
        path = collection_path("v1", "Pod", self.namespace)
        for name in victims:
            self.client.call("DELETE", f"{path}/{name}", body=body)
        return {
            "killed": victims,
            "of": len(pods),
            "ready_killed": len(ready.intersection(victims)),
            "grace_period_s": 0,
        }

    # -- outages of aggregated APIs ---------------------------------------------------------

    def _deployments_behind(self, apiservice: str) -> list[str]:
        """Paths of the Deployments whose pods the APIService's Service selects."""
        found = self.client.get(f"/apis/apiregistration.k8s.io/v1/apiservices/{apiservice}")
        service = ((found or {}).get("spec") or {}).get("service") or {}
        if not service:
            return []
        namespace = service["namespace"]
        svc = self.client.get(f"/api/v1/namespaces/{namespace}/services/{service['name']}")
        wanted = ((svc or {}).get("spec") or {}).get("selector") or {}
        if not wanted:
            return []
        path = collection_path("apps/v1", "Deployment", namespace)
        return [
            f"{path}/{d['metadata']['name']}"
            for d in self.client.list(path)
            if wanted.items() <= d["spec"]["template"]["metadata"].get("labels", {}).items()
        ]

    def _scale_down(self, component: str) -> dict[str, Any]:
        paths = sorted({p for a in APISERVICES[component] for p in self._deployments_behind(a)})
        if not paths:
            raise PlatformError(
                f"{component}: no Deployment serves {' or '.join(APISERVICES[component])}",
                hint="check `kubectl get apiservices`: the API must be served by a Service "
                "in front of a Deployment",
            )
        before: dict[str, int] = {}
        for path in paths:
            scale = self.client.get(f"{path}/scale") or {}
            before[path] = int(scale.get("spec", {}).get("replicas", 1))
            self._set_replicas(path, 0)
        self.scaled[component] = before
        return {"scaled_to_zero": [p.rsplit("/", 1)[-1] for p in paths], "status": 503}

    def _scale_back(self, component: str) -> dict[str, Any]:
        before = self.scaled.pop(component, {})
        for path, replicas in before.items():
            self._set_replicas(path, replicas)
        return {"restored": {p.rsplit("/", 1)[-1]: n for p, n in before.items()}}

    def _set_replicas(self, path: str, replicas: int) -> None:
        self.client.call(
            "PATCH",
            f"{path}/scale",
            body={"spec": {"replicas": replicas}},
            content_type="application/merge-patch+json",
        )

    # -- prometheusOutage -------------------------------------------------------------------

    def _prometheus_ips(self, event: str) -> tuple[Node, list[str], list[str]]:
        if self.node is None:
            raise PlatformError(f"{event} needs a cluster whose node hpalab runs (hpalab cluster)")
        path = collection_path("v1", "Pod", self.namespace)
        pods = self.client.list(path, label_selector=f"prometheus={PROMETHEUS}")
        ips = [str(p.get("status", {}).get("podIP") or "") for p in pods]
        if not pods or not all(ips):
            raise PlatformError(f"{event}: no running Prometheus pod in {self.namespace}")
        return self.node, ips, [p["metadata"]["name"] for p in pods]

    def _isolate_prometheus(self) -> dict[str, Any]:
        node, ips, names = self._prometheus_ips("prometheusOutage")
        for ip in ips:
            node.isolate(ip, True)
            self.isolated.append(ip)
        return {"isolated": names}

    def _reconnect(self) -> dict[str, Any]:
        ips = list(self.isolated)
        for ip in ips:
            if self.node is not None:
                self.node.isolate(ip, False)
        self.isolated.clear()
        return {"reconnected": len(ips)} if ips else {}

    def _delay_prometheus(self, event: NetworkDelay) -> dict[str, Any]:
        node, ips, names = self._prometheus_ips("networkDelay")
        for ip in ips:
            self.delayed.append(node.delay(ip, event.delay, event.jitter))
        return {"delayed": names, "delay_s": event.delay, "jitter_s": event.jitter}

    def _undelay(self) -> dict[str, Any]:
        ended = list(self.delayed)
        self.delayed.clear()
        for stop in ended:
            stop()
        return {"undelayed": len(ended)} if ended else {}

    # -- the app's fault file -----------------------------------------------------------------

    def _slow(self, **values: float) -> dict[str, Any]:
        self.slowdown.update(values)
        self.written.clear()
        pods = [p for p in self._pods() if p.get("status", {}).get("phase") == "Running"]
        self._write(p["metadata"]["name"] for p in pods)
        return {k: v for k, v in values.items() if v > 0} | {"pods": len(pods)}

    def catch_up(self, running: Iterable[str]) -> None:
        """Write the current slowdown into pods that started since it changed."""
        if any(v > 0 for v in self.slowdown.values()):
            self._write(name for name in running if name not in self.written)

    def _write(self, pods: Iterable[str]) -> None:
        text = json.dumps({k: v for k, v in self.slowdown.items() if v > 0})
        for pod in pods:
            argv = [*self.kubectl, "-n", self.namespace, "exec", pod, "-c", APP, "--"]
            done = subprocess.run(
                [*argv, "python", "-c", WRITE_FILE, FAULT_FILE, text],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if done.returncode == 0:
                self.written.add(pod)
            elif "not found" not in done.stderr:  # a pod deleted meanwhile has no file to slow
                raise PlatformError(f"cannot write the fault file in pod {pod}: {done.stderr}")


def _ready(pod: Obj) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

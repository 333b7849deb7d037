"""Waiting until each part is really ready, not just accepted by the API server.

Each check reads the object once and says whether it is ready, and if not, why (shown when the
wait times out). The clock and the sleep are parameters, so tests run without waiting.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from hpalab.errors import PlatformError, UsageError
from hpalab.platforms.kubernetes.client import KubeClient
from hpalab.platforms.kubernetes.metrics_api import metric_read, read_metric
from hpalab.platforms.kubernetes.objects import APP, StackOptions, selector
from hpalab.platforms.kubernetes.stack import Wait
from hpalab.specs import parse_duration

Check = tuple[bool, str]


def condition(body: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    """The status condition of type ``kind``, if the object has one."""
    for cond in ((body or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def _is_true(body: dict[str, Any] | None, kind: str) -> Check:
    cond = condition(body, kind)
    if cond is None:
        return False, f"no {kind} condition yet"
    ok = cond.get("status") == "True"
    return (
        ok,
        f"{kind}={cond.get('status')}: {cond.get('reason', '')} {cond.get('message', '')}".strip(),
    )


def deployment_ready(body: dict[str, Any] | None) -> Check:
    """Rolled out: the controller saw the latest spec, every replica is updated and available,
    and no old replica is left."""
    if body is None:
        return False, "not found"
    want = body.get("spec", {}).get("replicas", 1)
    status = body.get("status", {})
    if status.get("observedGeneration", 0) < body.get("metadata", {}).get("generation", 0):
        return False, "the controller has not seen the latest spec yet"
    counts = {k: status.get(k, 0) for k in ("updatedReplicas", "availableReplicas", "replicas")}
    detail = (
        f"{counts['updatedReplicas']}/{want} updated, "
        f"{counts['availableReplicas']}/{want} available"
    )
    if counts["replicas"] > want:
        return False, f"{detail}, {counts['replicas'] - want} old replica(s) terminating"
    return counts["updatedReplicas"] == want and counts["availableReplicas"] == want, detail


def statefulset_ready(body: dict[str, Any] | None) -> Check:
    """Every replica of the StatefulSet Ready (the operator creates Prometheus' one)."""
    if body is None:
        return False, "not created yet (is prometheus-operator running?)"
    want = body.get("spec", {}).get("replicas", 1)
    ready = body.get("status", {}).get("readyReplicas", 0)
    return ready >= want, f"{ready}/{want} ready"


def hpa_active(body: dict[str, Any] | None) -> Check:
    """ScalingActive=True and at least one current metric value."""
    if body is None:
        return False, "not found"
    ok, detail = _is_true(body, "ScalingActive")
    metrics = (body.get("status") or {}).get("currentMetrics") or []
    if ok and not metrics:
        return False, "ScalingActive=True but no current metric yet"
    return ok, detail


def wait_timeout_s() -> float:
    """The waits' time limit: ``$HPALAB_KUBE_WAIT_TIMEOUT`` seconds, default 300."""
    text = os.environ.get("HPALAB_KUBE_WAIT_TIMEOUT", "")
    try:
        value = float(text) if text else 300.0
    except ValueError:
        raise UsageError(
            f"HPALAB_KUBE_WAIT_TIMEOUT={text!r} is not a number of seconds",
            hint="for example HPALAB_KUBE_WAIT_TIMEOUT=600",
        ) from None
    if value <= 0:
        raise UsageError("HPALAB_KUBE_WAIT_TIMEOUT must be positive", hint="for example 600")
    return value


def _intervals(text: str) -> tuple[float, ...] | None:
    try:
        return tuple(parse_duration(part) for part in text.split("/"))
    except ValueError:
        return None


@dataclass
class Waiter:
    """Polls checks until they pass or time out."""

    client: KubeClient
    options: StackOptions
    hpa_spec: dict[str, Any] | None = None
    """The HPA spec (camelCase) whose first metric a ``metric`` wait reads."""
    timeout_s: float = field(default_factory=wait_timeout_s)
    """Seconds before a wait gives up: ``$HPALAB_KUBE_WAIT_TIMEOUT`` or 300 (first image
    pulls on a slow link may need more)."""
    poll_s: float = 2.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    log: Callable[[str], None] = lambda _: None

    def check(self, wait: Wait) -> Check:
        """Whether ``wait`` holds now, and why not."""
        get = self.client.get
        ns = wait.namespace or self.options.namespace
        if wait.kind == "established":
            crd = get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{wait.name}")
            return _is_true(crd, "Established")
        if wait.kind == "rollout":
            return deployment_ready(get(f"/apis/apps/v1/namespaces/{ns}/deployments/{wait.name}"))
        if wait.kind == "statefulset":
            return statefulset_ready(get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/{wait.name}"))
        if wait.kind == "apiservice":
            return _is_true(
                get(f"/apis/apiregistration.k8s.io/v1/apiservices/{wait.name}"), "Available"
            )
        if wait.kind == "hpa":
            path = f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/{wait.name}"
            return hpa_active(get(path))
        if wait.kind == "metric":
            return self._metric_served(ns)
        if wait.kind == "prometheus-config":
            return self._prometheus_config(ns, wait.name)
        raise PlatformError(f"unknown wait {wait.kind}", hint="a bug in hpalab; please report it")

    def _prometheus_config(self, namespace: str, expected: str) -> Check:
        """Prometheus runs the configuration with the ``scrape/evaluation`` intervals wanted.

        The operator rewrites the configuration and its reloader reloads Prometheus some
        seconds after the resource changed; until then a trial would measure the old one.
        Read through the API server's service proxy, so nothing needs to reach the pod."""
        path = (
            f"/api/v1/namespaces/{namespace}/services/prometheus-operated:web/proxy"
            "/api/v1/status/config"
        )
        try:
            body = self.client.get(path) or {}
        except PlatformError as error:
            return False, str(error)
        config = yaml.safe_load(str((body.get("data") or {}).get("yaml") or "")) or {}
        active = config.get("global") or {}
        have = f"{active.get('scrape_interval')}/{active.get('evaluation_interval')}"
        if _intervals(have) == _intervals(expected):
            return True, f"configuration with intervals {have} loaded"
        return False, f"Prometheus still runs intervals {have}, not {expected}"

    def _metric_served(self, namespace: str) -> Check:
        if not self.hpa_spec:
            return True, "no HPA"
        pods = ",".join(f"{k}={v}" for k, v in selector(self.options, APP).items())
        read = metric_read(self.hpa_spec["metrics"][0], namespace=namespace, pod_selector=pods)
        try:
            value, count = read_metric(self.client, read)
        except PlatformError as error:  # 503 while the adapter relists: keep waiting
            return False, str(error)
        if count == 0:
            return False, f"{read.path} serves no value yet"
        return True, f"{count} value(s), {value if value is not None else 'resource metrics'}"

    def wait(self, wait: Wait, *, timeout_s: float | None = None) -> str:
        """Block until ``wait`` holds; returns the last detail.

        Raises:
            PlatformError: it did not hold within the timeout (seconds), with the last reason.
        """
        limit = self.clock() + (timeout_s or self.timeout_s)
        while True:
            ok, detail = self.check(wait)
            if ok:
                self.log(f"ready: {wait} ({detail})")
                return detail
            if self.clock() >= limit:
                raise PlatformError(
                    f"timed out waiting for {wait}: {detail}",
                    hint=_hint(wait, self.options.namespace),
                )
            self.sleep(self.poll_s)


def _hint(wait: Wait, namespace: str) -> str:
    ns = wait.namespace or namespace
    if wait.kind in ("rollout", "statefulset"):
        kind = "deployment" if wait.kind == "rollout" else "statefulset"
        return f"`kubectl -n {ns} describe {kind} {wait.name}` and `kubectl -n {ns} get events`"
    if wait.kind == "apiservice":
        return f"`kubectl get apiservice {wait.name} -o yaml` shows why it is unavailable"
    if wait.kind == "metric":
        return (
            "check that Prometheus scrapes the app and the adapter rule matches: "
            "`hpalab doctor --platform kubernetes`"
        )
    if wait.kind == "hpa":
        return f"`kubectl -n {ns} describe hpa {wait.name}` lists its conditions and events"
    if wait.kind == "prometheus-config":
        return (
            f"`kubectl -n {ns} logs prometheus-hpalab-0 -c config-reloader` shows the reloads; "
            "the Prometheus resource's status shows the operator's view"
        )
    return f"`kubectl get crd {wait.name} -o yaml`"

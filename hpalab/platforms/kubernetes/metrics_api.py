"""Reading what the metrics APIs serve for the HPA's metric, as the HPA controller reads it.

Pods metrics come from ``custom.metrics.k8s.io`` (one value per pod of the target, averaged),
Object metrics from the same API (one value for the named object), External metrics from
``external.metrics.k8s.io`` (values summed). Resource metrics are read by the HPA from
``metrics.k8s.io`` and turned into utilization with the pods' requests; for them hpalab reads the
HPA's own ``status.currentMetrics`` instead of recomputing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import urllib3

from hpalab.errors import PlatformError
from hpalab.platforms.base import PlatformEvent
from hpalab.platforms.kubernetes.client import KubeClient
from hpalab.platforms.kubernetes.resources import discovered_plural, guess_plural, qualified
from hpalab.specs import parse_quantity_value

CUSTOM = "/apis/custom.metrics.k8s.io/v1beta1"
EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
RESOURCE = "/apis/metrics.k8s.io/v1beta1"

METRIC_TIMEOUT_S = 0.8
"""How long ``observe`` (every second) waits for the metric the adapter serves: a metrics API
that hangs (its backend cut off) must not hold up the trial's clock."""
METRIC_BACKOFF_S = 5.0
"""After a read that timed out, how long ``observe`` records gaps without asking again."""


@dataclass(frozen=True, slots=True)
class MetricRead:
    """Where the value of one HPA metric is served."""

    path: str
    query: dict[str, str]
    aggregate: str
    """``mean`` over items (Pods), ``sum`` (External), ``first`` (Object), ``none``
    (Resource: the path only proves the metrics API answers)."""
    described: tuple[str, str] | None = None
    """An Object metric's ``(apiVersion, kind)``: :func:`read_metric` resolves its resource
    name through discovery; ``path`` holds the guessed name until then."""


def _selector_text(selector: dict[str, Any] | None) -> str:
    """A label selector object as the ``labelSelector`` query parameter."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted(selector.get("matchLabels", {}).items())]
    for expr in selector.get("matchExpressions", []):
        op, key, values = expr["operator"], expr["key"], expr.get("values", [])
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        else:
            parts.append(f"!{key}")
    return ",".join(parts)


def metric_read(metric: dict[str, Any], *, namespace: str, pod_selector: str) -> MetricRead:
    """The metrics-API request for one entry of an HPA's ``spec.metrics`` (camelCase)."""
    kind = metric["type"]
    ns = quote(namespace)
    if kind == "Pods":
        ident = metric["pods"]["metric"]
        query = {"labelSelector": pod_selector}
        if extra := _selector_text(ident.get("selector")):
            query["metricLabelSelector"] = extra
        return MetricRead(f"{CUSTOM}/namespaces/{ns}/pods/*/{quote(ident['name'])}", query, "mean")
    if kind == "Object":
        source = metric["object"]
        ref = source["describedObject"]
        api_version = ref.get("apiVersion") or "v1"
        resource = qualified(guess_plural(ref["kind"]), api_version)
        path = _object_path(ns, resource, ref["name"], source["metric"]["name"])
        query = {}
        if extra := _selector_text(source["metric"].get("selector")):
            query["metricLabelSelector"] = extra
        return MetricRead(path, query, "first", described=(api_version, ref["kind"]))
    if kind == "External":
        ident = metric["external"]["metric"]
        query = {}
        if extra := _selector_text(ident.get("selector")):
            query["labelSelector"] = extra
        return MetricRead(f"{EXTERNAL}/namespaces/{ns}/{quote(ident['name'])}", query, "sum")
    return MetricRead(f"{RESOURCE}/namespaces/{ns}/pods", {"labelSelector": pod_selector}, "none")


def _object_path(namespace: str, resource: str, name: str, metric: str) -> str:
    return f"{CUSTOM}/namespaces/{namespace}/{resource}/{quote(name)}/{quote(metric)}"


def resolved(client: KubeClient, read: MetricRead) -> MetricRead:
    """``read`` with an Object metric's resource name as discovery serves it (the HPA
    controller maps kinds the same way); other reads are returned unchanged."""
    if read.described is None:
        return read
    api_version, kind = read.described
    resource = qualified(discovered_plural(client, api_version, kind), api_version)
    parts = read.path.split("/")
    parts[-3] = resource  # .../namespaces/<ns>/<resource>/<name>/<metric>
    return MetricRead("/".join(parts), read.query, read.aggregate)


def _value(item: dict[str, Any]) -> float:
    return float(parse_quantity_value(item.get("value", "0")))


def read_metric(
    client: KubeClient, read: MetricRead, *, timeout_s: float | None = None
) -> tuple[float | None, int]:
    """The served value and the number of items; ``(None, 0)`` when nothing is served yet.
    ``timeout_s`` bounds the wait for an answer (a hung Prometheus hangs the adapter)."""
    read = resolved(client, read)
    body = client.call("GET", read.path, query=read.query or None, timeout_s=timeout_s)
    items = list((body or {}).get("items", []))
    if not items:
        return None, 0
    if read.aggregate == "none":
        return None, len(items)
    values = [_value(item) for item in items]
    if read.aggregate == "mean":
        return sum(values) / len(values), len(items)
    if read.aggregate == "sum":
        return sum(values), len(items)
    return values[0], len(items)


def target_value(metric: dict[str, Any]) -> float | None:
    """The metric's target in the unit the value is read in (utilization in percent)."""
    source: dict[str, Any] = next((v for k, v in metric.items() if k != "type"), {})
    target = source.get("target", {})
    if "averageUtilization" in target:
        return float(target["averageUtilization"])
    for key in ("averageValue", "value"):
        if key in target:
            return float(parse_quantity_value(target[key]))
    return None


def hpa_current_value(status: dict[str, Any]) -> float | None:
    """The first current metric in an HPA status, in the unit of its target type."""
    for current in status.get("currentMetrics") or []:
        source: dict[str, Any] = next((v for k, v in current.items() if k != "type"), {})
        value = source.get("current", {})
        if "averageUtilization" in value:
            return float(value["averageUtilization"])
        for key in ("averageValue", "value"):
            if key in value:
                return float(parse_quantity_value(value[key]))
    return None


class MetricProbe:
    """The value the metrics API serves for the HPA's first metric, read once a second; a
    failed read is a ``collector_error`` event and a gap, and a timed-out one pauses the
    reads for a while."""

    def __init__(self, clock: Callable[[], float], emit: Callable[[PlatformEvent], None]) -> None:
        self._clock, self._emit = clock, emit
        self._paused_until = 0.0

    def read(
        self,
        client: KubeClient,
        metric: dict[str, Any],
        *,
        namespace: str,
        pod_selector: str,
        status: dict[str, Any],
        replicas: int,
    ) -> tuple[float | None, float | None]:
        """``(value, target)`` in the metric's own unit, as the HPA compares them."""
        target = target_value(metric)
        read = metric_read(metric, namespace=namespace, pod_selector=pod_selector)
        if read.aggregate == "none":
            return hpa_current_value(status), target
        if self._clock() < self._paused_until:
            return None, target
        try:
            value, _count = read_metric(client, read, timeout_s=METRIC_TIMEOUT_S)
        except PlatformError as error:
            if isinstance(error.__cause__, urllib3.exceptions.TimeoutError):
                self._paused_until = self._clock() + METRIC_BACKOFF_S
            message = {"message": str(error)}
            self._emit(PlatformEvent(self._clock(), "collector_error", "metrics-api", message))
            return None, target
        source = metric.get(metric["type"].lower(), {})
        per_pod = source.get("target", {}).get("type") == "AverageValue"
        if value is not None and per_pod and metric["type"] in ("Object", "External") and replicas:
            value /= replicas  # the HPA compares the total divided by the current replicas
        return value, target

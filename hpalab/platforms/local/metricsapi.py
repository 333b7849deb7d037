"""The metrics APIs the local HPA reads, served from real sources.

- ``metrics.k8s.io`` (Resource metrics): per-pod CPU usage from the :class:`CpuMeter`.
- ``custom.metrics.k8s.io`` (Pods, Object) and ``external.metrics.k8s.io`` (External): the
  adapter engine's discovery and queries, run against the lab's real Prometheus, exactly as
  prometheus-adapter runs them. Series are rediscovered every relist interval.

A failed call becomes a :class:`FetchFailure` carrying the message the Kubernetes API would
give, so the HPA engine reports the upstream condition reasons (``FailedGetPodsMetric``, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from hpalab.autoscaling.adapter import (
    DEFAULT_REST_MAPPER,
    AdapterError,
    Discovery,
    Requirement,
    Sample,
    Series,
    discover,
    pod_values,
    pods_query,
    series_queries,
)
from hpalab.autoscaling.adapter.selectors import requirements_of
from hpalab.autoscaling.adapter.values import convert_external, match_by_name
from hpalab.autoscaling.hpa import (
    ContainerUsage,
    FetchFailure,
    HPASpec,
    MetricsSnapshot,
    PodResourceMetrics,
)
from hpalab.platforms.local.metrics import CpuMeter
from hpalab.specs.adapter import AdapterConfig

CONTAINER = "sample-app"


class ExternalSource(Protocol):
    """Another server of external.metrics.k8s.io metrics (KEDA's metrics server)."""

    def serves(self, metric: str) -> bool: ...

    async def hpa_read(self, metric: str, now: float) -> list[int] | FetchFailure: ...


class PrometheusDown(Exception):
    """Prometheus did not answer a query; the message says why."""


def server_error(api: str, cause: str) -> FetchFailure:
    """The error a client sees when the adapter behind ``api`` fails with ``cause``."""
    return FetchFailure(
        f'an error on the server ("{cause}") has prevented the request from succeeding (get {api})'
    )


def unavailable(api: str) -> FetchFailure:
    """What a client sees while the APIService behind ``api`` has no healthy backend: the
    aggregator's 503."""
    return FetchFailure(f"the server is currently unable to handle the request (get {api})")


@dataclass(slots=True)
class Outages:
    """Metrics APIs made unavailable by an injected fault (shared with the fault injector)."""

    custom: bool = False
    """custom.metrics.k8s.io and external.metrics.k8s.io (the adapter) answer 503."""
    resource: bool = False
    """metrics.k8s.io (metrics-server) answers 503."""


def _all_failed(
    result: MetricsSnapshot, metrics: Sequence[Any], failure: FetchFailure
) -> MetricsSnapshot:
    """``result`` with every custom and external metric of ``metrics`` failed as ``failure``."""
    result.pods = {m.name: failure for m in metrics if m.type == "Pods"}
    result.objects = {m.name: failure for m in metrics if m.type == "Object"}
    result.external = {m.name: failure for m in metrics if m.type == "External"}
    return result


class MetricsAPI:
    """Builds the :class:`MetricsSnapshot` of one HPA sync."""

    def __init__(
        self,
        *,
        meter: CpuMeter,
        prometheus_url: Callable[[], str],
        adapter: Mapping[str, Any],
        namespace: str = "default",
        relist_interval_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        outages: Outages | None = None,
    ) -> None:
        self.outages = outages or Outages()
        self.meter = meter
        self.prometheus_url = prometheus_url
        self.config = AdapterConfig.model_validate(dict(adapter))
        self.namespace = namespace
        self.relist_interval_s = relist_interval_s
        self.discovery: Discovery | None = None
        self._listed_at = float("-inf")
        self._http = httpx.AsyncClient(timeout=5.0, transport=transport)
        self.external_source: ExternalSource | None = None
        """Serves the External metrics it names instead of the adapter (KEDA holds the API)."""

    async def close(self) -> None:
        await self._http.aclose()

    async def snapshot(self, spec: HPASpec, *, pods: Sequence[str], now: float) -> MetricsSnapshot:
        """What each metric API answers now for the metrics of ``spec`` over ``pods``."""
        resource = unavailable("pods.metrics.k8s.io") if self.outages.resource else None
        result = MetricsSnapshot(resource=resource or self.resource(pods))
        custom = [m for m in spec.metrics if m.type in ("Pods", "Object", "External")]
        source = self.external_source
        served = {
            m.name: await source.hpa_read(m.name, now)
            for m in custom
            if source is not None and m.type == "External" and source.serves(m.name)
        }
        custom = [m for m in custom if m.name not in served]
        result.external = dict(served)
        if not custom:
            return result
        if self.outages.custom:
            _all_failed(result, custom, unavailable("pods.custom.metrics.k8s.io *"))
            result.external = {**served, **result.external}
            return result
        try:
            await self._relist(now)
        except PrometheusDown as down:
            failure = server_error("pods.custom.metrics.k8s.io *", str(down))
            _all_failed(result, custom, failure)
            result.external = {**served, **result.external}
            return result
        pods_values: dict[str, Any] = {}
        objects: dict[str, Any] = {}
        external: dict[str, Any] = {}
        for metric in custom:
            selector = requirements_of(metric.selector)
            if metric.type == "Pods":
                pods_values[metric.name] = await self._pods(metric.name, pods, selector)
            elif metric.type == "Object":
                obj = metric.described_object or {}
                objects[metric.name] = await self._object(metric.name, obj, selector)
            else:
                external[metric.name] = await self._external(metric.name, selector)
        result.pods, result.objects, result.external = pods_values, objects, {**served, **external}
        return result

    def resource(self, pods: Sequence[str]) -> list[PodResourceMetrics]:
        """metrics.k8s.io PodMetrics of ``pods`` that have a CPU window (CPU in millicores)."""
        usage = self.meter.usage()
        return [
            PodResourceMetrics(
                pod=u.pod,
                timestamp_s=u.timestamp,
                window_s=u.window_s,
                containers=(ContainerUsage(CONTAINER, {"cpu": round(u.millicores)}),),
            )
            for pod in pods
            if (u := usage.get(pod)) is not None
        ]

    async def _relist(self, now: float) -> None:
        if self.discovery is not None and now - self._listed_at < self.relist_interval_s:
            return
        series: dict[str, list[Series]] = {}
        for query in series_queries([*self.config.rules, *self.config.external_rules]):
            data = await self._get(
                "/api/v1/series", {"match[]": query, "start": str(now - self.relist_interval_s)}
            )
            series[query] = [Series.from_data(item) for item in data]
        self.discovery = discover(self.config, series, mapper=DEFAULT_REST_MAPPER)
        self._listed_at = now

    async def _pods(
        self, metric: str, pods: Sequence[str], selector: list[Requirement]
    ) -> dict[str, int] | FetchFailure:
        assert self.discovery is not None
        try:
            query = pods_query(
                self.discovery,
                metric=metric,
                namespace=self.namespace,
                pod_names=pods,
                selector=selector,
            )
            vector = await self._vector(query)
            values = pod_values(self.discovery, metric=metric, vector=vector, pod_names=pods)
        except AdapterError as error:
            return FetchFailure(error.message)
        except PrometheusDown as down:
            return server_error("pods.custom.metrics.k8s.io *", str(down))
        return {v.name: v.milli for v in values}

    async def _object(
        self, metric: str, obj: Mapping[str, str], selector: list[Requirement]
    ) -> int | FetchFailure:
        assert self.discovery is not None
        group = obj.get("apiVersion", "").rpartition("/")[0]
        name = obj.get("name", "")
        try:
            resource = DEFAULT_REST_MAPPER.resource_for(group, obj.get("kind", "").lower())
            query = self.discovery.custom.query_for_metric(
                resource,
                namespaced=True,
                metric=metric,
                namespace=self.namespace,
                names=[name],
                requirements=selector,
            )
            label = self.discovery.custom.resource_label(resource, namespaced=True, metric=metric)
            return match_by_name(await self._vector(query), resource_label=label, name=name).milli
        except AdapterError as error:
            return FetchFailure(error.message)
        except PrometheusDown as down:
            kind = obj.get("kind", "object").lower()
            return server_error(f"{kind}s.custom.metrics.k8s.io {name}", str(down))

    async def _external(self, metric: str, selector: list[Requirement]) -> list[int] | FetchFailure:
        assert self.discovery is not None
        try:
            query = self.discovery.external.query_for_metric(
                metric, namespace=self.namespace, requirements=selector
            )
            data = await self._get("/api/v1/query", {"query": query})
            items = convert_external(metric, data)
        except AdapterError as error:
            return FetchFailure(error.message)
        except PrometheusDown as down:
            return server_error(f"{metric}.external.metrics.k8s.io", str(down))
        return [int(item["value_milli"]) for item in items]

    async def _vector(self, query: str) -> list[Sample]:
        data = await self._get("/api/v1/query", {"query": query})
        if data.get("resultType") != "vector":
            raise AdapterError("unexpected_result_type", "expected a vector result")
        return [Sample.from_data(item) for item in data.get("result", [])]

    async def _get(self, path: str, params: Mapping[str, str]) -> Any:
        try:
            response = await self._http.get(self.prometheus_url() + path, params=dict(params))
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise PrometheusDown(
                f"unable to fetch metrics: {error or type(error).__name__}"
            ) from error
        if body.get("status") != "success":
            raise PrometheusDown(f"unable to fetch metrics: {body.get('error', 'query failed')}")
        return body["data"]

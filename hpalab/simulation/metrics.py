"""The metrics APIs of one HPA sync, answered from simulated samples.

Custom metrics go through the adapter engine exactly as on the local platform: series are
rediscovered every relist interval (``/api/v1/series`` over the last interval), the rule's
``metricsQuery`` is rendered for the counted pods, evaluated on the stored samples with
:func:`hpalab.simulation.promql.evaluate`, and converted to per-pod values. CPU (Resource)
metrics come from each replica's busy time: metrics-server's usage over its resolution
window. Object and External metrics are not modelled. Pure code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hpalab.autoscaling.adapter import (
    DEFAULT_REST_MAPPER,
    AdapterError,
    Discovery,
    Sample,
    Series,
    discover,
    pod_values,
    pods_query,
    series_queries,
)
from hpalab.autoscaling.adapter.selectors import requirements_of
from hpalab.autoscaling.hpa import FetchFailure, HPASpec, MetricsSnapshot
from hpalab.errors import NotSimulable
from hpalab.simulation import promql
from hpalab.specs.adapter import AdapterConfig

NAMESPACE = "default"
RELIST_INTERVAL_S = 10.0
"""prometheus-adapter's --metrics-relist-interval on the local platform."""
METRIC_RESOLUTION_S = 15.0
"""metrics-server's --metric-resolution: the CPU usage window."""

CpuUsage = Callable[[str, float, float], float]
"""(pod, window start s, window end s) → CPU seconds used in that window."""


def check_simulable(spec: HPASpec) -> None:
    """Raise NotSimulable for a metric type the simulator does not model."""
    for metric in spec.metrics:
        if metric.type in ("Object", "External", "ContainerResource"):
            raise NotSimulable(
                f"the simulator does not model {metric.type} metrics ({metric.name})",
                hint="use a Pods metric served by an adapter rule, or a Resource (CPU) "
                "metric; run this experiment on a real platform",
            )
        if metric.type == "Resource" and metric.name != "cpu":
            raise NotSimulable(
                f"the simulator models CPU only, not {metric.name}",
                hint="use a cpu Resource metric or a Pods metric",
            )


class SimMetrics:
    """Builds the :class:`MetricsSnapshot` of one sync from the sample store."""

    def __init__(
        self,
        *,
        store: promql.SampleStore,
        adapter: Mapping[str, Any],
        cpu_usage: CpuUsage,
        relist_interval_s: float = RELIST_INTERVAL_S,
    ) -> None:
        self.store = store
        self.config = AdapterConfig.model_validate(dict(adapter))
        self.cpu_usage = cpu_usage
        self.relist_interval_s = relist_interval_s
        self.discovery: Discovery | None = None
        self._listed_at = float("-inf")
        self._queries = series_queries([*self.config.rules, *self.config.external_rules])

    def snapshot(self, spec: HPASpec, *, pods: Sequence[str], now: float) -> MetricsSnapshot:
        """What each metric API answers at ``now`` for the metrics of ``spec`` over ``pods``."""
        result = MetricsSnapshot()
        if any(m.type == "Resource" for m in spec.metrics):
            window = METRIC_RESOLUTION_S
            usage = {p: self.cpu_usage(p, now - window, now) for p in pods}
            result.resource_usage = {"cpu": {p: round(s * 1000 / window) for p, s in usage.items()}}
            result.resource_timestamp_s = now
            result.resource_window_s = METRIC_RESOLUTION_S
        custom = [m for m in spec.metrics if m.type == "Pods"]
        if custom:
            self._relist(now)
            result.pods = {m.name: self._pods(m.name, m.selector, pods, now) for m in custom}
        return result

    def _relist(self, now: float) -> None:
        if self.discovery is not None and now - self._listed_at < self.relist_interval_s:
            return
        listed: dict[str, list[Series]] = {}
        names = self.store.names(now - self.relist_interval_s, now)
        for query in self._queries:
            parsed = promql.parse(query)
            listed[query] = [
                Series.from_data(dict(labels)) for labels in names if _selects(parsed, dict(labels))
            ]
        self.discovery = discover(self.config, listed, mapper=DEFAULT_REST_MAPPER)
        self._listed_at = now

    def _pods(
        self, metric: str, selector: Any, pods: Sequence[str], now: float
    ) -> dict[str, int] | FetchFailure:
        assert self.discovery is not None
        try:
            query = pods_query(
                self.discovery,
                metric=metric,
                namespace=NAMESPACE,
                pod_names=pods,
                selector=requirements_of(selector),
            )
            vector = [
                Sample(labels, value)
                for labels, value in promql.evaluate(self.store, query, t_s=now)
            ]
            values = pod_values(self.discovery, metric=metric, vector=vector, pod_names=pods)
        except AdapterError as error:
            return FetchFailure(error.message)
        return {v.name: v.milli for v in values}


def _selects(query: promql.Query, labels: dict[str, str]) -> bool:
    if query.metric and labels.get("__name__") != query.metric:
        return False
    return all(m.matches(labels) for m in query.matchers)

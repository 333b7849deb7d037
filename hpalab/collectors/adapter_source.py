"""Feed the adapter engine from a real Prometheus: series for discovery, query results.

:class:`PrometheusAPI` is a small client of ``/api/v1/series`` and ``/api/v1/query``;
:func:`preview` runs what prometheus-adapter would run for a config and the HPA's metrics, and
returns plain data (rules, their metrics, the queries and the values the HPA would see).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from hpalab.autoscaling.adapter import (
    PODS,
    AdapterError,
    CustomMetricInfo,
    Discovery,
    GroupResource,
    Requirement,
    RestMapper,
    Sample,
    Series,
    discover,
    pod_values,
    pods_query,
    series_queries,
)
from hpalab.autoscaling.adapter.lint import HpaMetric, lint_config
from hpalab.autoscaling.adapter.values import convert_external, match_by_name
from hpalab.errors import CollectorError
from hpalab.specs.adapter import AdapterConfig
from hpalab.specs.hpa import LabelSelector, MetricSpec

_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


class PrometheusAPI:
    """A Prometheus HTTP API client (``base_url`` like ``http://127.0.0.1:9090``)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PrometheusAPI:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _get(self, path: str, params: Mapping[str, Any]) -> Any:
        try:
            response = self._client.get(path, params=params)
        except httpx.HTTPError as error:
            raise CollectorError(
                f"cannot reach Prometheus at {self.base_url}: {error}",
                hint=f"check that Prometheus runs and that {self.base_url}/-/ready answers; "
                "pass its address with --prometheus",
            ) from error
        try:
            body = response.json()
        except ValueError as error:
            raise CollectorError(
                f"{self.base_url}{path} answered HTTP {response.status_code} without JSON",
                hint="is this URL a Prometheus server?",
            ) from error
        if body.get("status") != "success":
            raise CollectorError(
                f"Prometheus rejected {path}: {body.get('errorType')}: {body.get('error')}",
                hint="check the rule's seriesQuery / metricsQuery syntax",
            )
        return body["data"]

    def series(
        self, match: str, *, start: float | None = None, end: float | None = None
    ) -> list[Series]:
        """``/api/v1/series?match[]=...``; ``start``/``end`` are Unix seconds."""
        params: dict[str, Any] = {"match[]": match}
        if start is not None:
            params["start"] = f"{start:.3f}"
        if end is not None:
            params["end"] = f"{end:.3f}"
        return [Series.from_data(item) for item in self._get("/api/v1/series", params)]

    def query(self, expr: str, *, at: float | None = None) -> dict[str, Any]:
        """``/api/v1/query``; returns the ``data`` object (``resultType``, ``result``)."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data: dict[str, Any] = self._get("/api/v1/query", params)
        return data


def discover_from(
    api: PrometheusAPI,
    config: AdapterConfig,
    *,
    mapper: RestMapper,
    start: float | None = None,
) -> Discovery:
    """Fetch every distinct ``seriesQuery`` once, then run the engine's discovery."""
    wanted = series_queries([*config.rules, *config.external_rules])
    by_query = {query: api.series(query, start=start) for query in wanted}
    return discover(config, by_query, mapper=mapper)


def selector_requirements(selector: LabelSelector | None) -> list[Requirement]:
    """An HPA metric selector as the adapter receives it (Kubernetes order)."""
    if selector is None:
        return []
    out = [Requirement(k, "=", (v,)) for k, v in selector.match_labels.items()]
    out += [
        Requirement(e.key, _OPERATORS[e.operator], tuple(e.values))
        for e in selector.match_expressions
    ]
    return sorted(
        (Requirement(r.key, r.op, tuple(sorted(set(r.values)))) for r in out), key=lambda r: r.key
    )


@dataclass
class MetricPreview:
    """What the HPA would get for one of its metrics."""

    kind: str
    name: str
    namespace: str = ""
    query: str = ""
    objects: list[str] = field(default_factory=list)
    values: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


@dataclass
class RulePreview:
    """One rule: how many series it kept and the metrics it exposes."""

    where: str
    series_query: str
    series: int
    metrics: list[str]


@dataclass
class Preview:
    """The whole preview: rules first, then the HPA's metrics."""

    prometheus: str
    rules: list[RulePreview]
    metrics: list[MetricPreview]
    warnings: list[dict[str, str]] = field(default_factory=list)


def _rule_previews(found: Discovery, config: AdapterConfig) -> list[RulePreview]:
    out = []
    for prefix, rules, per_rule in (
        ("rules", config.rules, found.custom_series),
        ("externalRules", config.external_rules, found.external_series),
    ):
        for index, rule in enumerate(rules):
            names: set[str] = set()
            if prefix == "rules":
                names = {
                    f"{info.group_resource}/{info.metric}"
                    for info, series in found.custom.info.items()
                    if series.rule_index == index
                }
            else:
                names = {n for n, s in found.external.info.items() if s.rule_index == index}
            out.append(
                RulePreview(
                    f"{prefix}[{index}]", rule.series_query, len(per_rule[index]), sorted(names)
                )
            )
    return out


def _pod_names(found: Discovery, metric: str, namespace: str) -> dict[str, list[str]]:
    """Pods seen in the discovered series of the rule that serves ``metric``, per namespace."""
    for info, series_info in found.custom.info.items():
        if info.group_resource != PODS or info.metric != metric or not info.namespaced:
            continue
        converter = series_info.namer.resources
        pod_label = converter.label_for_resource(PODS)
        ns_label = converter.label_for_resource(GroupResource("", "namespaces"))
        pods: dict[str, list[str]] = {}
        for series in found.custom_series[series_info.rule_index]:
            ns, pod = series.labels.get(ns_label), series.labels.get(pod_label)
            if ns and pod and (not namespace or ns == namespace) and pod not in pods.get(ns, []):
                pods.setdefault(ns, []).append(pod)
        return {ns: sorted(names) for ns, names in sorted(pods.items())}
    return {}


def _preview_pods(
    api: PrometheusAPI, found: Discovery, metric: MetricSpec, *, namespace: str, at: float | None
) -> list[MetricPreview]:
    name = metric.metric_name
    selector = selector_requirements(metric.pods.metric.selector if metric.pods else None)
    try:
        by_namespace = _pod_names(found, name, namespace)
    except AdapterError as error:
        return [MetricPreview("Pods", name, namespace, error=error.message)]
    if not by_namespace:
        exposed = CustomMetricInfo(PODS, True, name) in found.custom.info
        message = (
            f"no series of Pods metric {name!r} name a pod in namespace {namespace!r}"
            if exposed
            else f"no rule exposes Pods metric {name!r}"
        )
        return [MetricPreview("Pods", name, namespace, error=message)]
    out = []
    for ns, pods in by_namespace.items():
        item = MetricPreview("Pods", name, ns, objects=pods)
        try:
            item.query = pods_query(
                found, metric=name, namespace=ns, pod_names=pods, selector=selector
            )
            data = api.query(item.query, at=at)
            vector = [Sample.from_data(entry) for entry in data.get("result", [])]
            found_values = pod_values(found, metric=name, vector=vector, pod_names=pods)
            item.values = [v.as_data() for v in found_values]
        except AdapterError as error:
            item.error = error.message
        out.append(item)
    return out


def _preview_object(
    api: PrometheusAPI,
    found: Discovery,
    metric: MetricSpec,
    *,
    mapper: RestMapper,
    namespace: str,
    at: float | None,
) -> MetricPreview:
    assert metric.object is not None
    ref = metric.object.described_object
    version = ref.api_version or ""
    group = version.rsplit("/", 1)[0] if "/" in version else ""
    item = MetricPreview("Object", metric.metric_name, namespace, objects=[ref.name])
    selector = selector_requirements(metric.object.metric.selector)
    try:
        resource = mapper.resource_for(group, ref.kind)
        scoped = mapper.namespaced(resource)
        item.namespace = namespace if scoped else ""
        name = metric.metric_name
        item.query = found.custom.query_for_metric(
            resource,
            namespaced=scoped,
            metric=name,
            namespace=item.namespace,
            names=[ref.name],
            requirements=selector,
        )
        data = api.query(item.query, at=at)
        vector = [Sample.from_data(entry) for entry in data.get("result", [])]
        label = found.custom.resource_label(resource, namespaced=scoped, metric=name)
        item.values = [match_by_name(vector, resource_label=label, name=ref.name).as_data()]
    except AdapterError as error:
        item.error = error.message
    return item


def _preview_external(
    api: PrometheusAPI, found: Discovery, metric: MetricSpec, *, namespace: str, at: float | None
) -> MetricPreview:
    name = metric.metric_name
    item = MetricPreview("External", name, namespace)
    selector = selector_requirements(metric.external.metric.selector if metric.external else None)
    try:
        item.query = found.external.query_for_metric(
            name, namespace=namespace, requirements=selector
        )
        item.values = convert_external(name, api.query(item.query, at=at))
    except AdapterError as error:
        item.error = error.message
    return item


def preview(
    api: PrometheusAPI,
    config: AdapterConfig,
    metrics: Sequence[MetricSpec],
    *,
    mapper: RestMapper,
    namespace: str = "",
    at: float | None = None,
    start: float | None = None,
    scrape_interval_s: float | None = None,
) -> Preview:
    """Discover, then query each Pods/External metric as the HPA would at ``at`` (Unix s).

    Pods metrics are evaluated over the pods found in the discovered series (per namespace,
    or only ``namespace`` when given), standing in for the pods of the HPA's target. Lint
    warnings are computed with the discovered series (see ``autoscaling.adapter.lint``).
    """
    found = discover_from(api, config, mapper=mapper, start=start)
    out: list[MetricPreview] = []
    for metric in metrics:
        if metric.type == "Pods":
            out += _preview_pods(api, found, metric, namespace=namespace, at=at)
        elif metric.type == "External":
            ns = namespace or "default"
            out.append(_preview_external(api, found, metric, namespace=ns, at=at))
        elif metric.type == "Object" and metric.object is not None:
            ns = namespace or "default"
            out.append(_preview_object(api, found, metric, mapper=mapper, namespace=ns, at=at))
        else:
            message = "served by metrics-server (resource metrics), not by adapter rules"
            out.append(MetricPreview(metric.type, metric.metric_name, error=message))
    wanted = [HpaMetric(m.type, m.metric_name) for m in metrics]
    warnings = lint_config(
        config,
        scrape_interval_s=scrape_interval_s,
        hpa_metrics=wanted,
        discovery=found,
        mapper=mapper,
    )
    return Preview(api.base_url, _rule_previews(found, config), out, [asdict(w) for w in warnings])

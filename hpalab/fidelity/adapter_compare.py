"""The adapter engine against the real prometheus-adapter, on the same Prometheus.

For one config: the metric lists (discovery), then every metric the config exposes requested
through the aggregated API (pods and other namespaced objects by name and by selector,
namespaces, external metrics). For each request the PromQL the real adapter sent (from
Prometheus's query log) is compared with the engine's, and the real answer with what the engine
makes of the engine's query run at the same evaluation time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from hpalab.autoscaling.adapter import (
    DEFAULT_REST_MAPPER,
    AdapterError,
    Sample,
    Series,
    discover,
    parse_selector,
)
from hpalab.autoscaling.adapter.registry import CustomMetricInfo, Discovery, series_queries
from hpalab.autoscaling.adapter.resources import GroupResource
from hpalab.autoscaling.adapter.values import convert_external, match_by_name, match_by_selector
from hpalab.fidelity.adapter_stack import Answer, Stack
from hpalab.platforms.kubernetes.client import ApiStatusError
from hpalab.specs.adapter import AdapterConfig

CUSTOM = "/apis/custom.metrics.k8s.io/v1beta1"
EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"


@dataclass
class RequestComparison:
    """One metrics request: the real adapter's PromQL and answer against the engine's."""

    path: str
    real_query: str | None
    engine_query: str | None
    real: Any
    engine: Any
    differences: list[str] = field(default_factory=list)


@dataclass
class ConfigComparison:
    real_metrics: list[str]
    engine_metrics: list[str]
    requests: list[RequestComparison]
    differences: list[str] = field(default_factory=list)

    @property
    def disagreements(self) -> int:
        return len(self.differences) + sum(1 for r in self.requests if r.differences)


def engine_discovery(stack: Stack, config: AdapterConfig) -> Discovery:
    """Discovery over the series Prometheus has now, as the adapter lists them."""
    window = stack.relist_s()
    series: dict[str, list[Series]] = {}
    for query in series_queries([*config.rules, *config.external_rules]):
        data = stack.prometheus(
            "/api/v1/series", {"match[]": query, "start": f"{time.time() - window:.3f}"}
        )
        series[query] = [Series.from_data(item) for item in data]
    return discover(config, series, mapper=DEFAULT_REST_MAPPER)


def metric_names(discovery: Discovery) -> list[str]:
    """``resource.group/metric`` and ``external/metric``, as the discovery documents list them."""
    custom = [f"{_resource(i.group_resource)}/{i.metric}" for i in discovery.custom.list_metrics()]
    return sorted({*custom, *(f"external/{m}" for m in discovery.external.list_metrics())})


def real_metric_names(stack: Stack, *, custom_api: bool, external_api: bool) -> list[str]:
    """The metric list of the discovery documents; an unavailable API lists as an error."""
    try:
        listed = stack.client.get(CUSTOM) if custom_api else None
        names = {r["name"] for r in (listed or {}).get("resources", [])}
        found = stack.client.get(EXTERNAL) if external_api else None
    except ApiStatusError as error:
        return [f"error: {error}"]
    external = (found or {}).get("resources", [])
    return sorted({*names, *(f"external/{r['name']}" for r in external)})


def _resource(resource: GroupResource) -> str:
    return resource.resource + (f".{resource.group}" if resource.group else "")


def compare_config(
    stack: Stack, config: AdapterConfig, *, settle_s: float = 40.0
) -> ConfigComparison:
    """Compare discovery, then every request; the real adapter is given ``settle_s`` to list."""
    deadline = time.monotonic() + settle_s
    while True:
        discovery = engine_discovery(stack, config)
        engine = metric_names(discovery)
        real = real_metric_names(
            stack, custom_api=bool(config.rules), external_api=bool(config.external_rules)
        )
        if engine == real or time.monotonic() > deadline:
            break
        time.sleep(2.0)
    result = ConfigComparison(real, engine, [])
    if engine != real:
        only_real = sorted(set(real) - set(engine))
        only_engine = sorted(set(engine) - set(real))
        result.differences.append(f"discovery: only real {only_real}, only engine {only_engine}")
    for info in discovery.custom.list_metrics():
        for path, names, by_name in _custom_requests(stack, discovery, info):
            result.requests.append(
                _custom(stack, discovery, info=info, path=path, names=names, by_name=by_name)
            )
            if not by_name:  # the same objects, with a metric label selector
                series = discovery.custom.info[info]
                found = discovery.custom_series[series.rule_index]
                label = discovery.custom.resource_label(
                    info.group_resource, namespaced=True, metric=info.metric
                )
                selector = _selector(found, series.series_name, skip=label)
                result.requests.append(
                    _custom(
                        stack,
                        discovery,
                        info=info,
                        path=path,
                        names=names,
                        by_name=False,
                        selector=selector,
                    )
                )
    for metric in discovery.external.list_metrics():
        result.requests.append(_external(stack, discovery, metric))
        series = discovery.external.info[metric]
        found = discovery.external_series[series.rule_index]
        selector = _selector(found, series.series_name, skip="namespace")
        result.requests.append(_external(stack, discovery, metric, selector=selector))
    return result


def _custom_requests(
    stack: Stack, discovery: Discovery, info: CustomMetricInfo
) -> list[tuple[str, list[str], bool]]:
    """(path, names, by name) of each request for ``info``."""
    resource, metric = info.group_resource, info.metric
    if not info.namespaced:
        if resource.resource != "namespaces":
            return []
        return [(f"{CUSTOM}/namespaces/{stack.ns}/metrics/{metric}", [stack.ns], True)]
    label = discovery.custom.resource_label(resource, namespaced=True, metric=metric)
    series = discovery.custom.info[info]
    named = sorted(
        {
            s.labels[label]
            for s in discovery.custom_series[series.rule_index]
            if s.labels.get(label) and s.labels.get("namespace", stack.ns) == stack.ns
        }
    )
    base = f"{CUSTOM}/namespaces/{stack.ns}/{_resource(resource)}"
    out = [(f"{base}/{name}/{metric}", [name], True) for name in named]
    if resource.group == "":
        listed = stack.client.list(f"/api/v1/namespaces/{stack.ns}/{resource.resource}")
        out.append((f"{base}/*/{metric}", [o["metadata"]["name"] for o in listed], False))
    return out


def _selector(found: list[Series], name: str, *, skip: str) -> str:
    """``key=value`` of a label of the metric's first series (not its name or object label), or
    a selector no series matches when it has no other label."""
    for series in found:
        if series.name != name:
            continue
        for key, value in sorted(series.labels.items()):
            if key not in {"__name__", "namespace", skip}:
                return f"{key}={value}"
    return "hpalab_fidelity=none"


def _custom(
    stack: Stack,
    discovery: Discovery,
    *,
    info: CustomMetricInfo,
    path: str,
    names: list[str],
    by_name: bool,
    selector: str = "",
) -> RequestComparison:
    query_params = {"metricLabelSelector": selector} if selector else None
    answer = stack.ask(path, query_params)
    path += f"?metricLabelSelector={selector}" if selector else ""
    real = _real_custom(answer)
    namespace = stack.ns if info.namespaced else ""
    try:
        query = discovery.custom.query_for_metric(
            info.group_resource,
            namespaced=info.namespaced,
            metric=info.metric,
            namespace=namespace,
            names=names,
            requirements=parse_selector(selector) if selector else (),
        )
    except AdapterError as error:
        return _compared(answer, path, None, real, f"error {_status(error)}")
    at = _at(answer)
    label = discovery.custom.resource_label(
        info.group_resource, namespaced=info.namespaced, metric=info.metric
    )
    try:
        vector = _vector(stack, query, at)
        if by_name:
            values = [match_by_name(vector, resource_label=label, name=names[0])]
        else:
            values = match_by_selector(vector, resource_label=label, names=names)
        engine: Any = [[v.name, v.quantity] for v in values]
    except AdapterError as error:
        engine = f"error {_status(error)}"
    return _compared(answer, path, query, real, engine)


def _external(
    stack: Stack, discovery: Discovery, metric: str, *, selector: str = ""
) -> RequestComparison:
    path = f"{EXTERNAL}/namespaces/{stack.ns}/{metric}"
    answer = stack.ask(path, {"labelSelector": selector} if selector else None)
    path += f"?labelSelector={selector}" if selector else ""
    real: Any = (
        sorted([[i.get("metricLabels") or {}, i["value"]] for i in answer.body["items"]], key=str)
        if answer.status == 200
        else f"error {answer.status}"
    )
    try:
        query = discovery.external.query_for_metric(
            metric,
            namespace=stack.ns,
            requirements=parse_selector(selector) if selector else (),
        )
    except AdapterError as error:
        return _compared(answer, path, None, real, f"error {_status(error)}")
    try:
        data = stack.prometheus("/api/v1/query", {"query": query, **_time(answer)})
        items = convert_external(metric, data)
        engine: Any = sorted([[i["metric_labels"], i["value"]] for i in items], key=str)
    except AdapterError as error:
        engine = f"error {_status(error)}"
    return _compared(answer, path, query, real, engine)


def _real_custom(answer: Answer) -> Any:
    if answer.status != 200:
        return f"error {answer.status}"
    items = answer.body.get("items") or []
    return [[i["describedObject"]["name"], i["value"]] for i in items]


def _compared(
    answer: Answer, path: str, engine_query: str | None, real: Any, engine: Any
) -> RequestComparison:
    queries = [q.get("query") for q in answer.queries]
    real_query = queries[0] if len(queries) == 1 else None
    out = RequestComparison(path, real_query, engine_query, real, engine)
    if len(queries) > 1:
        out.differences.append(f"the real adapter sent {len(queries)} queries: {queries}")
    elif real_query != engine_query:
        out.differences.append("PromQL differs")
    if real != engine:
        out.differences.append("values differ")
    return out


def _status(error: AdapterError) -> int:
    return 404 if error.kind == "not_found" else 500


def _at(answer: Answer) -> str | None:
    return answer.queries[0].get("end") if len(answer.queries) == 1 else None


def _time(answer: Answer) -> dict[str, str]:
    at = _at(answer)
    return {"time": at} if at else {}


def _vector(stack: Stack, query: str, at: str | None) -> list[Sample]:
    data = stack.prometheus("/api/v1/query", {"query": query, **({"time": at} if at else {})})
    if data.get("resultType") != "vector":
        raise AdapterError("unexpected_result_type", "expected a vector result")
    return [Sample.from_data(item) for item in data.get("result", [])]

"""prometheus-adapter rules + an HPA -> a KEDA ScaledObject with the same replica arithmetic.

Each HPA metric the adapter serves becomes one prometheus trigger: the rule that names the
metric is found, its ``metricsQuery`` template is rendered once for the workload (namespace and
a pod-name regex instead of the per-request pod list; ``by ()`` instead of the per-object
grouping, so the query returns one total), and the target becomes a threshold:

- ``Pods`` AverageValue X per pod -> ``threshold: X``, ``metricType: AverageValue`` on the total
  (the HPA divides KEDA's single value by the replicas);
- ``Object`` / ``External`` ``Value`` -> ``metricType: Value``; ``AverageValue`` -> AverageValue;
- ``Resource`` cpu/memory -> a cpu/memory trigger; ``behavior`` and bounds pass through.

Wherever the semantics cannot match exactly, a :class:`ConversionWarning` says so. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpalab.autoscaling.adapter.exceptions import AdapterError
from hpalab.autoscaling.adapter.gofmt import GoStruct
from hpalab.autoscaling.adapter.naming import MetricNamer
from hpalab.autoscaling.adapter.resources import DEFAULT_REST_MAPPER, NAMESPACES, GroupResource
from hpalab.autoscaling.adapter.selectors import Requirement, label_eq, label_matches, to_matchers
from hpalab.specs.adapter import AdapterConfig, DiscoveryRule

PODS = GroupResource("", "pods")
_SERIES_NAME = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)")
_NAME_MATCHER = re.compile(r'__name__\s*=\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"')
_RATE_WINDOW = re.compile(r"\b(rate|irate|increase|delta|deriv)\s*\([^\[]*\[([^\]]+)\]")
SERVER_ADDRESS = "http://prometheus-operated.monitoring.svc:9090"


class ConversionError(ValueError):
    """A metric cannot be converted at all; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class ConversionWarning:
    """Where the KEDA trigger cannot behave exactly like the adapter path."""

    metric: str
    code: str
    message: str


@dataclass
class Conversion:
    """The ScaledObject spec and the warnings of one conversion."""

    spec: dict[str, Any]
    warnings: list[ConversionWarning] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Workload:
    """What the adapter's per-request matchers become: a namespace and a pod-name regex."""

    name: str
    namespace: str = "default"

    @property
    def pod_regex(self) -> str:
        return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", self.name) + "-.*"


def _series_name(rule: DiscoveryRule) -> str | None:
    match = _NAME_MATCHER.search(rule.series_query) or _SERIES_NAME.match(rule.series_query)
    return match.group(1) if match else None


def _find_rule(
    rules: Sequence[DiscoveryRule], metric: str
) -> tuple[DiscoveryRule, MetricNamer, str] | None:
    """The first rule whose series name maps to ``metric`` (the adapter's discovery order)."""
    for rule in rules:
        series = _series_name(rule)
        if series is None:
            continue
        namer = MetricNamer.from_rule(rule, DEFAULT_REST_MAPPER)
        try:
            if namer.name.metric_name(series) == metric:
                return rule, namer, series
        except AdapterError:
            continue
    return None


def _render(namer: MetricNamer, *, series: str, matchers: list[str], values: dict[str, str]) -> str:
    args = GoStruct(
        "naming.queryTemplateArgs",
        {
            "Series": series,
            "LabelMatchers": ",".join(matchers),
            "LabelValuesByName": values,
            # one total instead of one value per object: "by ()" aggregates everything
            "GroupBy": "",
            "GroupBySlice": [],
        },
    )
    return namer.query.execute(args).strip()


def _selector(metric: Mapping[str, Any]) -> list[Requirement]:
    selector = (metric.get("metric") or {}).get("selector") or {}
    return [Requirement(k, "=", (str(v),)) for k, v in (selector.get("matchLabels") or {}).items()]


def _number(text: Any) -> str:
    """A quantity as a plain decimal threshold string ('500m' -> '0.5')."""
    from hpalab.specs.keda.quantity import parse_quantity

    value = parse_quantity(str(text)).value
    return format(value.normalize(), "f") if value != value.to_integral() else str(int(value))


def _warn_query(query: str, metric: str, *, out: list[ConversionWarning]) -> None:
    for _, window in _RATE_WINDOW.findall(query):
        out.append(
            ConversionWarning(
                metric,
                "rate_window",
                f"rate window [{window}]: after the load stops the value stays above 0 for up "
                f"to {window}, which delays KEDA's cooldown, and while no pod runs the series "
                "is gone, so this query cannot activate a scale from zero",
            )
        )


def _rule_for(
    source: Mapping[str, Any], rules: Sequence[DiscoveryRule], *, kind: str
) -> tuple[str, DiscoveryRule, MetricNamer, str]:
    """(metric name, rule, compiled rule, series name) of the rule serving the metric."""
    name = str(source["metric"]["name"])
    found = _find_rule(rules, name)
    if found is None:
        raise ConversionError(f"no adapter rule serves the {kind} metric {name!r}")
    return (name, *found)


def _in_namespace(
    source: Mapping[str, Any], namer: MetricNamer, *, workload: Workload
) -> list[Requirement]:
    """The HPA metric's selector plus the workload's namespace, as the adapter adds it."""
    label = namer.resources.label_for_resource(NAMESPACES)
    return [*_selector(source), Requirement(label, "=", (workload.namespace,))]


def _pods_trigger(
    metric: Mapping[str, Any], rules: Sequence[DiscoveryRule], *, workload: Workload
) -> tuple[dict[str, Any], list[ConversionWarning]]:
    source = metric["pods"]
    name, _, namer, series = _rule_for(source, rules, kind="Pods")
    matchers, values = to_matchers(_in_namespace(source, namer, workload=workload))
    pod_label = namer.resources.label_for_resource(PODS)
    matchers.append(label_matches(pod_label, workload.pod_regex))
    values[pod_label] = workload.pod_regex
    query = _render(namer, series=series, matchers=matchers, values=values)
    warnings = [
        ConversionWarning(
            name,
            "per_pod_vs_total",
            "per-pod values against totals: the adapter averages over the pods that report "
            "the metric; KEDA's AverageValue divides the total by status.replicas, which "
            "counts pods that are not Ready yet (usage looks lower during a scale-up)",
        ),
        ConversionWarning(
            name,
            "pods_without_series",
            "pods without series: the HPA's missing-pod rules (assume 0 on scale-up, 100 % on "
            "scale-down) no longer apply; a pod without the series simply adds nothing",
        ),
        ConversionWarning(
            name,
            "pod_selector",
            f"the adapter matched the HPA's own pods per request; KEDA uses the fixed regex "
            f'{pod_label}=~"{workload.pod_regex}", which may also catch other workloads\' pods',
        ),
    ]
    query = _one_series(query, name, warnings=warnings)
    target = source["target"]
    return _trigger(query, _number(target["averageValue"]), metric_type="AverageValue"), warnings


def _one_series(query: str, metric: str, *, warnings: list[ConversionWarning]) -> str:
    if re.search(r"\bby\s*\(\s*\)", query):
        return query
    warnings.append(
        ConversionWarning(
            metric,
            "multiple_series",
            "the rule's query does not aggregate to one series; KEDA refuses more than one "
            "element, so the converted query is wrapped in sum(...) (the HPA summed external "
            "series the same way)",
        )
    )
    return f"sum({query})"


def _trigger(query: str, threshold: str, *, metric_type: str) -> dict[str, Any]:
    return {
        "type": "prometheus",
        "metricType": metric_type,
        "metadata": {
            "serverAddress": SERVER_ADDRESS,
            "query": query,
            "threshold": threshold,
            # fail loudly instead of reading a lost target as zero load
            "ignoreNullValues": "false",
        },
    }


def _object_trigger(
    metric: Mapping[str, Any], rules: Sequence[DiscoveryRule], *, workload: Workload
) -> tuple[dict[str, Any], list[ConversionWarning]]:
    source = metric["object"]
    name, _, namer, series = _rule_for(source, rules, kind="Object")
    described = source["describedObject"]
    group = str(described.get("apiVersion", "")).rpartition("/")[0]
    resource = DEFAULT_REST_MAPPER.resource_for(group, str(described["kind"]).lower())
    matchers, values = to_matchers(_in_namespace(source, namer, workload=workload))
    label = namer.resources.label_for_resource(resource)
    matchers.append(label_eq(label, str(described["name"])))
    values[label] = str(described["name"])
    warnings: list[ConversionWarning] = []
    query = _one_series(
        _render(namer, series=series, matchers=matchers, values=values), name, warnings=warnings
    )
    return _target_trigger(query, source["target"]), warnings


def _external_trigger(
    metric: Mapping[str, Any], rules: Sequence[DiscoveryRule], *, workload: Workload
) -> tuple[dict[str, Any], list[ConversionWarning]]:
    source = metric["external"]
    name, rule, namer, series = _rule_for(source, rules, kind="External")
    warnings: list[ConversionWarning] = []
    requirements = _selector(source)
    if rule.resources.namespaced is False:
        warnings.append(
            ConversionWarning(
                name,
                "not_namespaced",
                "namespaced: false external rule: the adapter ignored the HPA's namespace and "
                "so does the converted query; check that it does not mix other namespaces",
            )
        )
    else:
        requirements = _in_namespace(source, namer, workload=workload)
    matchers, values = to_matchers(requirements)
    query = _one_series(
        _render(namer, series=series, matchers=matchers, values=values), name, warnings=warnings
    )
    return _target_trigger(query, source["target"]), warnings


def _target_trigger(query: str, target: Mapping[str, Any]) -> dict[str, Any]:
    if target["type"] == "Value":
        return _trigger(query, _number(target["value"]), metric_type="Value")
    return _trigger(query, _number(target["averageValue"]), metric_type="AverageValue")


def _resource_trigger(metric: Mapping[str, Any]) -> dict[str, Any]:
    kind = metric["type"]
    source = metric["resource" if kind == "Resource" else "containerResource"]
    target = source["target"]
    metadata: dict[str, str] = {}
    if target["type"] == "Utilization":
        metadata["value"] = str(target["averageUtilization"])
    else:
        metadata["value"] = str(target["averageValue"])
    if kind == "ContainerResource":
        metadata["containerName"] = str(source["container"])
    return {"type": source["name"], "metricType": target["type"], "metadata": metadata}


def convert(
    hpa: Mapping[str, Any], adapter: AdapterConfig | Mapping[str, Any], *, workload: Workload
) -> Conversion:
    """The ScaledObject spec (YAML spellings) replacing ``hpa`` + ``adapter`` for ``workload``.

    Raises :class:`ConversionError` when a metric has no rule or no KEDA equivalent.
    """
    config = (
        adapter
        if isinstance(adapter, AdapterConfig)
        else AdapterConfig.model_validate(dict(adapter))
    )
    triggers: list[dict[str, Any]] = []
    warnings: list[ConversionWarning] = []
    for metric in hpa.get("metrics") or []:
        kind = metric.get("type")
        try:
            if kind == "Pods":
                trigger, found = _pods_trigger(metric, config.rules, workload=workload)
            elif kind == "Object":
                trigger, found = _object_trigger(metric, config.rules, workload=workload)
            elif kind == "External":
                trigger, found = _external_trigger(metric, config.external_rules, workload=workload)
            else:
                trigger, found = _resource_trigger(metric), []
        except AdapterError as error:
            raise ConversionError(f"{kind} metric: {error.message}") from error
        _warn_query(trigger["metadata"].get("query", ""), _metric_name(metric), out=found)
        triggers.append(trigger)
        warnings.extend(found)
    spec: dict[str, Any] = {
        "scaleTargetRef": {"name": workload.name},
        "minReplicaCount": int(hpa.get("minReplicas", 1)),
        "maxReplicaCount": int(hpa["maxReplicas"]),
        "triggers": triggers,
    }
    if hpa.get("behavior") is not None:
        behavior = hpa["behavior"]
        spec["advanced"] = {"horizontalPodAutoscalerConfig": {"behavior": behavior}}
    return Conversion(spec, warnings)


def _metric_name(metric: Mapping[str, Any]) -> str:
    for key in ("pods", "object", "external"):
        if key in metric:
            return str(metric[key]["metric"]["name"])
    source = metric.get("resource") or metric.get("containerResource") or {}
    return str(source.get("name", ""))

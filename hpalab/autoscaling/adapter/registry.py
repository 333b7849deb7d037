"""Discovery: which metrics the custom and external metrics APIs expose, and their queries.

Discovery is pure: the caller fetches ``/api/v1/series`` for each distinct ``seriesQuery``
(:func:`series_queries`) and hands the results in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hpalab.autoscaling.adapter.exceptions import AdapterError
from hpalab.autoscaling.adapter.naming import MetricNamer, Series, namers_from_rules
from hpalab.autoscaling.adapter.resources import ROOT_SCOPED, GroupResource, RestMapper
from hpalab.autoscaling.adapter.selectors import Requirement, normalize
from hpalab.specs.adapter import AdapterConfig, DiscoveryRule


@dataclass(frozen=True, order=True)
class CustomMetricInfo:
    """One metric of custom.metrics.k8s.io: a resource, a scope and a name."""

    group_resource: GroupResource
    namespaced: bool
    metric: str

    def as_data(self) -> dict[str, object]:
        return {
            "group": self.group_resource.group,
            "resource": self.group_resource.resource,
            "namespaced": self.namespaced,
            "metric": self.metric,
        }


@dataclass(frozen=True)
class SeriesInfo:
    """Which series and which rule answer a metric."""

    series_name: str
    namer: MetricNamer
    rule_index: int


def series_queries(rules: Sequence[DiscoveryRule]) -> list[str]:
    """Distinct ``seriesQuery`` strings in rule order (the adapter sends each once)."""
    return list(dict.fromkeys(rule.series_query for rule in rules))


@dataclass
class CustomRegistry:
    """The adapter's series registry for custom metrics."""

    mapper: RestMapper
    info: dict[CustomMetricInfo, SeriesInfo] = field(default_factory=dict)

    def set_series(
        self, series_by_rule: Sequence[Sequence[Series]], namers: Sequence[MetricNamer]
    ) -> None:
        """Register already-filtered series, one list per rule; later entries win on clashes."""
        if len(series_by_rule) != len(namers):
            raise AdapterError("config", "need one set of series per rule")
        found: dict[CustomMetricInfo, SeriesInfo] = {}
        for index, (namer, series_list) in enumerate(zip(namers, series_by_rule, strict=True)):
            for series in series_list:
                resources, namespaced = namer.resources.resources_for_series(series.labels)
                try:
                    name = namer.name.metric_name(series.name)
                except AdapterError:
                    continue  # the adapter logs and skips series it cannot name
                for resource in resources:
                    scoped = namespaced and resource not in ROOT_SCOPED
                    found[CustomMetricInfo(resource, scoped, name)] = SeriesInfo(
                        series.name, namer, index
                    )
        self.info = found

    def list_metrics(self) -> list[CustomMetricInfo]:
        """Every exposed metric, sorted for stable output."""
        return sorted(self.info)

    def lookup(
        self, resource: GroupResource, *, namespaced: bool, metric: str
    ) -> tuple[CustomMetricInfo, SeriesInfo]:
        """Normalise the request's resource and find the metric; ``not_found`` otherwise."""
        try:
            normal = self.mapper.resource_for(resource.group, resource.resource)
        except AdapterError as error:
            raise AdapterError(
                "not_found", f"metric {metric} for {resource}: {error.message}"
            ) from error
        info = CustomMetricInfo(normal, namespaced, metric)
        if info not in self.info:
            raise AdapterError(
                "not_found",
                f"the server could not find the metric {metric} for {normal}",
                hint="run `hpalab adapter preview` to list the metrics each rule exposes",
            )
        return info, self.info[info]

    def query_for_metric(
        self,
        resource: GroupResource,
        *,
        namespaced: bool,
        metric: str,
        namespace: str,
        names: Sequence[str],
        requirements: Sequence[Requirement] = (),
    ) -> str:
        """The PromQL query the adapter runs; any failure is ``not_found`` (HTTP 404).

        ``requirements`` are put in Kubernetes selector order first (by key, values sorted and
        de-duplicated), as the adapter only ever sees a parsed ``labels.Selector``.
        """
        if not names:  # upstream's QueryForMetric finds nothing for no names: a 404
            raise AdapterError(
                "not_found", f"the server could not find the metric {metric} for {resource}"
            )
        info, series = self.lookup(resource, namespaced=namespaced, metric=metric)
        try:
            return series.namer.query_for_series(
                series.series_name,
                info.group_resource,
                namespace=namespace,
                names=names,
                requirements=normalize(requirements),
            )
        except AdapterError as error:
            raise AdapterError(
                "not_found", f"unable to construct query for metric {metric}: {error.message}"
            ) from error

    def resource_label(self, resource: GroupResource, *, namespaced: bool, metric: str) -> str:
        """The label whose values name the objects in query results."""
        info, series = self.lookup(resource, namespaced=namespaced, metric=metric)
        try:
            return series.namer.resources.label_for_resource(info.group_resource)
        except AdapterError as error:
            raise AdapterError("not_found", error.message) from error


@dataclass
class ExternalRegistry:
    """The adapter's registry for external metrics: metric name -> series and rule."""

    info: dict[str, SeriesInfo] = field(default_factory=dict)

    def set_series(
        self, series_by_rule: Sequence[Sequence[Series]], namers: Sequence[MetricNamer]
    ) -> None:
        """Register already-filtered series; a later rule wins a name clash."""
        found: dict[str, SeriesInfo] = {}
        for index, (namer, series_list) in enumerate(zip(namers, series_by_rule, strict=True)):
            for series in series_list:
                try:
                    name = namer.name.metric_name(series.name)
                except AdapterError:
                    continue
                found[name] = SeriesInfo(series.name, namer, index)
        self.info = found

    def list_metrics(self) -> list[str]:
        return sorted(self.info)

    def query_for_metric(
        self, metric: str, *, namespace: str, requirements: Sequence[Requirement] = ()
    ) -> str:
        """The query for an external metric; ``not_found`` if no rule exposes it.

        Query-building errors keep their own class: the adapter answers them with HTTP 500.
        """
        if metric not in self.info:
            raise AdapterError("not_found", f"the server could not find the metric {metric}")
        series = self.info[metric]
        return series.namer.query_for_external_series(
            series.series_name, namespace=namespace, requirements=normalize(requirements)
        )


@dataclass
class Discovery:
    """The result of one discovery pass over a whole config."""

    custom: CustomRegistry
    external: ExternalRegistry
    requests: list[str]
    custom_series: list[list[Series]]
    external_series: list[list[Series]]


def _filtered(
    namers: Sequence[MetricNamer], series_by_query: Mapping[str, Sequence[Series]]
) -> list[list[Series]]:
    return [n.filter_series(series_by_query.get(n.series_query, ())) for n in namers]


def discover(
    config: AdapterConfig,
    series_by_query: Mapping[str, Sequence[Series]],
    *,
    mapper: RestMapper,
) -> Discovery:
    """Run discovery: filter each rule's series, name them, associate resources.

    ``series_by_query`` maps each ``seriesQuery`` (see :func:`series_queries`) to what
    ``/api/v1/series`` returned; a missing entry counts as no series. Raises
    ``AdapterError('config')`` when a rule does not compile.
    """
    custom_namers = namers_from_rules(config.rules, mapper)
    external_namers = namers_from_rules(config.external_rules, mapper)
    custom = CustomRegistry(mapper)
    custom_series = _filtered(custom_namers, series_by_query)
    custom.set_series(custom_series, custom_namers)
    external = ExternalRegistry()
    external_series = _filtered(external_namers, series_by_query)
    external.set_series(external_series, external_namers)
    requests = series_queries([*config.rules, *config.external_rules])
    return Discovery(custom, external, requests, custom_series, external_series)

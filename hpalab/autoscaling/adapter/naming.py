"""One compiled adapter rule: series filters, metric naming, resources and query template."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from hpalab.autoscaling.adapter.exceptions import AdapterError
from hpalab.autoscaling.adapter.goregex import GoRegexError, GoRegexp, compile_go
from hpalab.autoscaling.adapter.queries import build_external_query, build_query, compile_query
from hpalab.autoscaling.adapter.resources import (
    GroupResource,
    ResourceConverter,
    RestMapper,
    overrides_from,
)
from hpalab.autoscaling.adapter.selectors import Requirement
from hpalab.autoscaling.adapter.templates import GoTemplate
from hpalab.specs.adapter import DiscoveryRule


@dataclass(frozen=True)
class Series:
    """A series as /api/v1/series returns it: the name and the label set."""

    name: str
    labels: Mapping[str, str]

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> Series:
        """From ``{"__name__": ..., label: value}`` or ``{"name": ..., "labels": {...}}``."""
        if "labels" in data and isinstance(data["labels"], Mapping):
            return cls(
                str(data.get("name", "")), {str(k): str(v) for k, v in data["labels"].items()}
            )
        labels = {str(k): str(v) for k, v in data.items() if k != "__name__"}
        return cls(str(data.get("__name__", "")), labels)


@dataclass(frozen=True)
class SeriesFilter:
    """An ``is`` (positive) or ``isNot`` (negative) regular expression on series names."""

    regex: GoRegexp
    positive: bool

    @classmethod
    def build(cls, is_: str, is_not: str) -> SeriesFilter:
        """Raises ``AdapterError('config')`` for both/neither set or a bad regex."""
        if is_ and is_not:
            raise AdapterError("config", f"filter has both is {is_!r} and isNot {is_not!r}")
        if not is_ and not is_not:
            raise AdapterError("config", "a filter needs either an `is` or an `isNot` expression")
        try:
            return cls(compile_go(is_ or is_not), bool(is_))
        except GoRegexError as error:
            raise AdapterError("config", f"cannot compile series filter: {error}") from error

    def keeps(self, name: str) -> bool:
        return self.regex.matches(name) == self.positive


def compile_filters(filters: Iterable[tuple[str, str]], name_matches: str) -> list[SeriesFilter]:
    """Series filters plus the implicit ``is: name.matches`` filter."""
    out = [SeriesFilter.build(is_, is_not) for is_, is_not in filters]
    if name_matches:
        try:
            out.append(SeriesFilter(compile_go(name_matches), True))
        except GoRegexError as error:
            raise AdapterError(
                "config", f"cannot compile name.matches {name_matches!r}: {error}"
            ) from error
    return out


def filter_names(filters: Sequence[SeriesFilter], names: Iterable[str]) -> list[str]:
    """Names passing every filter, order kept."""
    return [n for n in names if all(f.keeps(n) for f in filters)]


@dataclass(frozen=True)
class NameRule:
    """``name.matches`` / ``name.as`` compiled."""

    matches: GoRegexp
    as_: str

    @classmethod
    def build(cls, matches: str, as_: str) -> NameRule:
        """Default ``as``: ``$0`` without groups, ``$1`` with one; else a config error."""
        try:
            regex = compile_go(matches or ".*")
        except GoRegexError as error:
            raise AdapterError(
                "config", f"cannot compile name.matches {matches!r}: {error}"
            ) from error
        if not as_:
            if regex.num_subexp == 0:
                as_ = "$0"
            elif regex.num_subexp == 1:
                as_ = "$1"
            else:
                raise AdapterError(
                    "config", f"must specify an 'as' value for name matcher {matches!r}"
                )
        return cls(regex, as_)

    def metric_name(self, series_name: str) -> str:
        """The API name of a series; raises ``AdapterError('no_match')``."""
        match = self.matches.search(series_name)
        if match is None:
            raise AdapterError(
                "no_match",
                f"series name {series_name!r} did not match pattern {self.matches.source!r}",
            )
        return self.matches.expand(self.as_, match)


@dataclass(frozen=True)
class MetricNamer:
    """A compiled discovery rule (``rules[i]`` or ``externalRules[i]``)."""

    series_query: str
    filters: tuple[SeriesFilter, ...]
    name: NameRule
    resources: ResourceConverter
    query: GoTemplate
    namespaced: bool

    @classmethod
    def from_rule(cls, rule: DiscoveryRule, mapper: RestMapper) -> MetricNamer:
        """Compile ``rule``; raises ``AdapterError`` (``config``/``template_parse``)."""
        resources = ResourceConverter.build(
            mapper,
            template=rule.resources.template,
            overrides=overrides_from(rule.resources.overrides),
        )
        filters = compile_filters(
            ((f.is_, f.is_not) for f in rule.series_filters), rule.name.matches
        )
        return cls(
            series_query=rule.series_query,
            filters=tuple(filters),
            name=NameRule.build(rule.name.matches, rule.name.as_),
            resources=resources,
            query=compile_query(rule.metrics_query),
            namespaced=rule.resources.namespaced is not False,
        )

    def filter_series(self, series: Sequence[Series]) -> list[Series]:
        """Series passing every filter, order kept."""
        return [s for s in series if all(f.keeps(s.name) for f in self.filters)]

    def query_for_series(
        self,
        series_name: str,
        resource: GroupResource,
        *,
        namespace: str,
        names: Sequence[str],
        requirements: Sequence[Requirement] = (),
    ) -> str:
        """The custom-metrics query for ``names`` of ``resource``."""
        return build_query(
            self.query,
            self.resources,
            series=series_name,
            resource=resource,
            namespace=namespace,
            names=names,
            requirements=requirements,
        )

    def query_for_external_series(
        self, series_name: str, *, namespace: str, requirements: Sequence[Requirement] = ()
    ) -> str:
        """The external-metrics query (no group-by, as the adapter passes none)."""
        return build_external_query(
            self.query,
            self.resources,
            series=series_name,
            namespace=namespace,
            namespaced=self.namespaced,
            requirements=requirements,
        )


def namers_from_rules(rules: Sequence[DiscoveryRule], mapper: RestMapper) -> list[MetricNamer]:
    """Compile every rule; the first bad rule raises, naming its index and series query."""
    out = []
    for index, rule in enumerate(rules):
        try:
            out.append(MetricNamer.from_rule(rule, mapper))
        except AdapterError as error:
            raise AdapterError(
                error.kind, f"rule {index} (seriesQuery {rule.series_query!r}): {error.message}"
            ) from error
    return out

"""The prometheus-adapter configuration file, accepted verbatim.

The models mirror the adapter's ``MetricsDiscoveryConfig`` (``rules``, ``externalRules``,
``resourceRules``) with the adapter's own YAML key names. Unknown keys are rejected, as the
adapter's strict YAML decoding rejects them, so a typo such as ``metricQuery`` fails here instead
of silently dropping the query. An explicit ``null`` is treated like an absent key, as Go's YAML
decoder leaves the zero value in place.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hpalab.specs import yamlsafe

_PROM_DURATION = re.compile(r"^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$")


class BlockDumper(yaml.SafeDumper):
    """A YAML dumper writing multi-line strings (PromQL queries) as ``|`` blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


BlockDumper.add_representer(str, _represent_str)


class _Strict(BaseModel):
    """Base of every adapter model: unknown keys rejected, ``null`` means "not set"."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


class RegexFilter(_Strict):
    """One series-name filter; exactly one of ``is`` / ``isNot`` must be set."""

    is_: str = Field("", alias="is", description="Keep only series whose name matches (RE2).")
    is_not: str = Field(
        "", alias="isNot", description="Drop series whose name matches (RE2, unanchored search)."
    )


class GroupResource(_Strict):
    """A Kubernetes group-resource, e.g. ``{resource: pod}`` or ``{group: apps, ...}``."""

    group: str = Field("", description="API group; empty for the core group.")
    resource: str = Field("", description="Resource name, singular or plural (normalised).")


class ResourceMapping(_Strict):
    """How series labels map to Kubernetes resources."""

    template: str = Field(
        "",
        description="Go template (delimiters << >>) turning .Group/.Resource into a label name.",
    )
    overrides: dict[str, GroupResource] = Field(
        default_factory=dict, description="Label name -> group-resource, checked before template."
    )
    namespaced: bool | None = Field(
        None,
        description="External rules only: false ignores the requester's namespace (default true).",
    )


class NameMapping(_Strict):
    """How a series name becomes the metric name in the API."""

    matches: str = Field("", description="RE2 regex matched against series names; empty = '.*'.")
    as_: str = Field(
        "",
        alias="as",
        description="Go regexp.Expand template ($1, ${1}, $name); default $0 or $1.",
    )


class DiscoveryRule(_Strict):
    """One rule of ``rules`` or ``externalRules``."""

    series_query: str = Field(
        "", alias="seriesQuery", description="Series selector sent to /api/v1/series."
    )
    series_filters: list[RegexFilter] = Field(
        default_factory=list,
        alias="seriesFilters",
        description="Extra name filters applied to the series the query returned.",
    )
    resources: ResourceMapping = Field(
        default_factory=ResourceMapping, description="Label-to-resource association."
    )
    name: NameMapping = Field(default_factory=NameMapping, description="Metric naming.")
    metrics_query: str = Field(
        "",
        alias="metricsQuery",
        description="Go template (<< >>) of the PromQL query run for a metric request.",
    )


class ResourceRule(_Strict):
    """Resource-metrics rule for cpu or memory (recorded and rendered, not evaluated)."""

    container_query: str = Field(
        "", alias="containerQuery", description="Query for per-container usage."
    )
    node_query: str = Field("", alias="nodeQuery", description="Query for per-node usage.")
    resources: ResourceMapping = Field(
        default_factory=ResourceMapping, description="Label-to-resource association."
    )
    container_label: str = Field(
        "", alias="containerLabel", description="Label holding the container name."
    )


class ResourceRules(_Strict):
    """The ``resourceRules`` block that serves metrics.k8s.io from Prometheus."""

    cpu: ResourceRule = Field(default_factory=ResourceRule, description="CPU rule.")
    memory: ResourceRule = Field(default_factory=ResourceRule, description="Memory rule.")
    window: str = Field("", description="Window reported by the API, Prometheus duration ('5m').")

    @field_validator("window")
    @classmethod
    def _duration(cls, value: str) -> str:
        if value and not _PROM_DURATION.match(value):
            raise ValueError(f"not a Prometheus duration: {value!r} (use e.g. '1m', '30s')")
        return value


class AdapterConfig(_Strict):
    """A whole prometheus-adapter config file (the adapter's ``--config`` file)."""

    rules: list[DiscoveryRule] = Field(
        default_factory=list, description="Custom-metrics rules (custom.metrics.k8s.io)."
    )
    resource_rules: ResourceRules | None = Field(
        None, alias="resourceRules", description="Resource-metrics rules (metrics.k8s.io)."
    )
    external_rules: list[DiscoveryRule] = Field(
        default_factory=list,
        alias="externalRules",
        description="External-metrics rules (external.metrics.k8s.io).",
    )

    def override_resources(self) -> list[tuple[str, str]]:
        """Every ``(group, resource)`` named in a ``resources.overrides`` block."""
        rules = [*self.rules, *self.external_rules]
        return [(gr.group, gr.resource) for r in rules for gr in r.resources.overrides.values()]

    def to_yaml_dict(self) -> dict[str, Any]:
        """The config as the adapter reads it: its own key names, unset fields left out."""
        return self.model_dump(by_alias=True, exclude_defaults=True)

    def to_yaml_text(self) -> str:
        """The adapter's ``config.yaml`` text; multi-line queries stay ``|`` block scalars."""
        return yaml.dump(self.to_yaml_dict(), Dumper=BlockDumper, sort_keys=False, width=1000)


def load_config_text(text: str) -> AdapterConfig:
    """Parse an adapter config file's text like the adapter (``yaml.UnmarshalStrict``).

    Raises ``yaml.YAMLError`` (syntax, duplicate keys) or pydantic's ``ValidationError``
    (unknown keys: ``extra_forbidden``; wrong types). An empty file is an empty config.
    """
    data = yamlsafe.load(text, unique_keys=True)
    return AdapterConfig.model_validate(data or {})


def prometheus_duration(seconds: float) -> str:
    """Format ``seconds`` like Prometheus' ``model.Duration.String()`` ('1m30s', '0s').

    Sub-millisecond parts are dropped, as the Prometheus type counts whole milliseconds.
    """
    millis = int(seconds * 1000)
    if millis == 0:
        return "0s"
    units = (
        ("y", 365 * 24 * 3600 * 1000),
        ("w", 7 * 24 * 3600 * 1000),
        ("d", 24 * 3600 * 1000),
        ("h", 3600 * 1000),
        ("m", 60 * 1000),
        ("s", 1000),
        ("ms", 1),
    )
    out = []
    for unit, size in units:
        count, millis = divmod(millis, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


def parse_prometheus_duration(text: str) -> float:
    """Parse a Prometheus duration ('90s', '1m30s', '500ms') into seconds.

    Raises ``ValueError`` for anything else, including the empty string.
    """
    if not text or not _PROM_DURATION.match(text):
        raise ValueError(f"not a Prometheus duration: {text!r}")
    sizes = {"y": 31536000.0, "w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
    total = 0.0
    for count, unit in re.findall(r"(\d+)(ms|[ywdhms])", text):
        total += int(count) * (0.001 if unit == "ms" else sizes[unit])
    return total


def _match_series(*matchers: str) -> str:
    return "{" + ",".join(matchers) + "}"


def _default_rules(rate: str, prefix: str) -> list[dict[str, Any]]:
    container_query = _match_series(
        '__name__=~"^container_.*"', 'container!="POD"', 'namespace!=""', 'pod!=""'
    )
    normal_query = _match_series(f'{prefix}namespace!=""', '__name__!~"^container_.*"')
    container_res = {
        "overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
    }
    normal_res = {"template": f"{prefix}<<.Resource>>"}
    container_rate = (
        f'sum(rate(<<.Series>>{{<<.LabelMatchers>>,container!="POD"}}[{rate}])) by (<<.GroupBy>>)'
    )
    normal_rate = f"sum(rate(<<.Series>>{{<<.LabelMatchers>>}}[{rate}])) by (<<.GroupBy>>)"
    container_gauge = 'sum(<<.Series>>{<<.LabelMatchers>>,container!="POD"}) by (<<.GroupBy>>)'
    return [
        {
            "seriesQuery": container_query,
            "resources": container_res,
            "name": {"matches": "^container_(.*)_seconds_total$"},
            "metricsQuery": container_rate,
        },
        {
            "seriesQuery": container_query,
            "seriesFilters": [{"isNot": "^container_.*_seconds_total$"}],
            "resources": container_res,
            "name": {"matches": "^container_(.*)_total$"},
            "metricsQuery": container_rate,
        },
        {
            "seriesQuery": container_query,
            "seriesFilters": [{"isNot": "^container_.*_total$"}],
            "resources": container_res,
            "name": {"matches": "^container_(.*)$"},
            "metricsQuery": container_gauge,
        },
        {
            "seriesQuery": normal_query,
            "seriesFilters": [{"isNot": ".*_total$"}],
            "resources": normal_res,
            "metricsQuery": "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
        },
        {
            "seriesQuery": normal_query,
            "seriesFilters": [{"isNot": ".*_seconds_total"}],
            "name": {"matches": "^(.*)_total$"},
            "resources": normal_res,
            "metricsQuery": normal_rate,
        },
        {
            "seriesQuery": normal_query,
            "name": {"matches": "^(.*)_seconds_total$"},
            "resources": normal_res,
            "metricsQuery": normal_rate,
        },
    ]


def _default_resource_rules(rate: str, prefix: str) -> dict[str, Any]:
    overrides = {
        "namespace": {"resource": "namespace"},
        "pod": {"resource": "pod"},
        "instance": {"resource": "node"},
    }
    by = " by (<<.GroupBy>>)"
    cpu = "sum(rate(container_cpu_usage_seconds_total{<<.LabelMatchers>>%s}[" + rate + "]))"
    memory = "sum(container_memory_working_set_bytes{<<.LabelMatchers>>%s})"
    return {
        "cpu": {
            "containerQuery": cpu % "" + by,
            "nodeQuery": cpu % ", id='/'" + by,
            "resources": {"overrides": overrides},
            "containerLabel": f"{prefix}container",
        },
        "memory": {
            "containerQuery": memory % "" + by,
            "nodeQuery": memory % ",id='/'" + by,
            "resources": {"overrides": overrides},
            "containerLabel": f"{prefix}container",
        },
        "window": rate,
    }


def default_config(*, rate_interval_s: float = 300.0, label_prefix: str = "") -> AdapterConfig:
    """The adapter's ``DefaultConfig(rateInterval, labelPrefix)`` (``config-gen`` output).

    ``rate_interval_s`` is the ``rate()`` window in seconds (the adapter's ``--rate-interval``,
    default 5m); ``label_prefix`` is prepended to resource label names (e.g. ``kube_``).
    """
    rate = prometheus_duration(rate_interval_s)
    return AdapterConfig.model_validate(
        {
            "rules": _default_rules(rate, label_prefix),
            "resourceRules": _default_resource_rules(rate, label_prefix),
        }
    )


REQUESTS_PER_SECOND_RULE: dict[str, Any] = {
    "seriesQuery": 'http_requests_total{namespace!="",pod!=""}',
    "resources": {
        "overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
    },
    "name": {"matches": "^(.*)_total$", "as": "${1}_per_second"},
    "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)",
}
"""The walkthrough rule: ``http_requests_total`` served as ``http_requests_per_second``, the
rule of a stack started without an experiment on either platform."""


def requests_per_second_config() -> dict[str, Any]:
    """A fresh adapter config holding only :data:`REQUESTS_PER_SECOND_RULE`."""
    return {"rules": [copy.deepcopy(REQUESTS_PER_SECOND_RULE)]}

"""prometheus-adapter rule semantics: discovery, naming, query building and values.

Pure functions over data (no I/O). The public API::

    series_queries(rules) -> [seriesQuery]        what to ask /api/v1/series
    discover(config, series_by_query, mapper=DEFAULT_REST_MAPPER) -> Discovery
    pods_query(discovery, metric=..., namespace=..., pod_names=[...]) -> PromQL
    pod_values(discovery, metric=..., vector=[Sample...], pod_names=[...]) -> [ObjectValue]
    conformance.run_case(case, fixtures) -> output one conformance case
"""

from hpalab.autoscaling.adapter.api import PODS, pod_values, pods_query
from hpalab.autoscaling.adapter.exceptions import AdapterError
from hpalab.autoscaling.adapter.naming import Series
from hpalab.autoscaling.adapter.registry import (
    CustomMetricInfo,
    Discovery,
    discover,
    series_queries,
)
from hpalab.autoscaling.adapter.resources import DEFAULT_REST_MAPPER, GroupResource, RestMapper
from hpalab.autoscaling.adapter.selectors import Requirement, parse_selector
from hpalab.autoscaling.adapter.values import ObjectValue, Sample

__all__ = [
    "DEFAULT_REST_MAPPER",
    "PODS",
    "AdapterError",
    "CustomMetricInfo",
    "Discovery",
    "GroupResource",
    "ObjectValue",
    "Requirement",
    "RestMapper",
    "Sample",
    "Series",
    "discover",
    "parse_selector",
    "pod_values",
    "pods_query",
    "series_queries",
]

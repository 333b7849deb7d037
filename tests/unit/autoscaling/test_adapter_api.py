"""The public engine API the local platform uses: discover, pods_query, pod_values."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpalab.autoscaling.adapter import (
    DEFAULT_REST_MAPPER,
    AdapterError,
    Sample,
    Series,
    discover,
    parse_selector,
    pod_values,
    pods_query,
    series_queries,
)
from hpalab.autoscaling.adapter.quantity import format_milli, milli_value
from hpalab.specs.adapter import AdapterConfig, default_config

CONFIG = AdapterConfig.model_validate(
    {
        "rules": [
            {
                "seriesQuery": 'http_requests_total{namespace!="",pod!=""}',
                "resources": {
                    "overrides": {
                        "namespace": {"resource": "namespace"},
                        "pod": {"resource": "pod"},
                    }
                },
                "name": {"matches": "^(.*)_total$", "as": "${1}_per_second"},
                "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)",
            }
        ]
    }
)
SERIES = [
    Series("http_requests_total", {"namespace": "shop", "pod": p}) for p in ("web-1", "web-2")
]


def _discovery():
    (query,) = series_queries(CONFIG.rules)
    return discover(CONFIG, {query: SERIES}, mapper=DEFAULT_REST_MAPPER)


def test_discover_lists_pods_and_namespaces():
    found = _discovery()
    listed = {
        (m.group_resource.resource, m.namespaced, m.metric) for m in found.custom.list_metrics()
    }
    assert listed == {
        ("pods", True, "http_requests_per_second"),
        ("namespaces", False, "http_requests_per_second"),
    }


def test_pods_query_and_values():
    found = _discovery()
    query = pods_query(
        found,
        metric="http_requests_per_second",
        namespace="shop",
        pod_names=["web-1", "web-2", "web-3"],
        selector=parse_selector("code!=500"),
    )
    assert query == (
        'sum(rate(http_requests_total{code!="500",namespace="shop",pod=~"web-1|web-2|web-3"}[1m]))'
        " by (pod)"
    )
    vector = [Sample({"pod": "web-2"}, 1.2), Sample({"pod": "web-1"}, math.nan)]
    values = pod_values(
        found,
        metric="http_requests_per_second",
        vector=vector,
        pod_names=["web-1", "web-2", "web-3"],
    )
    assert [(v.name, v.milli, v.quantity) for v in values] == [
        ("web-1", 0, "0"),
        ("web-2", 1200, "1200m"),
    ]


def test_unknown_metric_is_not_found():
    with pytest.raises(AdapterError) as caught:
        pods_query(
            _discovery(), metric="http_requests_total", namespace="shop", pod_names=["web-1"]
        )
    assert caught.value.kind == "not_found"
    assert caught.value.hint


def test_discovery_of_the_default_config_with_real_looking_series():
    config = default_config(rate_interval_s=60)
    queries = series_queries(config.rules)
    assert len(queries) == 2
    found = discover(
        config,
        {
            queries[1]: [
                Series("http_requests_total", {"namespace": "shop", "pod": "web-1", "job": "x"})
            ]
        },
        mapper=DEFAULT_REST_MAPPER,
    )
    query = pods_query(found, metric="http_requests", namespace="shop", pod_names=["web-1"])
    assert query == 'sum(rate(http_requests_total{namespace="shop",pod="web-1"}[1m])) by (pod)'


def test_bad_rule_is_a_config_error_naming_the_rule():
    bad = AdapterConfig.model_validate(
        {"rules": [{"seriesQuery": "up", "name": {"matches": "(a)(b)"}}]}
    )
    with pytest.raises(AdapterError) as caught:
        discover(bad, {}, mapper=DEFAULT_REST_MAPPER)
    assert caught.value.kind == "config"
    assert "rule 0" in caught.value.message


def _parse_quantity(text):
    suffixes = {"m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15}
    number = text.rstrip("mkMGTP")
    return int(number) * 10 ** (suffixes[text[len(number) :]] + 3)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_quantity_strings_read_back_to_the_same_milli_value(milli):
    assert _parse_quantity(format_milli(milli)) == milli


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_milli_values_truncate_toward_zero(value):
    milli = milli_value(value, nan_as_zero=True)
    assert abs(milli) <= abs(value * 1000) < abs(milli) + 1


def test_mapper_including_custom_resources():
    mapper = DEFAULT_REST_MAPPER.including([("argoproj.io", "rollouts"), ("", "pod")])
    assert str(mapper.resource_for("argoproj.io", "Rollout")) == "rollouts.argoproj.io"
    assert len(mapper.kinds) == len(DEFAULT_REST_MAPPER.kinds) + 1
    with pytest.raises(AdapterError):
        DEFAULT_REST_MAPPER.resource_for("argoproj.io", "rollouts")


def test_selector_order_does_not_matter():
    from hpalab.autoscaling.adapter import Requirement

    unordered = [Requirement("z", "in", ("b", "a", "b")), Requirement("a", "=", ("1",))]
    query = pods_query(
        _discovery(),
        metric="http_requests_per_second",
        namespace="shop",
        pod_names=["web-1"],
        selector=unordered,
    )
    assert '{a="1",z=~"a|b",namespace="shop",pod="web-1"}' in query

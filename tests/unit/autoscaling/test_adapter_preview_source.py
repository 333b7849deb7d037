"""The preview collector against a fake Prometheus at hpalab's seam (httpx.MockTransport)."""

import httpx
import pytest

from hpalab.autoscaling.adapter import DEFAULT_REST_MAPPER
from hpalab.collectors.adapter_source import PrometheusAPI, preview, selector_requirements
from hpalab.errors import CollectorError
from hpalab.specs.adapter import AdapterConfig
from hpalab.specs.hpa import LabelSelector, MetricSpec

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
        ],
        "externalRules": [
            {
                "seriesQuery": "queue_depth",
                "resources": {"namespaced": False},
                "metricsQuery": "max(<<.Series>>{<<.LabelMatchers>>})",
            }
        ],
    }
)


def _metric(kind, name):
    source = {"metric": {"name": name}, "target": {"type": "AverageValue", "averageValue": "1"}}
    return MetricSpec.model_validate({"type": kind, kind.lower(): source})


def _fake(request):
    path, params = request.url.path, request.url.params
    if path == "/api/v1/series":
        if params["match[]"] == "queue_depth":
            return httpx.Response(
                200, json={"status": "success", "data": [{"__name__": "queue_depth"}]}
            )
        data = [
            {"__name__": "http_requests_total", "namespace": "shop", "pod": p} for p in ("b", "a")
        ]
        return httpx.Response(200, json={"status": "success", "data": data})
    query = params["query"]
    if query.startswith("max("):
        result = [{"metric": {}, "value": [1, "7"]}]
    else:
        assert query == 'sum(rate(http_requests_total{namespace="shop",pod=~"a|b"}[1m])) by (pod)'
        assert params["time"] == "100.000"
        result = [{"metric": {"pod": "a"}, "value": [100, "0.5"]}]
    data = {"resultType": "vector", "result": result}
    return httpx.Response(200, json={"status": "success", "data": data})


def test_preview_reports_rules_queries_and_values():
    api = PrometheusAPI("http://prom.test", transport=httpx.MockTransport(_fake))
    metrics = [_metric("Pods", "http_requests_per_second"), _metric("External", "queue_depth")]
    result = preview(api, CONFIG, metrics, mapper=DEFAULT_REST_MAPPER, at=100.0)
    assert [r.series for r in result.rules] == [2, 1]
    assert result.rules[1].metrics == ["queue_depth"]
    pods, external = result.metrics
    assert pods.objects == ["a", "b"]
    assert pods.values == [{"name": "a", "value": "500m", "value_milli": 500}]
    assert external.query == "max(queue_depth{})"
    assert [v["value"] for v in external.values] == ["7"]


def test_external_rule_without_namespace_label_reports_the_adapter_error():
    namespaced = AdapterConfig.model_validate(
        {"externalRules": [{"seriesQuery": "queue_depth", "metricsQuery": "<<.Series>>"}]}
    )
    api = PrometheusAPI("http://prom.test", transport=httpx.MockTransport(_fake))
    result = preview(
        api, namespaced, [_metric("External", "queue_depth")], mapper=DEFAULT_REST_MAPPER
    )
    assert "no label maps to namespaces" in result.metrics[0].error


def test_unknown_metric_is_reported_not_raised():
    api = PrometheusAPI("http://prom.test", transport=httpx.MockTransport(_fake))
    result = preview(api, CONFIG, [_metric("Pods", "nope")], mapper=DEFAULT_REST_MAPPER)
    assert "no rule exposes" in result.metrics[0].error
    assert [w["code"] for w in result.warnings] == ["metric-not-exposed"]


def test_prometheus_errors_become_collector_errors():
    def bad(request):
        return httpx.Response(
            400, json={"status": "error", "errorType": "bad_data", "error": "parse error"}
        )

    api = PrometheusAPI("http://prom.test", transport=httpx.MockTransport(bad))
    with pytest.raises(CollectorError, match="parse error"):
        api.query("sum(")

    def not_json(request):
        return httpx.Response(200, text="<html>")

    with pytest.raises(CollectorError, match="without JSON"):
        PrometheusAPI("http://x.test", transport=httpx.MockTransport(not_json)).series("up")


def test_selector_requirements_sorted_like_kubernetes():
    selector = LabelSelector.model_validate(
        {
            "matchLabels": {"z": "1"},
            "matchExpressions": [{"key": "a", "operator": "In", "values": ["y", "x"]}],
        }
    )
    reqs = selector_requirements(selector)
    assert [(r.key, r.op, r.values) for r in reqs] == [("a", "in", ("x", "y")), ("z", "=", ("1",))]


RATE_2M = "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)"


def test_object_metric_on_a_service():
    config = AdapterConfig.model_validate(
        {
            "rules": [
                {
                    "seriesQuery": 'ingress_hits_total{service!=""}',
                    "resources": {
                        "overrides": {
                            "namespace": {"resource": "namespace"},
                            "service": {"resource": "service"},
                        }
                    },
                    "name": {"matches": "^(.*)_total$"},
                    "metricsQuery": RATE_2M,
                }
            ]
        }
    )
    expected = 'sum(rate(ingress_hits_total{namespace="shop",service="web"}[2m])) by (service)'

    def fake(request):
        if request.url.path == "/api/v1/series":
            data = [{"__name__": "ingress_hits_total", "namespace": "shop", "service": "web"}]
            return httpx.Response(200, json={"status": "success", "data": data})
        assert request.url.params["query"] == expected
        result = [{"metric": {"service": "web"}, "value": [1, "2.5"]}]
        data = {"resultType": "vector", "result": result}
        return httpx.Response(200, json={"status": "success", "data": data})

    metric = MetricSpec.model_validate(
        {
            "type": "Object",
            "object": {
                "describedObject": {"kind": "Service", "name": "web", "apiVersion": "v1"},
                "metric": {"name": "ingress_hits"},
                "target": {"type": "Value", "value": "10"},
            },
        }
    )
    api = PrometheusAPI("http://prom.test", transport=httpx.MockTransport(fake))
    (item,) = preview(api, config, [metric], mapper=DEFAULT_REST_MAPPER, namespace="shop").metrics
    assert (item.query, item.error) == (expected, "")
    assert item.values == [{"name": "web", "value": "2500m", "value_milli": 2500}]


def test_namespace_without_pods_is_reported():
    api = PrometheusAPI("http://prom.test", transport=httpx.MockTransport(_fake))
    metric = _metric("Pods", "http_requests_per_second")
    result = preview(api, CONFIG, [metric], mapper=DEFAULT_REST_MAPPER, namespace="other")
    assert "name a pod in namespace 'other'" in result.metrics[0].error

import asyncio
import json

import httpx
import pytest

from hpalab.autoscaling.adapter.selectors import requirements_of
from hpalab.autoscaling.hpa import FetchFailure, parse_hpa_spec
from hpalab.platforms.local.metrics import CpuMeter
from hpalab.platforms.local.metricsapi import MetricsAPI
from hpalab.platforms.local.settings import DEFAULT_ADAPTER

PODS = ["sample-app-a", "sample-app-b"]


def _spec(*metrics):
    return parse_hpa_spec({"minReplicas": 1, "maxReplicas": 5, "metrics": list(metrics)})


PODS_METRIC = {
    "type": "Pods",
    "pods": {
        "metric": {"name": "http_requests_per_second"},
        "target": {"type": "AverageValue", "averageValue": "5"},
    },
}
CPU_METRIC = {
    "type": "Resource",
    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
}


def _prometheus(queries):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/series":
            data = [
                {"__name__": "http_requests_total", "namespace": "default", "pod": pod}
                for pod in PODS
            ]
        else:
            queries.append(request.url.params["query"])
            data = {
                "resultType": "vector",
                "result": [
                    {"metric": {"pod": "sample-app-a"}, "value": [0, "7.5"]},
                    {"metric": {"pod": "other"}, "value": [0, "99"]},
                ],
            }
        return httpx.Response(200, json={"status": "success", "data": data})

    return httpx.MockTransport(handler)


def _api(transport, meter=None):
    return MetricsAPI(
        meter=meter or CpuMeter(window_s=10),
        prometheus_url=lambda: "http://127.0.0.1:9",
        adapter=DEFAULT_ADAPTER,
        transport=transport,
    )


def test_pods_metric_is_served_through_the_adapter_rules():
    queries = []
    api = _api(_prometheus(queries))
    snapshot = asyncio.run(api.snapshot(_spec(PODS_METRIC), pods=PODS, now=1000.0))
    assert snapshot.pods == {"http_requests_per_second": {"sample-app-a": 7500}}
    (query,) = queries
    assert query.startswith("sum(rate(http_requests_total{")
    assert 'pod=~"sample-app-a|sample-app-b"' in query
    assert 'namespace="default"' in query


def test_prometheus_down_is_a_server_error_for_every_custom_metric():
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    api = _api(httpx.MockTransport(refuse))
    snapshot = asyncio.run(api.snapshot(_spec(PODS_METRIC), pods=PODS, now=1000.0))
    failure = snapshot.pods["http_requests_per_second"]
    assert isinstance(failure, FetchFailure)
    assert "has prevented the request from succeeding" in failure.message
    assert "connection refused" in failure.message


def test_unknown_metric_is_the_adapters_not_found():
    metric = json.loads(json.dumps(PODS_METRIC))
    metric["pods"]["metric"]["name"] = "nope"
    api = _api(_prometheus([]))
    snapshot = asyncio.run(api.snapshot(_spec(metric), pods=PODS, now=1000.0))
    assert "could not find the metric nope" in snapshot.pods["nope"].message


def test_cpu_comes_from_the_meter_and_skips_prometheus():
    meter = CpuMeter(window_s=10)
    meter.record("sample-app-a", pid=1, cpu_s=0.0, now=0.0)
    meter.record("sample-app-a", pid=1, cpu_s=1.0, now=10.0)

    def never(request):
        raise AssertionError("Prometheus must not be asked for CPU")

    api = _api(httpx.MockTransport(never), meter)
    snapshot = asyncio.run(api.snapshot(_spec(CPU_METRIC), pods=PODS, now=10.0))
    (item,) = snapshot.resource
    assert item.pod == "sample-app-a"
    assert item.containers[0].usage_milli == {"cpu": 100}
    assert (item.timestamp_s, item.window_s) == (10.0, 10.0)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (None, []),
        ({"matchLabels": {"path": "/"}}, [("path", "=", ("/",))]),
        (
            {"matchExpressions": [{"key": "code", "operator": "In", "values": ["200", "201"]}]},
            [("code", "in", ("200", "201"))],
        ),
        ({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, [("x", "!", ())]),
    ],
)
def test_label_selectors_become_requirements(selector, expected):
    assert [(r.key, r.op, r.values) for r in requirements_of(selector)] == expected


SERVICE_RULE = {
    "seriesQuery": 'http_requests_total{namespace!="",service!=""}',
    "resources": {
        "overrides": {"namespace": {"resource": "namespace"}, "service": {"resource": "service"}}
    },
    "name": {"matches": "^(.*)_total$", "as": "${1}_per_second"},
    "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)",
}
EXTERNAL_RULE = {
    "seriesQuery": 'http_requests_total{namespace!=""}',
    "resources": {"overrides": {"namespace": {"resource": "namespace"}}},
    "name": {"matches": "^(.*)_total$", "as": "${1}_rate"},
    "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)",
}


def _labelled_prometheus(queries, labels):
    def handler(request):
        if request.url.path == "/api/v1/series":
            data = [{"__name__": "http_requests_total", "namespace": "default", **labels}]
        else:
            queries.append(request.url.params["query"])
            data = {"resultType": "vector", "result": [{"metric": labels, "value": [0, "12"]}]}
        return httpx.Response(200, json={"status": "success", "data": data})

    return httpx.MockTransport(handler)


def test_object_metric_is_the_described_objects_value():
    queries = []
    api = MetricsAPI(
        meter=CpuMeter(),
        prometheus_url=lambda: "http://127.0.0.1:9",
        adapter={"rules": [SERVICE_RULE]},
        transport=_labelled_prometheus(queries, {"service": "sample-app"}),
    )
    metric = {
        "type": "Object",
        "object": {
            "describedObject": {"apiVersion": "v1", "kind": "Service", "name": "sample-app"},
            "metric": {"name": "http_requests_per_second"},
            "target": {"type": "Value", "value": "10"},
        },
    }
    snapshot = asyncio.run(api.snapshot(_spec(metric), pods=PODS, now=1000.0))
    assert snapshot.objects == {"http_requests_per_second": 12000}
    assert 'service="sample-app"' in queries[0]


def test_external_metric_returns_every_series_value():
    queries = []
    api = MetricsAPI(
        meter=CpuMeter(),
        prometheus_url=lambda: "http://127.0.0.1:9",
        adapter={"externalRules": [EXTERNAL_RULE]},
        transport=_labelled_prometheus(queries, {}),
    )
    metric = {
        "type": "External",
        "external": {
            "metric": {"name": "http_requests_rate"},
            "target": {"type": "AverageValue", "averageValue": "5"},
        },
    }
    snapshot = asyncio.run(api.snapshot(_spec(metric), pods=PODS, now=1000.0))
    assert snapshot.external == {"http_requests_rate": [12000]}
    assert queries[0].startswith("sum(rate(http_requests_total{")

"""The local KEDA against a scripted Prometheus: requests, cache, fallback, executor, events."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx

from hpalab.autoscaling.hpa import FetchFailure
from hpalab.platforms.local.keda import KedaScaledObject


@dataclass
class _Replica:
    ready: bool = True


@dataclass
class _Supervisor:
    desired: int = 2
    replicas: dict[str, _Replica] = field(default_factory=dict)

    def scale(self, replicas: int) -> None:
        self.desired = replicas


class _Prometheus:
    """Answers /api/v1/query with the next scripted (status, value) and records requests."""

    def __init__(self, answers: list[tuple[int, str]]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, value = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        body = {"status": "success", "data": {"resultType": "vector", "result": []}}
        if value:
            body["data"]["result"] = [{"metric": {}, "value": [1, value]}]  # type: ignore[index]
        return httpx.Response(status, json=body)


def _scaled_object(**spec):
    trigger = {
        "type": "prometheus",
        "metadata": {
            "serverAddress": "http://ignored:9090",
            "query": 'sum(rate(http_requests_total{namespace="default"}[1m]))',
            "threshold": "10",
            "activationThreshold": "1",
            "customHeaders": "X-Scope=lab",
            "queryParameters": "dedup=true",
        },
    }
    trigger.update(spec.pop("trigger", {}))
    return {"minReplicaCount": 0, "cooldownPeriod": 5, "triggers": [trigger], **spec}


def _keda(prometheus, *, now, supervisor=None, **spec):
    clock = {"t": now}
    keda = KedaScaledObject(
        _scaled_object(**spec),
        supervisor=supervisor or _Supervisor(replicas={"a": _Replica(), "b": _Replica()}),
        prometheus_url=lambda: "http://127.0.0.1:9",
        events=deque(),
        clock=lambda: clock["t"],
        transport=httpx.MockTransport(prometheus),
    )
    return keda, clock


def test_hpa_reads_query_prometheus_like_keda():
    prometheus = _Prometheus([(200, "12.5")])
    keda, _ = _keda(prometheus, now=1000.7)
    value = asyncio.run(keda.hpa_read("s0-prometheus", 1000.7))
    assert value == [12500]
    request = prometheus.requests[0]
    query = parse_qs(request.url.query.decode())
    assert query["time"] == ["1970-01-01T00:16:40Z"], "whole seconds, UTC"
    assert query["dedup"] == ["true"] and "namespace" not in query
    assert request.headers["X-Scope"] == "lab"


def test_errors_are_retried_once_then_reach_the_hpa_without_fallback():
    prometheus = _Prometheus([(503, ""), (503, ""), (200, "3")])
    keda, _ = _keda(prometheus, now=10.0)
    failed = asyncio.run(keda.hpa_read("s0-prometheus", 10.0))
    assert isinstance(failed, FetchFailure) and "status: 503" in failed.message
    assert len(prometheus.requests) == 2
    assert asyncio.run(keda.hpa_read("s0-prometheus", 11.0)) == [3000]


def test_fallback_replaces_errors_after_the_threshold_and_is_recorded():
    prometheus = _Prometheus([(500, "")])
    fallback = {"failureThreshold": 1, "replicas": 4}
    keda, _ = _keda(prometheus, now=10.0, fallback=fallback)
    first = asyncio.run(keda.hpa_read("s0-prometheus", 10.0))
    assert isinstance(first, FetchFailure)
    second = asyncio.run(keda.hpa_read("s0-prometheus", 11.0))
    assert second == [40000], "threshold 10 x 4 replicas"
    events = [e for e in keda.events if e.kind == "keda_fallback"]
    assert [e.detail["state"] for e in events] == ["on"]


def test_cached_metrics_serve_the_last_poll():
    prometheus = _Prometheus([(200, "7"), (200, "99")])
    keda, _ = _keda(prometheus, now=10.0, trigger={"useCachedMetrics": True})
    asyncio.run(keda.poll_once())
    assert asyncio.run(keda.hpa_read("s0-prometheus", 12.0)) == [7000]
    assert len(prometheus.requests) == 1, "no query for a cached read"


def test_polls_scale_to_zero_after_the_cooldown_and_back_on_activity():
    prometheus = _Prometheus([(200, "5"), (200, "0"), (200, "0"), (200, "0"), (200, "2")])
    supervisor = _Supervisor(desired=3)
    keda, clock = _keda(prometheus, now=100.0, supervisor=supervisor)
    actions = []
    for t in (100.0, 101.0, 103.0, 106.5, 107.0):
        clock["t"] = t
        actions.append(asyncio.run(keda.poll_once()).action)
    assert actions == ["keep_active", "cooling_down", "cooling_down", "deactivate", "activate"]
    assert supervisor.desired == 1
    kinds = [e.kind for e in keda.events]
    assert kinds == ["keda_poll", "keda_deactivation", "keda_activation"]


def test_watching_at_zero_measures_how_long_the_poll_kept_the_app_waiting():
    prometheus = _Prometheus([(200, "0"), (200, "3"), (200, "3"), (200, "3")])
    supervisor = _Supervisor(desired=0)
    keda, clock = _keda(prometheus, now=50.0, supervisor=supervisor)
    assert keda._activation_possible()
    for t in (50.0, 51.0, 52.0):
        clock["t"] = t
        asyncio.run(keda.watch_once())
    assert keda.active_since == 51.0
    clock["t"] = 54.5
    assert asyncio.run(keda.poll_once()).action == "activate"
    [event] = [e for e in keda.events if e.kind == "keda_activation"]
    assert event.detail["active_for_s"] == 3.5 and event.detail["to"] == 1
    assert asyncio.run(keda.hpa_read("s0-prometheus", 55.0)) == [3000]


def test_the_hpa_reads_nothing_at_zero_replicas():
    prometheus = _Prometheus([(200, "3")])
    keda, _ = _keda(prometheus, now=1.0, supervisor=_Supervisor(desired=0))
    assert isinstance(asyncio.run(keda.hpa_read("s0-prometheus", 1.0)), FetchFailure)
    assert not prometheus.requests


def test_an_error_at_a_poll_drops_the_cached_values_as_v2_20_2_does():
    prometheus = _Prometheus([(200, "7"), (500, ""), (500, ""), (200, "9")])
    keda, _ = _keda(prometheus, now=10.0, trigger={"useCachedMetrics": True})
    asyncio.run(keda.poll_once())
    asyncio.run(keda.poll_once())
    assert not keda.cache
    assert asyncio.run(keda.hpa_read("s0-prometheus", 12.0)) == [9000], "queried live"

"""The scripted metrics backend's answers and the replay's reading of them, without a cluster:
the backend is called the way its HTTP handler calls it."""

from __future__ import annotations

import time
from pathlib import Path

from hpalab.autoscaling.hpa import FetchFailure
from hpalab.fidelity import objects
from hpalab.fidelity.backend import Backend, PodView
from hpalab.fidelity.replay import engine_pod, group_syncs, snapshot
from hpalab.fidelity.running import requests_milli
from hpalab.specs.fidelity import FidelitySpec, load_scenario

TESTS = Path(__file__).parents[2] / "fidelity"
PODS = [PodView("a", {"cpu": 200}), PodView("b", {"cpu": 200}), PodView("c", {"cpu": 200})]
NS = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns"


def _spec(name: str) -> FidelitySpec:
    return load_scenario(TESTS / f"{name}.yaml").spec


def _backend(name: str, at_s: float) -> Backend:
    backend = Backend(_spec(name), lambda: PODS)
    backend.start(time.time() - at_s)
    return backend


def test_pods_metric_per_pod_with_a_missing_pod() -> None:
    backend = _backend("pods-missing-samples", 1)
    status, body = backend.answer(f"{NS}/pods/*/requests_per_second", {"labelSelector": "app=x"})
    assert status == 200
    assert [(i["describedObject"]["name"], i["value"]) for i in body["items"]] == [
        ("a", "20"),
        ("c", "20"),
    ]
    assert backend.log[0].selector == "app=x"
    assert snapshot(backend.log).pods == {"requests_per_second": {"a": 20_000, "c": 20_000}}


def test_object_metric_missing_is_404_and_a_failed_fetch() -> None:
    backend = _backend("object-value", 7)
    status, body = backend.answer(f"{NS}/services/frontend/requests_in_flight", {})
    assert (status, body["items"][0]["value"]) == (200, "250")
    assert snapshot(backend.log).objects == {"requests_in_flight": 250_000}


def test_external_error_is_http_500() -> None:
    backend = _backend("external-average-value", 20)
    path = "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/backlog"
    status, body = backend.answer(path, {})
    assert status == 500
    assert body["code"] == 500
    assert isinstance(snapshot(backend.log).external["backlog"], FetchFailure)


def test_cpu_percent_is_of_the_request_and_overrides_apply_by_pod_order() -> None:
    backend = _backend("resource-cpu-average-value", 7)
    path = "/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods"
    status, body = backend.answer(path, {})
    usage = {i["metadata"]["name"]: i["containers"][0]["usage"]["cpu"] for i in body["items"]}
    assert (status, usage) == (200, {"a": "400m", "b": "150m", "c": "150m"})
    items = snapshot(backend.log).resource
    assert not isinstance(items, FetchFailure)
    assert [i.containers[0].usage_milli["cpu"] for i in items] == [400, 150, 150]

    utilization = _backend("resource-cpu-utilization", 7)
    _, body = utilization.answer(path, {})
    assert body["items"][0]["containers"][0]["usage"]["cpu"] == "240m"


def test_discovery_answers_without_logging() -> None:
    backend = _backend("object-value", 0)
    status, body = backend.answer("/apis/custom.metrics.k8s.io/v1beta1", {})
    assert (status, body["kind"], backend.log) == (200, "APIResourceList", [])


def test_requests_group_into_syncs_by_gaps() -> None:
    backend = _backend("several-metrics", 0)
    for _ in range(2):
        backend.answer(f"{NS}/pods/*/requests_per_second", {})
    backend.log[1].t_s += 3.0
    assert [len(b) for b in group_syncs(backend.log, 3.0)] == [1, 1]
    assert [len(b) for b in group_syncs(backend.log[:1] * 2, 3.0)] == [2]


def test_pods_that_terminate_slowly_ignore_sigterm_for_their_grace_period() -> None:
    slow = objects.deployment(_spec("external-value-terminating"), "ns")["spec"]["template"]
    assert slow["spec"]["terminationGracePeriodSeconds"] == 20
    assert slow["spec"]["containers"][0]["command"][-1].startswith("trap '' TERM; exec")
    quick = objects.deployment(_spec("external-value"), "ns")["spec"]["template"]["spec"]
    assert quick["terminationGracePeriodSeconds"] == 1
    assert quick["containers"][0]["command"] == ["sh", "-c", "exec sleep infinity"]


def test_pod_level_requests_are_what_usage_is_scripted_against() -> None:
    spec = _spec("pod-level-requests")
    pod_spec = objects.deployment(spec, "ns")["spec"]["template"]["spec"]
    assert pod_spec["resources"] == {"requests": {"cpu": "400m"}}
    assert pod_spec["containers"][0]["resources"] == {"requests": {"cpu": "100m"}}
    pod = {"metadata": {"name": "p"}, "spec": pod_spec, "status": {"phase": "Running"}}
    assert requests_milli(pod) == {"cpu": 400}  # the pod's own request wins
    assert engine_pod(pod).requests_milli == {"cpu": 400}
    assert engine_pod(pod).containers[0].requests_milli == {"cpu": 100}
    backend = Backend(spec, lambda: [PodView("p", requests_milli(pod))])
    # 110 % from 6 s on, of the pod's 400m
    assert backend.script.resource("cpu", 7, 0, PodView("p", requests_milli(pod))) == "440m"
    only = objects.deployment(_spec("pod-level-requests-only"), "ns")["spec"]["template"]["spec"]
    assert "resources" not in only["containers"][0]
    assert requests_milli({"spec": only}) == {"cpu": 200, "memory": 67108864000}

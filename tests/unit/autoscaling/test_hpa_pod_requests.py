"""The requests a Resource or ContainerResource utilization is measured against.

The first cases are upstream's ``TestCalculateRequests`` (pkg/controller/podautoscaler,
replica_calculator_test.go, v1.37.2), as data: pods, container, PodLevelResources on or off,
and the requests or the error. Its last case (restartable init containers) has no place in the
engine's pod model and is left out. The cases after them are derived from the functions it
calls (``calculatePodLevelRequests`` and component-helpers' ``PodRequests``).
"""

from __future__ import annotations

import pytest

from hpalab.autoscaling.hpa.model import Container, Pod
from hpalab.autoscaling.hpa.pods import MetricError, PodIndex

TWO = (Container("container1", {"cpu": 100}), Container("container2", {"cpu": 50}))
ONE_MISSING = (Container("container1"), Container("container2", {"cpu": 50}))

CASES = [
    # (name, containers, pod-level requests, container, gate, requests or error)
    ("sum container requests if pod-level feature is disabled", TWO, None, "", False, 150),
    ("pod-level enabled but not set: sum of the containers", TWO, None, "", True, 150),
    ("pod-level requests override the containers'", TWO, {"cpu": 800}, "", True, 800),
    (
        "a container without a request fails without pod-level requests",
        ONE_MISSING,
        None,
        "",
        False,
        "missing request for cpu in container container1 of Pod test-pod",
    ),
    ("pod-level requests cover a container without one", ONE_MISSING, {"cpu": 800}, "", True, 800),
    ("a named container: its own request", TWO, None, "container1", False, 100),
    ("a named container wins over pod-level requests", TWO, {"cpu": 800}, "container1", True, 100),
    # derived: PodRequests is the containers' sum overridden per resource by the pod's own
    ("pod-level memory only: cpu is the containers' sum", TWO, {"memory": 64000}, "", True, 150),
    (
        "pod-level requests set, none for cpu anywhere",
        (Container("container1", {"memory": 1000}),),
        {"memory": 64000},
        "",
        True,
        "missing pod-level request for cpu in Pod test-pod",
    ),
    ("the gate off: pod-level requests are not read", TWO, {"cpu": 800}, "", False, 150),
    (
        "an unsupported pod-level resource does not count",
        TWO,
        {"example.com/gpu": 1},
        "",
        True,
        150,
    ),
]


@pytest.mark.parametrize(
    ("containers", "pod_level", "container", "gate", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_requests_as_upstream_calculates_them(containers, pod_level, container, gate, expected):
    pod = Pod("test-pod", containers=containers, requests_milli=pod_level)
    index = PodIndex([pod], 0.0, 300.0, 30.0, pod_level_resources=gate)
    if isinstance(expected, str):
        with pytest.raises(MetricError) as error:
            index.requests(container=container, resource="cpu")
        assert str(error.value) == expected
    else:
        assert index.requests(container=container, resource="cpu") == {"test-pod": expected}


def test_no_pods_no_requests():
    index = PodIndex([], 0.0, 300.0, 30.0, pod_level_resources=True)
    assert index.requests(container="", resource="cpu") == {}

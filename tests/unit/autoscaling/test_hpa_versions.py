"""Kubernetes versions: feature gates per version, and the engine's ScaledToZero behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpalab.autoscaling.hpa import ControllerConfig, HPAController, MetricsSnapshot, Pod
from hpalab.autoscaling.hpa.versions import differences, features
from hpalab.specs.kubeversions import KUBERNETES_VERSIONS

VERSIONS_JSON = Path(__file__).resolve().parents[2] / "conformance" / "hpa" / "versions.json"

QUEUE_HPA = {
    "minReplicas": 0,
    "maxReplicas": 5,
    "metrics": [
        {
            "type": "External",
            "external": {
                "metric": {"name": "queue"},
                "target": {"type": "Value", "value": "10"},
            },
        }
    ],
    "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}},
}


@pytest.mark.parametrize(
    ("version", "tolerance", "condition", "pod_level"),
    [
        ("1.33", False, False, False),
        ("1.34", False, False, True),
        ("1.35", True, False, True),
        ("1.36", True, False, True),
        ("1.37", True, True, True),
    ],
)
def test_gate_defaults_by_version(version, tolerance, condition, pod_level):
    found = features(version)
    assert found.configurable_tolerance == tolerance
    assert found.scaled_to_zero_condition == condition
    assert found.pod_level_resources == pod_level


def test_alpha_gates_can_be_turned_on():
    assert features("1.33", {"HPAConfigurableTolerance": True}).configurable_tolerance
    assert features("1.36", {"HPAScaleToZero": True}).scaled_to_zero_condition
    # the gates exist before the controller reads them
    assert not features("1.35", {"HPAScaleToZero": True}).scaled_to_zero_condition
    assert not features("1.33", {"PodLevelResources": True}).pod_level_resources
    assert not features("1.37", {"PodLevelResources": False}).pod_level_resources


@pytest.mark.parametrize(
    ("version", "gates", "message"),
    [
        ("1.32", {}, "unknown Kubernetes version"),
        ("1.37", {"HPAConfigurableTolerance": False}, "GA in 1.37 and locked on"),
        ("1.35", {"NoSuchGate": True}, "unknown HPA feature gate"),
    ],
)
def test_bad_versions_and_gates(version, gates, message):
    with pytest.raises(ValueError, match=message):
        features(version, gates)


def test_differences_name_each_changed_behaviour():
    lines = differences(features("1.37"), features("1.34"))
    assert any("behavior.scaleUp/scaleDown.tolerance: honoured in 1.37" in x for x in lines)
    assert any(x.startswith("ScaledToZero condition") for x in lines)
    assert any(x.startswith("pod-level") for x in differences(features("1.33"), features("1.34")))
    assert differences(features("1.35"), features("1.35")) == []


def _pods(count: int) -> list[Pod]:
    return [Pod(f"q-{i}", start_s=-1000.0, ready_transition_s=-1000.0) for i in range(count)]


def _sync(controller: HPAController, now_s: float, replicas: int, queue_milli: int):
    return controller.sync(
        now_s,
        spec_replicas=replicas,
        pods=_pods(replicas),
        metrics=MetricsSnapshot(external={"queue": [queue_milli]}),
    )


def _condition(result, kind: str) -> tuple[str, str] | None:
    found = [c for c in result.status["conditions"] if c["type"] == kind]
    return (found[0]["status"], found[0]["reason"]) if found else None


def test_1_37_scales_to_zero_and_back_with_the_condition():
    config = ControllerConfig(**features("1.37").config_flags())
    controller = HPAController(QUEUE_HPA, config)
    down = _sync(controller, 0.0, 2, 0)
    assert down.desired_replicas == 0
    assert _condition(down, "ScaledToZero") == ("True", "ScaledToZero")
    up = _sync(controller, 15.0, 0, 25_000)
    assert up.desired_replicas == 3
    assert _condition(up, "ScaledToZero") == ("False", "NotScaledToZero")


def test_1_37_leaves_a_manual_zero_alone():
    config = ControllerConfig(**features("1.37").config_flags())
    result = _sync(HPAController(QUEUE_HPA, config), 0.0, 0, 25_000)
    assert result.desired_replicas == 0
    assert _condition(result, "ScalingActive") == ("False", "ScalingDisabled")
    assert _condition(result, "ScaledToZero") is None


def test_before_1_36_zero_replicas_with_min_0_compute_metrics_without_a_condition():
    config = ControllerConfig(**features("1.35", {"HPAScaleToZero": True}).config_flags())
    controller = HPAController(QUEUE_HPA, config)
    assert _sync(controller, 0.0, 0, 25_000).desired_replicas == 3
    down = _sync(controller, 15.0, 3, 0)
    assert down.desired_replicas == 0
    assert _condition(down, "ScaledToZero") is None


def test_version_cases_are_tagged_with_the_version_they_run():
    cases = json.loads(VERSIONS_JSON.read_text())["cases"]
    for case in cases:
        version = case["input"]["config"]["kubernetes_version"]
        assert case["kubernetes_versions"] == [version], case["id"]
        assert version in KUBERNETES_VERSIONS
    assert {c["input"]["config"]["kubernetes_version"] for c in cases} == set(KUBERNETES_VERSIONS)


RECORDING = (
    Path(__file__).resolve().parents[1] / "kubernetes" / "recordings" / "watch_scale_up.json"
)

RPS_HPA = {
    "minReplicas": 1,
    "maxReplicas": 10,
    "metrics": [
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": "rps"},
                "target": {"type": "AverageValue", "averageValue": "10"},
            },
        }
    ],
}


def _recorded_statuses(node: object) -> list[dict]:
    if isinstance(node, dict):
        is_hpa = node.get("kind") == "HorizontalPodAutoscaler" and "status" in node
        found = [node["status"]] if is_hpa else []
        return found + [s for v in node.values() for s in _recorded_statuses(v)]
    if isinstance(node, list):
        return [s for v in node for s in _recorded_statuses(v)]
    return []


def test_condition_appears_at_the_first_rescale_as_on_a_real_1_37_cluster():
    """The recorded kube-controller-manager 1.37 sets no ScaledToZero before its first rescale,
    then NotScaledToZero after the other three conditions; the engine does the same."""
    recorded = [
        [(c["type"], c["status"]) for c in s.get("conditions", [])]
        for s in _recorded_statuses(json.loads(RECORDING.read_text()))
        if s.get("conditions")
    ]
    before = [c for c in recorded if ("ScaledToZero", "False") not in c]
    after = [c for c in recorded if ("ScaledToZero", "False") in c]
    assert before and after
    assert all(len(c) == 3 for c in before)
    assert {tuple(t for t, _ in c) for c in after} == {
        ("AbleToScale", "ScalingActive", "ScalingLimited", "ScaledToZero")
    }

    controller = HPAController(RPS_HPA, ControllerConfig(**features("1.37").config_flags()))

    def sync(now_s: float, replicas: int, rps_milli: int):
        pods = _pods(replicas)
        values = {p.name: rps_milli for p in pods}
        snapshot = MetricsSnapshot(pods={"rps": values})
        return controller.sync(now_s, spec_replicas=replicas, pods=pods, metrics=snapshot)

    steady = sync(0.0, 1, 10_000)
    assert [c["type"] for c in steady.status["conditions"]] == [
        "AbleToScale",
        "ScalingActive",
        "ScalingLimited",
    ]
    grown = sync(15.0, 1, 20_000)
    assert grown.desired_replicas == 2
    assert [c["type"] for c in grown.status["conditions"]][-1] == "ScaledToZero"
    assert _condition(grown, "ScaledToZero") == ("False", "NotScaledToZero")
    assert _condition(sync(30.0, 2, 10_000), "ScaledToZero") == ("False", "NotScaledToZero")


def _cpu_hpa(metric: dict) -> dict:
    return {"minReplicas": 1, "maxReplicas": 10, "metrics": [metric]}


@pytest.mark.parametrize(
    ("version", "kind", "desired"),
    [
        ("1.33", "Resource", 3),  # 500m of the container's 250m: 200 % of a 150 % target
        ("1.34", "Resource", 2),  # 50 % of the pod's 1000m: down, held by the 300 s window
        ("1.34", "ContainerResource", 3),  # a container metric keeps the container's request
    ],
)
def test_pod_level_requests_by_version(version, kind, desired):
    from hpalab.autoscaling.hpa import Container, ContainerUsage, PodResourceMetrics

    body = {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 150}}
    if kind == "ContainerResource":
        body["container"] = "app"
    hpa = _cpu_hpa({"type": kind, "containerResource" if kind != "Resource" else "resource": body})
    pods = [
        Pod(
            f"p-{i}",
            start_s=-1000.0,
            ready_transition_s=-1000.0,
            containers=(Container("app", {"cpu": 250}),),
            requests_milli={"cpu": 1000},
        )
        for i in range(2)
    ]
    usage = [
        PodResourceMetrics(p.name, -1.0, 60.0, (ContainerUsage("app", {"cpu": 500}),)) for p in pods
    ]
    controller = HPAController(hpa, ControllerConfig(**features(version).config_flags()))
    result = controller.sync(
        0.0, spec_replicas=2, pods=pods, metrics=MetricsSnapshot(resource=usage)
    )
    assert result.desired_replicas == desired

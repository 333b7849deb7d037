"""Unit tests of the HPA controller: status, events, conditions, tolerances, failures."""

import pytest

from hpalab.autoscaling.hpa import (
    Container,
    ContainerUsage,
    ControllerConfig,
    FetchFailure,
    HPAController,
    MetricsSnapshot,
    Pod,
    PodResourceMetrics,
    parse_hpa_spec,
)
from hpalab.autoscaling.hpa.explain import Scenario, explain, replay
from hpalab.autoscaling.hpa.spec import format_milli, milli_value
from hpalab.errors import EngineError


def pods_metric(name="rps", value="10"):
    return {
        "type": "Pods",
        "pods": {
            "metric": {"name": name},
            "target": {"type": "AverageValue", "averageValue": value},
        },
    }


def external_metric(name="queue", value="100"):
    return {
        "type": "External",
        "external": {"metric": {"name": name}, "target": {"type": "Value", "value": value}},
    }


def cpu_metric(utilization=50):
    return {
        "type": "Resource",
        "resource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": utilization},
        },
    }


def ready_pods(n, request=1000):
    return [Pod(f"p{i}", containers=(Container("c", {"cpu": request}),)) for i in range(n)]


def per_pod(pods, value):
    return {p.name: value for p in pods}


def test_scale_up_status_events_and_conditions():
    controller = HPAController({"maxReplicas": 10, "metrics": [pods_metric()]})
    pods = ready_pods(3)
    result = controller.sync(
        100.0,
        spec_replicas=3,
        pods=pods,
        metrics=MetricsSnapshot(pods={"rps": per_pod(pods, 20_000)}),
    )
    assert result.desired_replicas == 6
    status = result.status
    assert status["currentReplicas"] == 3
    assert status["desiredReplicas"] == 6
    assert status["lastScaleTime"] == 100.0
    assert status["currentMetrics"] == [
        {"type": "Pods", "pods": {"metric": {"name": "rps"}, "current": {"averageValue": "20"}}}
    ]
    reasons = {c["type"]: c["reason"] for c in status["conditions"]}
    assert reasons == {
        "AbleToScale": "SucceededRescale",
        "ScalingActive": "ValidMetricFound",
        "ScalingLimited": "DesiredWithinRange",
    }
    assert result.events == [
        {
            "type": "Normal",
            "reason": "SuccessfulRescale",
            "message": "New size: 6; reason: pods metric rps above target",
        }
    ]


def test_condition_transition_time_changes_only_with_status():
    controller = HPAController({"maxReplicas": 3, "metrics": [pods_metric()]})
    pods = ready_pods(2)
    high = MetricsSnapshot(pods={"rps": per_pod(pods, 30_000)})
    first = controller.sync(0.0, spec_replicas=2, pods=pods, metrics=high)
    limited = {c["type"]: c for c in first.status["conditions"]}["ScalingLimited"]
    assert (limited["status"], limited["lastTransitionTime"]) == ("True", 0.0)
    pods = ready_pods(3)
    second = controller.sync(
        15.0,
        spec_replicas=3,
        pods=pods,
        metrics=MetricsSnapshot(pods={"rps": per_pod(pods, 30_000)}),
    )
    limited = {c["type"]: c for c in second.status["conditions"]}["ScalingLimited"]
    assert (limited["status"], limited["lastTransitionTime"]) == ("True", 0.0)
    assert second.events == []


def test_failed_metric_blocks_scale_down_but_not_scale_up():
    spec = {"maxReplicas": 10, "minReplicas": 1, "metrics": [pods_metric(), external_metric()]}
    pods = ready_pods(4)
    down = HPAController(spec).sync(
        0.0, spec_replicas=4, pods=pods, metrics=MetricsSnapshot(pods={"rps": per_pod(pods, 1000)})
    )
    assert down.desired_replicas == 4
    conditions = {c["type"]: c["reason"] for c in down.status["conditions"]}
    assert conditions["ScalingActive"] == "FailedGetExternalMetric"
    assert [e["reason"] for e in down.events] == [
        "FailedGetExternalMetric",
        "FailedComputeMetricsReplicas",
    ]
    assert "invalid metrics (1 invalid out of 2)" in down.error
    up = HPAController(spec).sync(
        0.0,
        spec_replicas=4,
        pods=pods,
        metrics=MetricsSnapshot(
            pods={"rps": per_pod(pods, 20_000)}, external={"queue": FetchFailure("boom")}
        ),
    )
    assert up.desired_replicas == 8
    assert {c["type"]: c["reason"] for c in up.status["conditions"]}[
        "ScalingActive"
    ] == "ValidMetricFound"


def test_scale_from_zero_with_an_external_metric():
    spec = {"minReplicas": 0, "maxReplicas": 10, "metrics": [external_metric(value="100")]}
    result = HPAController(spec).sync(
        0.0, spec_replicas=0, pods=[], metrics=MetricsSnapshot(external={"queue": [250_000]})
    )
    assert result.desired_replicas == 3


def test_zero_replicas_with_nonzero_min_disables_scaling():
    result = HPAController({"maxReplicas": 10, "metrics": [pods_metric()]}).sync(
        0.0, spec_replicas=0
    )
    assert result.desired_replicas == 0
    assert {c["type"]: c["reason"] for c in result.status["conditions"]}[
        "ScalingActive"
    ] == "ScalingDisabled"


def test_per_direction_tolerance_from_behavior():
    spec = {
        "maxReplicas": 20,
        "metrics": [pods_metric(value="100")],
        "behavior": {"scaleUp": {"tolerance": "0.01"}, "scaleDown": {"tolerance": 0.5}},
    }
    controller = HPAController(spec, ControllerConfig(tolerance=0.1))
    assert (controller.tolerances.scale_up, controller.tolerances.scale_down) == (0.01, 0.5)
    pods = ready_pods(10)
    up = controller.sync(
        0.0,
        spec_replicas=10,
        pods=pods,
        metrics=MetricsSnapshot(pods={"rps": per_pod(pods, 105_000)}),
    )
    assert up.desired_replicas == 11  # 5 % above target: outside the 1 % scale-up band
    down = HPAController(spec).sync(
        0.0,
        spec_replicas=10,
        pods=pods,
        metrics=MetricsSnapshot(pods={"rps": per_pod(pods, 60_000)}),
    )
    assert down.desired_replicas == 10  # 40 % below target: inside the 50 % scale-down band


def test_cpu_utilization_from_per_pod_usage_and_from_pod_metrics_agree():
    spec = {"maxReplicas": 20, "metrics": [cpu_metric(50)]}
    pods = [
        Pod(
            f"p{i}",
            start_s=-1000.0,
            ready_transition_s=-900.0,
            containers=(Container("c", {"cpu": 500}),),
        )
        for i in range(4)
    ]
    usage = {p.name: 400 for p in pods}
    fast = HPAController(spec).sync(
        0.0, spec_replicas=4, pods=pods, metrics=MetricsSnapshot(resource_usage={"cpu": usage})
    )
    items = [
        PodResourceMetrics(n, 0.0, 60.0, (ContainerUsage("c", {"cpu": v}),))
        for n, v in usage.items()
    ]
    full = HPAController(spec).sync(
        0.0, spec_replicas=4, pods=pods, metrics=MetricsSnapshot(resource=items)
    )
    assert fast.desired_replicas == full.desired_replicas == 7
    assert full.status["currentMetrics"][0]["resource"]["current"] == {
        "averageUtilization": 80,
        "averageValue": "400m",
    }


def test_quantities():
    assert milli_value("500m") == 500
    assert milli_value("1.5") == 1500
    assert milli_value("2k") == 2_000_000
    assert milli_value("1Ki") == 1_024_000
    assert milli_value(3) == 3000
    assert milli_value("0.0001") == 1  # MilliValue rounds up
    assert [format_milli(v) for v in (0, 500, 1500, 20_000, 5_000_000)] == [
        "0",
        "500m",
        "1500m",
        "20",
        "5k",
    ]
    with pytest.raises(EngineError):
        milli_value("ten")


def test_spec_defaults_and_errors():
    spec = parse_hpa_spec({"maxReplicas": 5, "behavior": {"scaleUp": {}}})
    assert spec.min_replicas == 1
    assert spec.metrics[0].target.average_utilization == 80
    assert spec.behavior is not None
    assert [p.type for p in spec.behavior.scale_up.policies] == ["Pods", "Percent"]
    assert spec.behavior.scale_down.stabilization_window_seconds is None
    with pytest.raises(EngineError, match="minReplicas"):
        parse_hpa_spec({"minReplicas": 5, "maxReplicas": 2})
    with pytest.raises(EngineError, match="maxReplicas"):
        parse_hpa_spec({"minReplicas": 1})
    with pytest.raises(EngineError, match="selectPolicy"):
        parse_hpa_spec({"maxReplicas": 2, "behavior": {"scaleUp": {"selectPolicy": "Fastest"}}})
    with pytest.raises(EngineError, match="target"):
        parse_hpa_spec(
            {
                "maxReplicas": 2,
                "metrics": [
                    {"type": "Pods", "pods": {"metric": {"name": "x"}, "target": {"type": "Bogus"}}}
                ],
            }
        )


def test_explain_reports_each_step():
    spec = {"maxReplicas": 5, "metrics": [pods_metric()]}
    data = explain(spec, ControllerConfig(), Scenario(2, {"rps": "40"}))
    assert data["metrics"][0]["proposal"] == 8
    assert data["metrics"][0]["within_tolerance"] is False
    assert data["normalization"]["limit_reason"] == "ScaleUpLimit"
    assert data["desired_replicas"] == 4
    with pytest.raises(EngineError, match="no metric named"):
        explain(spec, ControllerConfig(), Scenario(2, {"nope": "1"}))


def test_replay_follows_the_trace_each_sync_period():
    spec = {"maxReplicas": 10, "metrics": [pods_metric()]}
    rows = replay(
        spec,
        ControllerConfig(sync_period_s=15.0),
        samples=[(0.0, {"rps": "10"}), (20.0, {"rps": "30"})],
        initial_replicas=1,
    )
    assert [(r.t_s, r.current, r.desired) for r in rows] == [(0.0, 1, 1), (15.0, 1, 1)]
    rows = replay(
        spec,
        ControllerConfig(sync_period_s=15.0),
        samples=[(0.0, {"rps": "10"}), (30.0, {"rps": "30"})],
        initial_replicas=1,
    )
    assert [r.desired for r in rows] == [1, 1, 3]
    with pytest.raises(EngineError):
        replay(spec, ControllerConfig(), samples=[], initial_replicas=1)


def test_tolerance_fields_are_ignored_when_the_feature_gate_is_off():
    spec = {
        "maxReplicas": 20,
        "metrics": [pods_metric()],
        "behavior": {"scaleUp": {"tolerance": "0.01"}},
    }
    controller = HPAController(spec, ControllerConfig(tolerance=0.1, configurable_tolerance=False))
    assert (controller.tolerances.scale_up, controller.tolerances.scale_down) == (0.1, 0.1)


def test_explain_a_container_resource_metric():
    spec = {
        "maxReplicas": 10,
        "metrics": [
            {
                "type": "ContainerResource",
                "containerResource": {
                    "name": "cpu",
                    "container": "web",
                    "target": {"type": "Utilization", "averageUtilization": 50},
                },
            }
        ],
    }
    data = explain(spec, ControllerConfig(), Scenario(2, {"cpu": "100%"}))
    assert data["metrics"][0]["current"] == "100% of request"
    assert data["desired_replicas"] == 4


def test_rescale_event_names_the_metric_like_upstream():
    # horizontal_test.go TestEventCreated checks this message.
    spec = {"minReplicas": 1, "maxReplicas": 5, "metrics": [cpu_metric(50)]}
    pods = [
        Pod(
            "p0",
            start_s=-1e11,
            ready_transition_s=-1e11,
            containers=(Container("c", {"cpu": 200}),),
        )
    ]
    result = HPAController(spec).sync(
        0.0,
        spec_replicas=1,
        pods=pods,
        metrics=MetricsSnapshot(resource_usage={"cpu": {"p0": 200}}),
    )
    assert result.events == [
        {
            "type": "Normal",
            "reason": "SuccessfulRescale",
            "message": "New size: 2; reason: cpu resource utilization (percentage of request) "
            "above target",
        }
    ]

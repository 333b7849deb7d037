"""Engine behaviour that `hpalab fidelity hpa` found to differ from the real controller."""

from __future__ import annotations

from hpalab.autoscaling.hpa import FetchFailure, HPAController, MetricsSnapshot, Pod

SPEC = {
    "maxReplicas": 5,
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


def test_a_new_hpa_whose_metrics_fail_reports_zero_desired_replicas() -> None:
    # kube-controller-manager 1.37 keeps status.desiredReplicas when every metric fails; a new
    # HPA has none yet, so it reads 0 (seen on the resource-cpu-* fidelity scenarios while the
    # pods were inside the CPU initialization period).
    controller = HPAController(SPEC)
    pods = [Pod("a", start_s=0.0, ready_transition_s=0.0)]
    failing = MetricsSnapshot(pods={"rps": FetchFailure("no metrics")})
    result = controller.sync(10.0, spec_replicas=3, pods=pods, metrics=failing)
    assert result.status["desiredReplicas"] == 0
    assert result.desired_replicas == 3
    working = MetricsSnapshot(pods={"rps": {"a": 40_000}})
    assert controller.sync(13.0, spec_replicas=3, pods=pods, metrics=working).desired_replicas == 4
    # later failures keep the last desired count
    again = controller.sync(16.0, spec_replicas=4, pods=pods, metrics=failing)
    assert again.status["desiredReplicas"] == 4

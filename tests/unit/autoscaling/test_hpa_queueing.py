"""When a new or changed HPA is synced, by version (kubernetes#138294, HPAGeneration)."""

from __future__ import annotations

import pytest

from hpalab.autoscaling.hpa import ControllerConfig, HPAController, MetricsSnapshot, Pod
from hpalab.autoscaling.hpa.queueing import immediate, sync_delay_s
from hpalab.autoscaling.hpa.versions import differences, features


def _config(version: str, gates: dict[str, bool] | None = None) -> ControllerConfig:
    return ControllerConfig(sync_period_s=15.0, **features(version, gates).config_flags())


@pytest.mark.parametrize(
    ("version", "gates", "create_s", "change_s"),
    [
        ("1.33", None, 15.0, 15.0),
        ("1.36", None, 15.0, 15.0),
        ("1.37", None, 0.0, 0.0),
        ("1.37", {"HPAGeneration": False}, 0.0, 15.0),
    ],
)
def test_first_sync_after_create_and_change(version, gates, create_s, change_s):
    config = _config(version, gates)
    assert sync_delay_s(config, "add") == create_s
    assert sync_delay_s(config, "update", generation_changed=True) == change_s


def test_a_status_only_update_always_waits_for_the_period():
    for version in ("1.36", "1.37"):
        assert not immediate(_config(version), "update", generation_changed=False)


def test_hpa_generation_does_not_exist_before_1_37():
    with pytest.raises(ValueError, match=r"HPAGeneration does not exist in 1\.36"):
        features("1.36", {"HPAGeneration": True})
    assert features("1.36", {"HPAGeneration": False}).reconcile_on_spec_change is False


def test_explain_names_the_reconcile_differences():
    lines = differences(features("1.36"), features("1.37"))
    assert "first sync of a new HPA: at the next sync period in 1.36, at once in 1.37" in lines
    assert "sync after a spec change: at the next sync period in 1.36, at once in 1.37" in lines
    assert any(line.startswith("feature gate HPAGeneration: absent in 1.36") for line in lines)


def _pods_hpa(target: str, max_replicas: int = 10) -> dict:
    metric = {"name": "rps"}
    return {
        "minReplicas": 1,
        "maxReplicas": max_replicas,
        "metrics": [
            {
                "type": "Pods",
                "pods": {
                    "metric": metric,
                    "target": {"type": "AverageValue", "averageValue": target},
                },
            }
        ],
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}},
    }


def _sync(controller: HPAController, now_s: float, replicas: int, rps_milli: int) -> int:
    pods = [Pod(f"p-{i}", start_s=-600.0, ready_transition_s=-600.0) for i in range(replicas)]
    snapshot = MetricsSnapshot(pods={"rps": {p.name: rps_milli for p in pods}})
    result = controller.sync(now_s, spec_replicas=replicas, pods=pods, metrics=snapshot)
    return result.desired_replicas


def test_a_spec_change_keeps_the_history_and_uses_the_new_spec():
    controller = HPAController(_pods_hpa("10"))
    assert _sync(controller, 0.0, 4, 20_000) == 8
    controller.update_spec(_pods_hpa("40"))
    # the new target proposes 4, but the 60 s scale-down window still holds the 8 from before
    assert _sync(controller, 3.0, 8, 20_000) == 8
    controller.update_spec(_pods_hpa("40", max_replicas=5))
    assert _sync(controller, 6.0, 8, 20_000) == 5

"""The reconcile conformance input's ``config.tolerance`` in both of the contract's forms: the
flag's number and the object ``{scale_up, scale_down}``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from hpalab.autoscaling.hpa.conformance_reconcile import reconcile

CASES = Path(__file__).parents[2] / "conformance" / "hpa" / "reconcile.json"


def _case(tolerance: Any, per_pod_milli: int) -> dict[str, Any]:
    cases = json.loads(CASES.read_text())["cases"]
    (case,) = [c for c in cases if c["id"] == "beh/reconcile/TestScaleUpCM"]
    inp = copy.deepcopy(case["input"])  # 3 pods, target 15 per pod
    inp["config"]["tolerance"] = tolerance
    inp["pod_custom_metrics"] = [
        {"pod": p["name"], "value_milli": per_pod_milli} for p in inp["pods"]
    ]
    return dict(inp)


@pytest.mark.parametrize(
    ("tolerance", "per_pod_milli", "desired"),
    [
        (0.1, 17250, 4),  # ratio 1.15: outside 0.1, scale up to ceil(3 × 1.15)
        ({"scale_up": 0.1, "scale_down": 0.1}, 17250, 4),  # the same, as an object
        ({"scale_up": 0.2, "scale_down": 0.1}, 17250, 3),  # within the scale-up tolerance
    ],
)
def test_tolerance_as_a_number_or_per_direction(
    tolerance: Any, per_pod_milli: int, desired: int
) -> None:
    assert reconcile(_case(tolerance, per_pod_milli))["desired_replicas"] == desired


@pytest.mark.parametrize(
    ("tolerance", "reason"),
    [
        # ratio 0.67: outside 0.1, so the controller would go to 2, held by stabilization
        ({"scale_up": 0.4, "scale_down": 0.1}, "ScaleDownStabilized"),
        ({"scale_up": 0.1, "scale_down": 0.4}, "ReadyForNewScale"),  # within: nothing to do
    ],
)
def test_the_scale_down_tolerance_alone(tolerance: Any, reason: str) -> None:
    result = reconcile(_case(tolerance, 10000))
    assert result["desired_replicas"] == 3
    assert result["conditions"]["AbleToScale"]["reason"] == reason

"""Reading an HPA's status back: the current value and target of its first metric.

Pure code, shared by the platforms and the simulator that record ``metric_value`` and
``metric_target`` each second.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpalab.autoscaling.hpa.spec import parse_quantity
from hpalab.autoscaling.hpa.status import SyncResult

_SOURCE_KEY = {"Resource": "resource", "Pods": "pods", "Object": "object", "External": "external"}
_VALUE_KEYS = ("averageUtilization", "averageValue", "value")


def metric_number(block: Mapping[str, Any] | None) -> float | None:
    """The number of a MetricValueStatus or MetricTarget (utilization in percent first)."""
    if not block:
        return None
    for key in _VALUE_KEYS:
        if block.get(key) is not None:
            return float(parse_quantity(block[key], where=key))
    return None


def first_metric(
    status: Mapping[str, Any], hpa: Mapping[str, Any] | None
) -> tuple[float | None, float | None]:
    """``(current, target)`` of the HPA's first metric; ``None`` where unknown."""
    specs = (hpa or {}).get("metrics") or []
    if not specs:
        return None, None
    spec = specs[0]
    key = _SOURCE_KEY.get(str(spec.get("type")), "")
    target = metric_number((spec.get(key) or {}).get("target"))
    for current in status.get("currentMetrics") or []:
        if current.get("type") == spec.get("type"):
            return metric_number((current.get(key) or {}).get("current")), target
    return None, target


def decision_detail(current: int, result: SyncResult) -> dict[str, Any]:
    """The detail of an ``hpa_decision`` event: the sync's input scale and what it decided."""
    return {
        "current": current,
        "desired": result.desired_replicas,
        "proposal": result.metric_proposal,
        "reason": result.rescale_reason or result.error,
        "conditions": result.status.get("conditions", []),
        "metrics": result.status.get("currentMetrics"),
    }

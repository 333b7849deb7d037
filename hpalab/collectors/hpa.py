"""The HPA and replica signals, sampled once a second from the platform's snapshot."""

from __future__ import annotations

import math
from typing import Any, Protocol


class HPAView(Protocol):
    """What this collector reads of a platform snapshot."""

    @property
    def spec_replicas(self) -> int: ...
    @property
    def desired_replicas(self) -> int: ...
    @property
    def ready_replicas(self) -> int: ...
    @property
    def metric_value(self) -> float | None: ...
    @property
    def metric_target(self) -> float | None: ...


def hpa_signals(
    snapshot: HPAView, *, offered_rps: float | None, capacity_rps: float | None
) -> dict[str, float]:
    """Signal name → value for one second: replicas, the metric against its target, demand.

    ``demand_replicas`` = ceil(offered / capacity) when both are known (DESIGN.md); a missing
    metric value is left out rather than written as 0, so gaps stay visible.
    """
    signals: dict[str, float] = {
        "spec_replicas": float(snapshot.spec_replicas),
        "desired_replicas": float(snapshot.desired_replicas),
        "ready_replicas": float(snapshot.ready_replicas),
    }
    if snapshot.metric_value is not None:
        signals["metric_value"] = float(snapshot.metric_value)
    if snapshot.metric_target is not None:
        signals["metric_target"] = float(snapshot.metric_target)
    if offered_rps is not None and capacity_rps:
        signals["demand_replicas"] = float(math.ceil(round(offered_rps / capacity_rps, 9)))
    return signals


def decision_detail(hpa_status: dict[str, Any]) -> dict[str, Any]:
    """The parts of an HPA status worth keeping with a decision event."""
    return {
        "desired": hpa_status.get("desiredReplicas"),
        "current": hpa_status.get("currentReplicas"),
        "conditions": [
            {k: c.get(k) for k in ("type", "status", "reason")}
            for c in hpa_status.get("conditions", [])
        ],
        "currentMetrics": hpa_status.get("currentMetrics", []),
    }

"""The two normalizations of a metric proposal: the legacy path and spec.behavior.

Each returns the stabilized count, the stabilization reason (for AbleToScale) and the limited
count with its ScalingLimited reason; the histories are updated in place.
"""

from __future__ import annotations

from dataclasses import dataclass

from hpalab.autoscaling.hpa.behavior import (
    Limited,
    convert_with_behavior_rate,
    legacy_convert,
    legacy_stabilize,
    stabilize_with_behavior,
)
from hpalab.autoscaling.hpa.model import ControllerConfig, HPASpec, Recommendation, ScaleEvent

Normalized = tuple[int, tuple[str, str], Limited]


@dataclass(slots=True)
class History:
    """What the controller keeps per HPA between syncs (lists shared with it)."""

    recommendations: list[Recommendation]
    up_events: list[ScaleEvent]
    down_events: list[ScaleEvent]


def normalize_legacy(
    spec: HPASpec,
    config: ControllerConfig,
    history: History,
    *,
    current: int,
    proposal: int,
    now_s: float,
) -> Normalized:
    """HPA without spec.behavior: the downscale window, then the legacy scale-up limit."""
    stabilized = legacy_stabilize(
        history.recommendations,
        now_s=now_s,
        desired_replicas=proposal,
        window_s=config.downscale_stabilization_window_s,
    )
    reason = (
        "ScaleDownStabilized",
        "recent recommendations were higher than current one, applying the highest "
        "recent recommendation",
    )
    limited = legacy_convert(
        current_replicas=current,
        desired_replicas=stabilized,
        min_replicas=spec.min_replicas,
        max_replicas=spec.max_replicas,
        scale_up_limit_factor=config.scale_up_limit_factor,
        scale_up_limit_minimum=config.scale_up_limit_minimum,
    )
    return stabilized, reason, limited


def normalize_with_behavior(
    spec: HPASpec,
    config: ControllerConfig,
    history: History,
    *,
    current: int,
    proposal: int,
    now_s: float,
) -> Normalized:
    """HPA with spec.behavior: both stabilization windows, then the scaling policies."""
    behavior = spec.behavior
    assert behavior is not None
    down_window = behavior.scale_down.stabilization_window_seconds
    stabilized, reason_name, reason_message = stabilize_with_behavior(
        history.recommendations,
        now_s=now_s,
        current_replicas=current,
        desired_replicas=proposal,
        up_window_s=behavior.scale_up.stabilization_window_seconds or 0,
        down_window_s=config.downscale_stabilization_window_s
        if down_window is None
        else down_window,
    )
    limited = convert_with_behavior_rate(
        current_replicas=current,
        desired_replicas=stabilized,
        min_replicas=spec.min_replicas,
        max_replicas=spec.max_replicas,
        scale_up=behavior.scale_up,
        scale_down=behavior.scale_down,
        up_events=history.up_events,
        down_events=history.down_events,
        now_s=now_s,
    )
    return stabilized, (reason_name, reason_message), limited

"""Normalization of a metric proposal: stabilization windows, scaling policies, min/max.

Pure functions over the stored recommendation and scale-event histories (lists they update in
place, as the upstream controller updates its maps). Window membership: an entry of age
``now_s - timestamp_s`` is inside a window or policy period of W seconds iff age < W.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hpalab.autoscaling.hpa.model import (
    MAX_INT32,
    MIN_INT32,
    Recommendation,
    ScaleEvent,
    ScalingRules,
)

WITHIN_RANGE = ("DesiredWithinRange", "the desired count is within the acceptable range")
SCALE_UP_LIMIT = (
    "ScaleUpLimit",
    "the desired replica count is increasing faster than the maximum scale rate",
)
SCALE_DOWN_LIMIT = (
    "ScaleDownLimit",
    "the desired replica count is decreasing faster than the maximum scale rate",
)
TOO_MANY = ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica count")
UP_STABILIZED = (
    "ScaleUpStabilized",
    "recent recommendations were lower than current one, applying the lowest recent recommendation",
)
DOWN_STABILIZED = (
    "ScaleDownStabilized",
    "recent recommendations were higher than current one, applying the highest recent "
    "recommendation",
)


@dataclass(slots=True, frozen=True)
class Limited:
    """A normalized replica count with the ScalingLimited reason and message that explain it."""

    replicas: int
    reason: str
    message: str


def stabilize_with_behavior(
    history: list[Recommendation],
    *,
    now_s: float,
    current_replicas: int,
    desired_replicas: int,
    up_window_s: float,
    down_window_s: float,
) -> tuple[int, str, str]:
    """Clamp the proposal between the lowest (scale-up window) and highest (scale-down window)
    recent recommendations, then store it (reusing an obsolete slot).

    Returns the stabilized replicas and the AbleToScale reason/message upstream would use if the
    value differs from the proposal.
    """
    up = desired_replicas
    down = desired_replicas
    obsolete = -1
    for i, rec in enumerate(history):
        age = now_s - rec.timestamp_s
        if age < up_window_s:
            up = min(rec.replicas, up)
        if age < down_window_s:
            down = max(rec.replicas, down)
        if age > up_window_s and age > down_window_s:
            obsolete = i
    recommendation = current_replicas
    recommendation = max(recommendation, up)
    recommendation = min(recommendation, down)
    _store_recommendation(history, obsolete, Recommendation(desired_replicas, now_s))
    reason = UP_STABILIZED if desired_replicas >= current_replicas else DOWN_STABILIZED
    return recommendation, reason[0], reason[1]


def _store_recommendation(history: list[Recommendation], slot: int, rec: Recommendation) -> None:
    if slot >= 0:
        history[slot] = rec
    else:
        history.append(rec)


def legacy_stabilize(
    history: list[Recommendation], *, now_s: float, desired_replicas: int, window_s: float
) -> int:
    """HPA without behavior: the maximum over the downscale window, including the new value."""
    best = desired_replicas
    old = -1
    for i, rec in enumerate(history):
        if now_s - rec.timestamp_s >= window_s:
            old = i
        elif rec.replicas > best:
            best = rec.replicas
    _store_recommendation(history, old, Recommendation(desired_replicas, now_s))
    return best


def replicas_change_in_period(events: list[ScaleEvent], *, now_s: float, period_s: float) -> int:
    """Sum of the replica changes of events younger than the period."""
    return sum(e.replica_change for e in events if now_s - e.timestamp_s < period_s)


def scale_up_limit(
    current_replicas: int,
    *,
    up_events: list[ScaleEvent],
    down_events: list[ScaleEvent],
    rules: ScalingRules,
    now_s: float,
) -> int:
    """Highest replica count the scale-up policies allow now (before the 'not below current'
    correction). Pods: start of period + value; Percent: ceil(start × (1 + value/100))."""
    return _policy_limit(current_replicas, up_events, down_events, rules, now_s, scale_up=True)


def scale_down_limit(
    current_replicas: int,
    *,
    up_events: list[ScaleEvent],
    down_events: list[ScaleEvent],
    rules: ScalingRules,
    now_s: float,
) -> int:
    """Lowest replica count the scale-down policies allow now (before the 'not above current'
    correction). Pods: start − value; Percent: trunc(start × (1 − value/100))."""
    return _policy_limit(current_replicas, up_events, down_events, rules, now_s, scale_up=False)


def _policy_limit(
    current: int,
    up_events: list[ScaleEvent],
    down_events: list[ScaleEvent],
    rules: ScalingRules,
    now_s: float,
    *,
    scale_up: bool,
) -> int:
    if rules.select_policy == "Disabled":
        return current
    # 'Min' means the smallest change: the lowest limit up, the highest limit down.
    pick_lowest = (rules.select_policy == "Min") == scale_up
    result = MAX_INT32 if pick_lowest else MIN_INT32
    for policy in rules.policies:
        period = policy.period_seconds
        added = replicas_change_in_period(up_events, now_s=now_s, period_s=period)
        deleted = replicas_change_in_period(down_events, now_s=now_s, period_s=period)
        start = current - added + deleted
        if policy.type == "Pods":
            proposed = start + policy.value if scale_up else start - policy.value
        elif scale_up:
            proposed = math.ceil(float(start) * (1 + float(policy.value) / 100))
        else:
            proposed = int(float(start) * (1 - float(policy.value) / 100))
        result = min(result, proposed) if pick_lowest else max(result, proposed)
    return result


def convert_with_behavior_rate(
    *,
    current_replicas: int,
    desired_replicas: int,
    min_replicas: int,
    max_replicas: int,
    scale_up: ScalingRules,
    scale_down: ScalingRules,
    up_events: list[ScaleEvent],
    down_events: list[ScaleEvent],
    now_s: float,
) -> Limited:
    """Apply the scaling policies of the direction of change, then min/max."""
    if desired_replicas > current_replicas:
        limit = scale_up_limit(
            current_replicas,
            up_events=up_events,
            down_events=down_events,
            rules=scale_up,
            now_s=now_s,
        )
        limit = max(limit, current_replicas)
        if max_replicas > limit:
            reason, allowed = SCALE_UP_LIMIT, limit
        else:
            reason, allowed = TOO_MANY, max_replicas
        if desired_replicas > allowed:
            return Limited(allowed, *reason)
    elif desired_replicas < current_replicas:
        limit = scale_down_limit(
            current_replicas,
            up_events=up_events,
            down_events=down_events,
            rules=scale_down,
            now_s=now_s,
        )
        limit = min(limit, current_replicas)
        if min_replicas < limit:
            reason, allowed = SCALE_DOWN_LIMIT, limit
        else:
            reason, allowed = TOO_FEW, min_replicas
        if desired_replicas < allowed:
            return Limited(allowed, *reason)
    return Limited(desired_replicas, *WITHIN_RANGE)


def legacy_convert(
    *,
    current_replicas: int,
    desired_replicas: int,
    min_replicas: int,
    max_replicas: int,
    scale_up_limit_factor: float,
    scale_up_limit_minimum: float,
) -> Limited:
    """HPA without behavior: min/max and the scale-up limit max(factor × current, minimum)."""
    limit = int(max(scale_up_limit_factor * float(current_replicas), scale_up_limit_minimum))
    reason, allowed = (SCALE_UP_LIMIT, limit) if max_replicas > limit else (TOO_MANY, max_replicas)
    if desired_replicas < min_replicas:
        return Limited(min_replicas, *TOO_FEW)
    if desired_replicas > allowed:
        return Limited(allowed, *reason)
    return Limited(desired_replicas, *WITHIN_RANGE)


def longest_period(rules: ScalingRules) -> int:
    return max((p.period_seconds for p in rules.policies), default=0)


def store_scale_event(
    events: list[ScaleEvent], *, rules: ScalingRules, replica_change: int, now_s: float
) -> None:
    """Mark events older than the longest policy period outdated and store the new event in the
    last outdated slot (or append it)."""
    period = longest_period(rules)
    slot = -1
    for i, event in enumerate(events):
        if now_s - event.timestamp_s > period:
            event.outdated = True
        if event.outdated:
            slot = i
    new = ScaleEvent(replica_change, now_s)
    if slot >= 0:
        events[slot] = new
    else:
        events.append(new)

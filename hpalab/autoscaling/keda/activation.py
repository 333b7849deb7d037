"""One polling-loop step of KEDA's operator: trigger activity and what the scale executor does.

KEDA owns the replica count at the edges (0 or idle <-> min); the HPA owns min <-> max. Each
poll combines the triggers' activity (``getScaledObjectState``) and then either scales from
zero/idle, refreshes ``lastActiveTime``, waits for a fallback, refuses to scale in on errors,
scales to zero/idle once ``cooldownPeriod`` has passed since the last activity, or raises the
target to ``minReplicaCount`` (``RequestScale`` in ``scale_scaledobjects.go``). Pure: ages are
inputs, so this runs in virtual time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpalab.autoscaling.keda.hpa import (
    FORCE_ACTIVATION,
    PAUSED_SCALE_IN,
    PAUSED_SCALE_OUT,
    bool_annotation,
    is_paused,
)

Condition = dict[str, str]


@dataclass(frozen=True, slots=True)
class TriggerState:
    """One trigger at this poll: its activity, or an error, or a fallback value serving it."""

    kind: str = "prometheus"
    value: float | None = None
    activation_threshold: float = 0.0
    error: bool = False
    fallback_active: bool = False


@dataclass(frozen=True, slots=True)
class ScaledObjectState:
    """The parts of a ScaledObject's spec the executor reads."""

    min_replica_count: int | None = None
    idle_replica_count: int | None = None
    max_replica_count: int | None = None
    cooldown_period_s: float = 300.0
    initial_cooldown_period_s: float = 0.0
    fallback_replicas: int | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_spec(
        cls, spec: Mapping[str, Any], annotations: Mapping[str, str] | None = None
    ) -> ScaledObjectState:
        """From ScaledObject spec data (YAML spellings)."""
        fallback = spec.get("fallback")
        return cls(
            min_replica_count=spec.get("minReplicaCount"),
            idle_replica_count=spec.get("idleReplicaCount"),
            max_replica_count=spec.get("maxReplicaCount"),
            cooldown_period_s=float(spec.get("cooldownPeriod", 300)),
            initial_cooldown_period_s=float(spec.get("initialCooldownPeriod", 0)),
            fallback_replicas=None if fallback is None else int(fallback.get("replicas", 0)),
            annotations=dict(annotations or {}),
        )


@dataclass(frozen=True, slots=True)
class Step:
    """What one poll did: activity, the executor's action and the target's replicas after."""

    is_active: bool
    is_error: bool
    action: str
    replicas_after: int
    last_active_updated: bool
    conditions: dict[str, Condition]


def combine(triggers: Sequence[TriggerState]) -> tuple[bool, bool]:
    """``(is_active, is_error)`` over the triggers (``getScaledObjectState``)."""
    active = error = False
    for trigger in triggers:
        if trigger.kind in ("cpu", "memory"):
            continue
        if trigger.error:
            error = True
        elif trigger.fallback_active or (
            trigger.value is not None and trigger.value > trigger.activation_threshold
        ):
            active = True
    if triggers and all(t.kind in ("cpu", "memory") for t in triggers) and not error:
        active = True
    return active, error


def _condition(status: str, reason: str) -> Condition:
    return {"status": status, "reason": reason}


def poll_step(
    so: ScaledObjectState,
    *,
    is_active: bool,
    is_error: bool,
    current_replicas: int,
    last_active_age_s: float | None,
    creation_age_s: float,
) -> Step:
    """One ``RequestScale``; ``current_replicas`` is the target's ``spec.replicas``."""
    if is_paused(so.annotations):
        conditions = {
            "Ready": _condition("True", "ScaledObjectReady"),
            "Paused": _condition("True", "ScaledObjectPaused"),
        }
        return Step(is_active, is_error, "paused", current_replicas, False, conditions)
    if is_active or bool_annotation(so.annotations, FORCE_ACTIVATION):
        return _active(so, is_error=is_error, is_active=is_active, current=current_replicas)
    return _inactive(
        so,
        is_error=is_error,
        current=current_replicas,
        last_active_age_s=last_active_age_s,
        creation_age_s=creation_age_s,
    )


def _active(so: ScaledObjectState, *, is_error: bool, is_active: bool, current: int) -> Step:
    minimum = so.min_replica_count or 0
    conditions = {
        "Ready": _condition("True", "ScaledObjectReady"),
        "Active": _condition("True", "ScalerActive"),
    }
    if (so.idle_replica_count is not None and current < minimum) or current == 0:
        if bool_annotation(so.annotations, PAUSED_SCALE_OUT):
            return Step(is_active, is_error, "activate_blocked", current, False, conditions)
        return Step(is_active, is_error, "activate", max(minimum, 1), True, conditions)
    if is_error:
        conditions["Ready"] = _condition("Unknown", "PartialTriggerError")
        return Step(is_active, is_error, "partial_error", current, False, conditions)
    return Step(is_active, is_error, "keep_active", current, True, conditions)


def _inactive(
    so: ScaledObjectState,
    *,
    is_error: bool,
    current: int,
    last_active_age_s: float | None,
    creation_age_s: float,
) -> Step:
    minimum = so.min_replica_count or 0
    idle = so.idle_replica_count
    inactive = _condition("False", "ScalerNotActive")
    ready = _condition("True", "ScaledObjectReady")

    def step(action: str, replicas: int, **extra: Condition) -> Step:
        conditions = {"Ready": ready, "Active": inactive, **extra}
        return Step(False, is_error, action, replicas, False, conditions)

    if is_error and so.fallback_replicas is not None and so.fallback_replicas != 0:
        return step("fallback_pending", current)
    if is_error and so.fallback_replicas is None:
        return step("trigger_error", current, Ready=_condition("False", "TriggerError"))
    if (idle is not None and current > idle) or (current > 0 and minimum == 0):
        if bool_annotation(so.annotations, PAUSED_SCALE_IN):
            return step("deactivate_blocked", current)
        cooled = (
            creation_age_s > so.initial_cooldown_period_s
            if last_active_age_s is None
            else last_active_age_s > so.cooldown_period_s
        )
        if cooled:
            return step("deactivate", idle if idle is not None else minimum)
        return step("cooling_down", current, Active=_condition("False", "ScalerCooldown"))
    if idle is None and current < minimum:
        return step("raise_to_min", minimum)
    return step("none", current)

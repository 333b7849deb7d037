"""KEDA's admission rules for a ScaledObject, with KEDA's own error texts.

The cluster-independent checks of the admission webhook (``scaledobject_webhook.go``:
verifyName, verifyReplicaCount, verifyTriggers, verifyFallback, verifyCPUMemoryScalers,
verifyHpas' scalingModifiers checks) and the controller's ``scaleTargetRef`` check. They work
on plain ScaledObject data (YAML spellings) so that both ``spec.keda`` and conformance inputs
go through the same code. The webhook runs its checks in Go map order and stops at the first
failure; :func:`admission_problems` reports every failing check, each with a hint.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

MAX_LABEL_VALUE = 63
_RESOURCE_TYPES = ("cpu", "memory")

Problem = tuple[tuple[str | int, ...], str, str]
"""``(path under the ScaledObject spec, KEDA's message, hint)``."""


def hpa_name(name: str, spec: Mapping[str, Any]) -> str:
    """The HPA's name: ``advanced.horizontalPodAutoscalerConfig.name`` or ``keda-hpa-<name>``."""
    config = (spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}
    return str(config.get("name") or f"keda-hpa-{name}")


def modifiers(spec: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """``advanced.scalingModifiers`` when any of its fields is set (``IsUsingModifiers``)."""
    found = (spec.get("advanced") or {}).get("scalingModifiers") or {}
    return found if any(found.get(k) for k in found) else None


def replica_bounds(spec: Mapping[str, Any]) -> tuple[int, int]:
    """``(min, max)`` as CheckReplicaCountBoundsAreValid sees them: an explicit 0 counts as 1."""
    minimum = spec.get("minReplicaCount")
    low = 0 if minimum is None else max(int(minimum), 1)
    maximum = spec.get("maxReplicaCount")
    return low, 100 if maximum is None else int(maximum)


def _scale_target(_name: str, spec: Mapping[str, Any]) -> Problem | None:
    if not (spec.get("scaleTargetRef") or {}).get("name"):
        return (
            ("scaleTargetRef", "name"),
            "ScaledObject.spec.scaleTargetRef.name is missing",
            "name the workload to scale",
        )
    return None


def _names(name: str, spec: Mapping[str, Any]) -> Problem | None:
    if len(name) > MAX_LABEL_VALUE:
        return (
            (),
            f'scaledobject name "{name}" is {len(name)} characters long; must be no more than '
            f"{MAX_LABEL_VALUE} characters because it is used as the "
            '"scaledobject.keda.sh/name" label value',
            "shorten the name",
        )
    generated = hpa_name(name, spec)
    if len(generated) > MAX_LABEL_VALUE:
        return (
            ("advanced", "horizontalPodAutoscalerConfig", "name"),
            f'HPA name "{generated}" derived from scaledobject is {len(generated)} characters '
            f"long; must be no more than {MAX_LABEL_VALUE} characters; set "
            "spec.advanced.horizontalPodAutoscalerConfig.name to a shorter name or shorten the "
            "scaledobject name",
            "set advanced.horizontalPodAutoscalerConfig.name to a name of at most 63 characters",
        )
    return None


def _replicas(_name: str, spec: Mapping[str, Any]) -> Problem | None:
    low, high = replica_bounds(spec)
    if low > high:
        return (
            ("minReplicaCount",),
            f"MinReplicaCount={low} must be less than MaxReplicaCount={high}",
            "raise maxReplicaCount (default 100) or lower minReplicaCount",
        )
    idle = spec.get("idleReplicaCount")
    if idle is not None and int(idle) >= low:
        return (
            ("idleReplicaCount",),
            f"IdleReplicaCount={idle} must be less than MinReplicaCount={low}",
            "set minReplicaCount explicitly above idleReplicaCount (an unset minReplicaCount "
            "counts as 0, an explicit 0 as 1)",
        )
    return None


def _triggers(_name: str, spec: Mapping[str, Any]) -> Problem | None:
    triggers = spec.get("triggers") or []
    if not triggers:
        return (
            ("triggers",),
            "no triggers defined in the ScaledObject/ScaledJob",
            "add a prometheus, cpu or memory trigger",
        )
    seen: set[str] = set()
    for index, trigger in enumerate(triggers):
        kind = trigger.get("type")
        if trigger.get("useCachedMetrics") and kind in (*_RESOURCE_TYPES, "cron"):
            return (
                ("triggers", index, "useCachedMetrics"),
                f'property "useCachedMetrics" is not supported for "{kind}" scaler',
                "remove useCachedMetrics: cpu and memory are read from metrics-server",
            )
        trigger_name = trigger.get("name") or ""
        if trigger_name and trigger_name in seen:
            return (
                ("triggers", index, "name"),
                f'triggerName "{trigger_name}" is defined multiple times in the '
                "ScaledObject/ScaledJob, but it must be unique",
                "give each trigger its own name",
            )
        seen.add(trigger_name)
    return None


def _only_resources(spec: Mapping[str, Any]) -> bool:
    return all(t.get("type") in _RESOURCE_TYPES for t in spec.get("triggers") or [])


def _fallback(_name: str, spec: Mapping[str, Any]) -> Problem | None:
    fallback = spec.get("fallback")
    if fallback is None:
        return None
    threshold, replicas = int(fallback.get("failureThreshold", 0)), int(fallback.get("replicas", 0))
    if threshold < 0 or replicas < 0:
        return (
            ("fallback",),
            f"FailureThreshold={threshold} & Replicas={replicas} must both be greater than "
            "or equal to 0",
            "use non-negative numbers",
        )
    if modifiers(spec) is None and _only_resources(spec):
        return (
            ("fallback",),
            "at least one trigger (that is not cpu or memory) has to have the `AverageValue` "
            "type for the fallback to be enabled",
            "fallback applies to prometheus triggers only: add one or remove fallback",
        )
    return None


def _resources_only(_name: str, spec: Mapping[str, Any]) -> Problem | None:
    if spec.get("triggers") and _only_resources(spec) and not spec.get("minReplicaCount"):
        return (
            ("minReplicaCount",),
            "scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero "
            "doesn't work in this case)",
            "set minReplicaCount: 1 or more, or add a prometheus trigger",
        )
    return None


def go_parse_float(text: str) -> float | None:
    """``strconv.ParseFloat(text, 64)`` for plain decimal texts; ``None`` when it fails."""
    if re.fullmatch(r"[+-]?(inf|infinity|nan)", text, re.IGNORECASE):
        return float(text)
    if re.fullmatch(r"[+-]?([0-9][0-9_]*)?(\.[0-9_]*)?([eE][+-]?[0-9]+)?", text) is None:
        return None
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        return None
    return None if math.isinf(value) else value


def _scaling_modifiers(_name: str, spec: Mapping[str, Any]) -> Problem | None:
    """verifyHpas: the modifiers' formula and target first, then the fallback behavior."""
    found = modifiers(spec)
    problem = _modifier_fields(found) if found is not None else None
    fallback = spec.get("fallback") or {}
    if problem is None and fallback.get("behavior") == "scalingModifiers" and not found:
        return (
            ("fallback", "behavior"),
            "scalingModifiers fallback behavior requires scalingModifiers.formula to be defined",
            "add advanced.scalingModifiers.formula or use another fallback behavior",
        )
    return problem


def _modifier_fields(found: Mapping[str, Any]) -> Problem | None:
    where = ("advanced", "scalingModifiers")
    if not found.get("formula"):
        return (
            (*where, "formula"),
            "error ScalingModifiers.Formula is mandatory",
            "write a formula over trigger names",
        )
    target = str(found.get("target") or "")
    if not target:
        return (
            (*where, "target"),
            "error validating formula in ScalingModifiers\nformula is given but target is empty",
            "set target to the composite metric's target, e.g. '10'",
        )
    value = go_parse_float(target)
    if value is None or value <= 0:
        cause = (
            f'strconv.ParseFloat: parsing "{target}": invalid syntax'
            if value is None
            else "%!w(<nil>)"
        )
        return (
            (*where, "target"),
            "error validating target in ScalingModifiers\nerror converting target for "
            f"scalingModifiers (string->float) to valid target: {cause}",
            "use a positive number",
        )
    return None


CHECKS: tuple[Callable[[str, Mapping[str, Any]], Problem | None], ...] = (
    _scale_target,
    _names,
    _replicas,
    _triggers,
    _fallback,
    _resources_only,
    _scaling_modifiers,
)


def admission_problems(name: str, spec: Mapping[str, Any]) -> list[Problem]:
    """Every admission rule the ScaledObject ``name`` with ``spec`` breaks (empty = admitted)."""
    return [p for p in (check(name, spec) for check in CHECKS) if p is not None]

"""Turn a HorizontalPodAutoscalerSpec dict (Kubernetes camelCase, as ``yaml.safe_load`` gives it)
into the engine's model, applying the autoscaling/v2 API defaults."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from hpalab.autoscaling.hpa.model import (
    Behavior,
    HPASpec,
    MetricSpec,
    MetricTarget,
    ScalingPolicy,
    ScalingRules,
)
from hpalab.errors import EngineError

_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}

DEFAULT_CPU_UTILIZATION = 80
_HINT = "fix spec.hpa (an autoscaling/v2 HorizontalPodAutoscalerSpec) and try again"


def parse_quantity(value: object, *, where: str = "quantity") -> Decimal:
    """Parse a Kubernetes quantity ('500m', '1.5', '2k', '1Gi', '1e3') or a number."""
    if isinstance(value, bool):
        raise EngineError(f"{where}: {value!r} is not a quantity", hint=_HINT)
    if isinstance(value, int | float):
        return Decimal(str(value))
    if not isinstance(value, str) or not value.strip():
        raise EngineError(f"{where}: {value!r} is not a quantity", hint=_HINT)
    text = value.strip()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if suffix and text.endswith(suffix):
            number, scale = text[: -len(suffix)], _SUFFIXES[suffix]
            break
    else:
        number, scale = text, Decimal(1)
    try:
        parsed = Decimal(number) * scale
    except InvalidOperation as error:
        raise EngineError(f"{where}: {value!r} is not a quantity", hint=_HINT) from error
    if not parsed.is_finite():
        raise EngineError(f"{where}: {value!r} is not a finite quantity", hint=_HINT)
    return parsed


def milli_value(value: object, *, where: str = "quantity") -> int:
    """Quantity.MilliValue(): the value in thousandths, rounded up."""
    return math.ceil(parse_quantity(value, where=where) * 1000)


def format_milli(milli: int) -> str:
    """Canonical DecimalSI string of a milli-value, as resource.NewMilliQuantity(...).String()."""
    if milli == 0:
        return "0"
    exponent = -3
    mantissa = milli
    while mantissa % 1000 == 0 and exponent < 18:
        mantissa //= 1000
        exponent += 3
    suffix = {-3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}[exponent]
    return f"{mantissa}{suffix}"


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EngineError(f"{where}: expected an integer, got {value!r}", hint=_HINT)
    return value


def _map(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise EngineError(f"{where}: expected a mapping, got {value!r}", hint=_HINT)
    return value


def parse_target(raw: object, where: str) -> MetricTarget:
    target = _map(raw, where)
    kind = target.get("type")
    if kind not in ("Utilization", "Value", "AverageValue"):
        raise EngineError(
            f"{where}.type: must be Utilization, Value or AverageValue, got {kind!r}", hint=_HINT
        )
    value = target.get("value")
    average = target.get("averageValue")
    utilization = target.get("averageUtilization")
    return MetricTarget(
        type=kind,
        value_milli=None if value is None else milli_value(value, where=f"{where}.value"),
        average_value_milli=None
        if average is None
        else milli_value(average, where=f"{where}.averageValue"),
        average_utilization=None
        if utilization is None
        else _int(utilization, f"{where}.averageUtilization"),
    )


def parse_metric(raw: object, where: str) -> MetricSpec:
    """One spec.metrics entry; an unknown type is kept so the controller can report it."""
    entry = _map(raw, where)
    kind = str(entry.get("type", ""))
    field = {
        "Resource": "resource",
        "ContainerResource": "containerResource",
        "Pods": "pods",
        "Object": "object",
        "External": "external",
    }.get(kind)
    if field is None:
        return MetricSpec(type=kind, name="", target=MetricTarget("Value"), raw=dict(entry))
    body = _map(entry.get(field), f"{where}.{field}")
    target = parse_target(body.get("target"), f"{where}.{field}.target")
    if kind in ("Resource", "ContainerResource"):
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise EngineError(f"{where}.{field}.name: a resource name is required", hint=_HINT)
        container = str(body.get("container", "")) if kind == "ContainerResource" else ""
        if kind == "ContainerResource" and not container:
            raise EngineError(f"{where}.{field}.container: required", hint=_HINT)
        return MetricSpec(kind, name, target, container=container, raw=dict(entry))
    metric = _map(body.get("metric"), f"{where}.{field}.metric")
    name = metric.get("name")
    if not isinstance(name, str) or not name:
        raise EngineError(f"{where}.{field}.metric.name: a metric name is required", hint=_HINT)
    described = None
    if kind == "Object":
        obj = _map(body.get("describedObject"), f"{where}.object.describedObject")
        described = {k: str(v) for k, v in obj.items()}
    selector = metric.get("selector")
    return MetricSpec(
        kind,
        name,
        target,
        described_object=described,
        selector=dict(selector) if isinstance(selector, Mapping) else None,
        raw=dict(entry),
    )


_UP_POLICIES = (ScalingPolicy("Pods", 4, 15), ScalingPolicy("Percent", 100, 15))
_DOWN_POLICIES = (ScalingPolicy("Percent", 100, 15),)


def parse_rules(raw: object, *, up: bool, where: str) -> ScalingRules:
    """HPAScalingRules with API defaulting; None/missing keys take the defaults."""
    rules = {} if raw is None else _map(raw, where)
    window = rules.get("stabilizationWindowSeconds")
    if window is None and up:
        window = 0
    select = rules.get("selectPolicy") or "Max"
    if select not in ("Max", "Min", "Disabled"):
        raise EngineError(f"{where}.selectPolicy: must be Max, Min or Disabled", hint=_HINT)
    policies_raw = rules.get("policies") or []
    policies = tuple(
        ScalingPolicy(
            type=str(_map(p, f"{where}.policies[{i}]").get("type")),
            value=_int(p.get("value"), f"{where}.policies[{i}].value"),
            period_seconds=_int(p.get("periodSeconds"), f"{where}.policies[{i}].periodSeconds"),
        )
        for i, p in enumerate(policies_raw)
    )
    for i, policy in enumerate(policies):
        if policy.type not in ("Pods", "Percent"):
            raise EngineError(f"{where}.policies[{i}].type: must be Pods or Percent", hint=_HINT)
    if not policies:
        policies = _UP_POLICIES if up else _DOWN_POLICIES
    tolerance = rules.get("tolerance")
    return ScalingRules(
        stabilization_window_seconds=None if window is None else _int(window, f"{where}.window"),
        select_policy=str(select),
        policies=policies,
        tolerance=None
        if tolerance is None
        else float(parse_quantity(tolerance, where=f"{where}.tolerance")),
    )


def parse_behavior(raw: object) -> Behavior | None:
    if raw is None:
        return None
    behavior = _map(raw, "behavior")
    return Behavior(
        scale_up=parse_rules(behavior.get("scaleUp"), up=True, where="behavior.scaleUp"),
        scale_down=parse_rules(behavior.get("scaleDown"), up=False, where="behavior.scaleDown"),
    )


def parse_hpa_spec(raw: Mapping[str, Any]) -> HPASpec:
    """Parse a HorizontalPodAutoscalerSpec dict; minReplicas defaults to 1 and an empty metric
    list to CPU at 80 % utilization, as the API server does."""
    spec = _map(raw, "spec")
    max_replicas = _int(spec.get("maxReplicas"), "maxReplicas")
    min_replicas = _int(spec.get("minReplicas", 1), "minReplicas")
    if max_replicas < 1 or min_replicas < 0 or min_replicas > max_replicas:
        raise EngineError(
            f"minReplicas={min_replicas}, maxReplicas={max_replicas}: need "
            "0 <= minReplicas <= maxReplicas and maxReplicas >= 1",
            hint=_HINT,
        )
    metrics_raw = spec.get("metrics") or [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION},
            },
        }
    ]
    if not isinstance(metrics_raw, list):
        raise EngineError("metrics: expected a list", hint=_HINT)
    ref = spec.get("scaleTargetRef")
    ref_map = ref if isinstance(ref, Mapping) else {}
    return HPASpec(
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        metrics=tuple(parse_metric(m, f"metrics[{i}]") for i, m in enumerate(metrics_raw)),
        behavior=parse_behavior(spec.get("behavior")),
        target_kind=str(ref_map.get("kind", "Deployment")),
        target_name=str(ref_map.get("name", "app")),
    )

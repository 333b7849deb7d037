"""``hpalab conformance keda``: run the KEDA engine on conformance cases (keda-conformance.md).

Each case names a ``kind``; :func:`run_case` never raises: KEDA's own failures are outputs
``{"error": <class>, "message": <KEDA's text>}``, anything unexpected ``{"error": "internal"}``.
:func:`compare` implements the contract's recursive ``--check`` rules.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from hpalab.autoscaling.keda.activation import (
    ScaledObjectState,
    TriggerState,
    combine,
    poll_step,
)
from hpalab.autoscaling.keda.fallback import Health, read_with_fallback
from hpalab.autoscaling.keda.hpa import KedaRefusal, hpa_for_scaled_object
from hpalab.autoscaling.keda.values import PrometheusReadError, read_response, reading
from hpalab.specs.keda.generated import ScalerConfigError, prometheus_metric
from hpalab.specs.keda.metadata import parse_prometheus
from hpalab.specs.keda.quantity import Quantity, float_quantity

Case = Mapping[str, Any]
_SPECIAL = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}


def _number(value: Any, default: float = 0.0) -> float:
    if value is None:
        return default
    return _SPECIAL[value] if isinstance(value, str) else float(value)


def _quantity(quantity: Quantity) -> dict[str, Any]:
    return {"quantity": quantity.text, "milli": quantity.milli}


def _hpa(data: Case) -> dict[str, Any]:
    try:
        generated = hpa_for_scaled_object(
            str(data["name"]),
            data.get("spec") or {},
            labels=data.get("labels"),
            annotations=data.get("annotations"),
        )
    except KedaRefusal as refusal:
        return {"error": refusal.kind, "message": refusal.message}
    if generated.hpa is None:
        return {"hpa": None, "external_metric_names": []}
    return {"hpa": generated.hpa, "external_metric_names": generated.external_metric_names}


def _parse(data: Case) -> dict[str, Any]:
    trigger = {"metricType": data.get("metricType") or "", "metadata": data.get("metadata") or {}}
    index = int(data.get("triggerIndex", 0))
    try:
        metric = prometheus_metric(trigger, index, name="so")
    except ScalerConfigError as error:
        return {"error": "scaler_config", "message": str(error)}
    config = parse_prometheus(data.get("metadata") or {})
    return {
        "config": {
            "serverAddress": config.server_address,
            "query": config.query,
            "threshold": config.threshold,
            "activationThreshold": config.activation_threshold,
            "namespace": config.namespace,
            "customHeaders": config.custom_headers,
            "queryParameters": config.query_parameters,
            "ignoreNullValues": config.ignore_null_values,
            "unsafeSsl": config.unsafe_ssl,
            "timeout_ms": config.timeout_ms,
        },
        "metric_name": metric["external"]["metric"]["name"],
        "target": metric["external"]["target"],
    }


def _value(data: Case) -> dict[str, Any]:
    try:
        value = read_response(
            int(data["status_code"]),
            str(data["body"]),
            ignore_null_values=bool(data.get("ignoreNullValues", True)),
            query=str(data.get("query", "")),
        )
    except PrometheusReadError as error:
        return {"error": error.kind, "message": error.message, "value": -1}
    result = reading(value, activation_threshold=_number(data.get("activationThreshold")))
    return {"value": value, "is_active": result.is_active, "metric": _quantity(result.metric)}


def _external(data: Case) -> dict[str, Any]:
    out: dict[str, Any] = {}
    metric_type = data.get("metricType") or "AverageValue"
    if "threshold" in data:
        target = float_quantity(_number(data["threshold"]))
        key = "averageValue" if metric_type == "AverageValue" else "value"
        out["target"] = {"type": metric_type, key: target.text}
        out["target_milli"] = target.milli
    if "value" in data:
        out["metric"] = _quantity(float_quantity(_number(data["value"])))
    return out


def _activation(data: Case) -> dict[str, Any]:
    so = ScaledObjectState.from_spec(data.get("spec") or {}, data.get("annotations"))
    if "triggers" in data:
        triggers = [
            TriggerState(
                kind=str(t.get("type", "prometheus")),
                value=None if t.get("value") is None else _number(t["value"]),
                activation_threshold=_number(t.get("activationThreshold")),
                error=bool(t.get("error")),
                fallback_active=bool(t.get("fallback_active")),
            )
            for t in data["triggers"]
        ]
        is_active, is_error = combine(triggers)
    else:
        is_active, is_error = bool(data["is_active"]), bool(data["is_error"])
    last_active = data.get("last_active_age_s")
    step = poll_step(
        so,
        is_active=is_active,
        is_error=is_error,
        current_replicas=int(data["current_replicas"]),
        last_active_age_s=None if last_active is None else float(last_active),
        creation_age_s=float(data.get("creation_age_s", 1e11)),
    )
    return {
        "is_active": step.is_active,
        "is_error": step.is_error,
        "action": step.action,
        "replicas_after": step.replicas_after,
        "last_active_updated": step.last_active_updated,
        "conditions": step.conditions,
    }


def _health(raw: Any) -> Health | None:
    if raw is None:
        return None
    return Health(int(raw.get("numberOfFailures") or 0), str(raw.get("status", "Happy")))


def _fallback(data: Case) -> dict[str, Any]:
    others = {k: _health(v) for k, v in (data.get("other_health") or {}).items()}
    read = read_with_fallback(
        fallback=data.get("fallback"),
        modifiers=data.get("scalingModifiers"),
        health=_health(data.get("health")),
        other_health={k: v for k, v in others.items() if v is not None},
        scaler_error=data.get("scaler_error"),
        metric_value=None if data.get("metric_value") is None else _number(data["metric_value"]),
        metric_type=str(data.get("metricType") or "AverageValue"),
        threshold=_number(data.get("threshold")),
        current_replicas=int(data.get("current_replicas") or 0),
        ready_replicas=int(data.get("ready_replicas") or 0),
    )
    out: dict[str, Any] = {
        "fallback_active": read.fallback_active,
        "health": None if read.health is None else read.health.as_dict(),
        "fallback_condition": read.condition,
    }
    if read.error_kind is not None:
        return {"error": read.error_kind, "message": read.error_message, **out}
    assert read.metric is not None
    return {**out, "metric": _quantity(read.metric)}


KINDS: dict[str, Callable[[Case], dict[str, Any]]] = {
    "hpa_for_scaledobject": _hpa,
    "prometheus_trigger_parse": _parse,
    "prometheus_value": _value,
    "external_metric_value": _external,
    "activation": _activation,
    "fallback": _fallback,
}


def run_case(case: Case, fixtures: Mapping[str, Any]) -> dict[str, Any]:
    """The output of one case; never raises."""
    del fixtures
    runner = KINDS.get(str(case.get("kind")))
    if runner is None:
        return {"error": "internal", "message": f"unknown kind {case.get('kind')!r}"}
    try:
        return runner(case["input"])
    except Exception as error:
        return {"error": "internal", "message": f"{type(error).__name__}: {error}"}


def _matches_object(
    expected: Mapping[str, Any], actual: Any, *, path: str, problems: list[str]
) -> None:
    if not isinstance(actual, Mapping) or (not expected and actual):
        problems.append(f"{path}: expected {_show(expected)}, got {_show(actual)}")
        return
    for key, value in expected.items():
        where = f"{path}.{key}" if path else key
        if value is None:
            if actual.get(key) is not None:
                problems.append(f"{where}: expected absent/null, got {_show(actual[key])}")
        elif key not in actual:
            problems.append(f"{where}: missing (expected {_show(value)})")
        elif key in ("error", "message") and isinstance(value, str) and not path:
            if not isinstance(actual[key], str) or value not in actual[key]:
                problems.append(f"{where}: {actual[key]!r} does not contain {value!r}")
        else:
            _matches(value, actual[key], path=where, problems=problems)


def _matches(expected: Any, actual: Any, *, path: str, problems: list[str]) -> None:
    if isinstance(expected, Mapping):
        _matches_object(expected, actual, path=path, problems=problems)
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            problems.append(f"{path}: expected {_show(expected)}, got {_show(actual)}")
            return
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            _matches(e, a, path=f"{path}[{index}]", problems=problems)
    elif not _equal(expected, actual):
        problems.append(f"{path}: expected {_show(expected)}, got {_show(actual)}")


def _equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    return type(expected) is type(actual) and bool(expected == actual)


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def compare(expect: Mapping[str, Any], output: Mapping[str, Any]) -> list[str]:
    """Differences between ``expect`` and ``output`` under the KEDA contract's rules."""
    problems: list[str] = []
    _matches(expect, output, path="", problems=problems)
    return problems

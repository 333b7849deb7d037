"""One External-metric read with KEDA's fallback applied (``pkg/fallback/fallback.go``).

Every read (each HPA request and each poll) updates the metric's health: a success resets it
to ``{0, Happy}``, an error adds a failure. Once failures exceed ``failureThreshold`` the error
is replaced by a value that makes the HPA land on the fallback replica count:
``threshold x replicas`` for AverageValue, divided by the ready pods for Value, as a truncated
milli quantity. Below the threshold the HPA gets the error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpalab.specs.keda.quantity import Quantity, float_quantity, milli_quantity


@dataclass(frozen=True, slots=True)
class Health:
    """``status.health[<metric>]``."""

    failures: int
    status: str  # Happy | Failing

    def as_dict(self) -> dict[str, Any]:
        return {"numberOfFailures": self.failures, "status": self.status}


@dataclass(frozen=True, slots=True)
class FallbackRead:
    """The outcome of one read: a metric or the error the HPA gets, and the new bookkeeping."""

    metric: Quantity | None
    fallback_active: bool
    health: Health | None
    condition: str | None  # the Fallback condition's status, None when not written
    error_kind: str | None = None
    error_message: str | None = None


def is_valid(fallback: Mapping[str, Any] | None, modifiers: Mapping[str, Any] | None) -> bool:
    """``HasValidFallback``: set, non-negative, and with modifiers an integer target > 0."""
    if fallback is None:
        return False
    if int(fallback.get("failureThreshold", 0)) < 0 or int(fallback.get("replicas", 0)) < 0:
        return False
    if modifiers:
        target = str(modifiers.get("target") or "")
        return re.fullmatch(r"[+-]?[0-9]+", target) is not None and int(target) > 0
    return True


def _replicas(fallback: Mapping[str, Any], current: int) -> float:
    fixed = int(fallback.get("replicas", 0))
    behavior = fallback.get("behavior") or "static"
    if behavior == "currentReplicas":
        return float(current)
    if behavior == "currentReplicasIfHigher":
        return float(max(current, fixed))
    if behavior == "currentReplicasIfLower":
        return float(min(current, fixed))
    return float(fixed)


def _condition(failing: Health, others: Mapping[str, Health], *, threshold: int) -> str:
    every = [failing, *others.values()]
    beyond = any(h.status == "Failing" and h.failures > threshold for h in every)
    return "True" if beyond else "False"


def approximate_target(threshold: float) -> float:
    """The HPA target read back as Go's ``AsApproximateFloat64``: unscaled x ``Pow10(scale)``.

    KEDA's target is parsed from a three-decimal text, so unscaled is that text's digits and
    the scale is -3 (4.007 -> 4007 x 0.001, which is not exactly 4.007).
    """
    quantity = float_quantity(threshold)
    if quantity.value == 0:
        return 0.0
    digits = format(threshold, ".3f").replace(".", "")
    return int(digits) * 10.0**-3 if len(digits) <= 18 else quantity.as_float()


def read_with_fallback(
    *,
    fallback: Mapping[str, Any] | None,
    modifiers: Mapping[str, Any] | None,
    health: Health | None,
    other_health: Mapping[str, Health],
    scaler_error: str | None,
    metric_value: float | None,
    metric_type: str,
    threshold: float,
    current_replicas: int,
    ready_replicas: int,
) -> FallbackRead:
    """``GetMetricsWithFallback`` for one metric read."""
    valid = is_valid(fallback, modifiers)
    if scaler_error is None:
        metric = float_quantity(metric_value if metric_value is not None else 0.0)
        if not valid:
            return FallbackRead(metric, False, health, None)
        assert fallback is not None
        happy = Health(0, "Happy")
        condition = _condition(happy, other_health, threshold=int(fallback["failureThreshold"]))
        return FallbackRead(metric, False, happy, condition)
    if not valid:
        return FallbackRead(None, False, health, None, "scaler_error", scaler_error)
    assert fallback is not None
    limit = int(fallback["failureThreshold"])
    failing = Health((health.failures if health else 0) + 1, "Failing")
    condition = _condition(failing, other_health, threshold=limit)
    if failing.failures <= limit:
        return FallbackRead(None, False, failing, condition, "scaler_error", scaler_error)
    if fallback.get("behavior") == "scalingModifiers":
        return FallbackRead(Quantity(milli_quantity(-1000).value, "-1"), False, failing, condition)
    replicas = _replicas(fallback, current_replicas)
    target_type = (modifiers.get("metricType") or "AverageValue") if modifiers else metric_type
    if target_type == "Value":
        if ready_replicas == 0:
            return FallbackRead(
                None, False, failing, condition, "fallback_failed", "error performing fallback"
            )
        replicas = replicas / ready_replicas
    # the threshold is read back from the HPA target quantity (AsApproximateFloat64)
    amount = float(modifiers["target"]) if modifiers else approximate_target(threshold)
    return FallbackRead(milli_quantity(amount * 1000 * replicas), True, failing, condition)

"""Zero replicas: when the controller decides from metrics, and the ScaledToZero condition.

Before 1.36 a target at zero replicas disables scaling unless minReplicas is 0. From 1.36
(with HPAScaleToZero on) the controller tells its own scale to zero from a manual one by the
ScaledToZero condition: it leaves zero only when that condition is True and the HPA has an
Object or External metric, or when minReplicas was raised above 0 since.
"""

from __future__ import annotations

from hpalab.autoscaling.hpa.model import HPASpec

SCALED_TO_ZERO = "ScaledToZero"


def has_object_or_external(spec: HPASpec) -> bool:
    return any(m.type in ("Object", "External") for m in spec.metrics)


def computes_at_zero(spec: HPASpec, *, condition_logic: bool, scaled_to_zero: bool) -> bool:
    """Whether a sync at zero current replicas computes metrics (else scaling is disabled).

    ``scaled_to_zero``: the HPA's ScaledToZero condition is True.
    """
    if not condition_logic:
        return spec.min_replicas == 0
    if not scaled_to_zero:
        return False
    return spec.min_replicas != 0 or has_object_or_external(spec)


def condition_after_rescale(spec: HPASpec, current: int, desired: int) -> tuple[str, str, str]:
    """(status, reason, message) of ScaledToZero after a rescale from ``current`` to
    ``desired``: True only when the HPA itself took the target to zero."""
    if current > 0 and desired == 0 and spec.min_replicas == 0 and has_object_or_external(spec):
        return "True", "ScaledToZero", "the HPA controller scaled the workload to zero"
    return "False", "NotScaledToZero", "the HPA controller did not scale the workload to zero"

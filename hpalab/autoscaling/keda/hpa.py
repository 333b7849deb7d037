"""The HPA object KEDA's operator submits for a ScaledObject, or why it refuses to.

Admission rules and the generated spec (metrics, bounds, behavior) come from
:mod:`hpalab.specs.keda`; this module adds what depends on the object around the spec:
pause annotations, the HPA's name, labels, annotations and ``scaleTargetRef``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpalab.specs.keda.admission import admission_problems, hpa_name
from hpalab.specs.keda.generated import ScalerConfigError, generated_hpa_spec, metric_specs

KEDA_VERSION = "2.20.2"
PAUSED = "autoscaling.keda.sh/paused"
PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas"
PAUSED_SCALE_IN = "autoscaling.keda.sh/paused-scale-in"
PAUSED_SCALE_OUT = "autoscaling.keda.sh/paused-scale-out"
FORCE_ACTIVATION = "autoscaling.keda.sh/force-activation"
EXCLUDED_LABELS = "scaledobject.keda.sh/hpa-excluded-labels"
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class KedaRefusal(Exception):
    """KEDA does not create the HPA; ``kind`` is ``invalid_scaledobject`` or ``scaler_config``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def bool_annotation(annotations: Mapping[str, str], key: str) -> bool:
    """KEDA's ``getBoolAnnotation``: absent is false, a value that does not parse is true."""
    return key in annotations and annotations[key] not in _FALSE


def is_paused(annotations: Mapping[str, str]) -> bool:
    """``paused`` true, or ``paused-replicas`` present whatever its value."""
    return PAUSED_REPLICAS in annotations or bool_annotation(annotations, PAUSED)


@dataclass(frozen=True, slots=True)
class GeneratedHPA:
    """The HPA (``None`` when paused: the controller deletes it) and the External names."""

    hpa: dict[str, Any] | None
    external_metric_names: list[str]


def _label_name(name: str) -> str:
    if len(name) <= 63:
        return name
    cut = name[:63]
    while cut and not cut[-1].isalnum():
        cut = cut[:-1]
    return cut


def _labels(
    name: str, hpa: str, *, labels: Mapping[str, str], annotations: Mapping[str, str]
) -> dict[str, str]:
    out = {
        "app.kubernetes.io/name": _label_name(hpa),
        "app.kubernetes.io/version": KEDA_VERSION,
        "app.kubernetes.io/part-of": name,
        "app.kubernetes.io/managed-by": "keda-operator",
    }
    excluded = (
        set(annotations[EXCLUDED_LABELS].split(",")) if EXCLUDED_LABELS in annotations else set()
    )
    # the controller adds the owner label to the ScaledObject before the HPA is built
    for key, value in {**labels, "scaledobject.keda.sh/name": name}.items():
        if key not in excluded:
            out[key] = value
    return out


def _behavior(spec_behavior: Any, annotations: Mapping[str, str]) -> dict[str, Any] | None:
    behavior: dict[str, Any] | None = copy.deepcopy(spec_behavior)
    for key, direction in ((PAUSED_SCALE_IN, "scaleDown"), (PAUSED_SCALE_OUT, "scaleUp")):
        if bool_annotation(annotations, key):
            behavior = behavior or {}
            behavior[direction] = {**(behavior.get(direction) or {}), "selectPolicy": "Disabled"}
    return behavior


def hpa_for_scaled_object(
    name: str,
    spec: Mapping[str, Any],
    *,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> GeneratedHPA:
    """The HPA KEDA's operator submits for ScaledObject ``name`` (before API-server defaults).

    Raises :class:`KedaRefusal` when the webhook, the controller or a scaler refuses it.
    """
    labels, annotations = dict(labels or {}), dict(annotations or {})
    problems = admission_problems(name, spec)
    if problems:
        raise KedaRefusal("invalid_scaledobject", problems[0][1])
    if is_paused(annotations):
        return GeneratedHPA(None, [])
    try:
        generated = generated_hpa_spec(name, spec)
        _, external = metric_specs(name, spec)
    except ScalerConfigError as error:
        raise KedaRefusal("scaler_config", str(error)) from None
    target = spec.get("scaleTargetRef") or {}
    hpa = hpa_name(name, spec)
    return GeneratedHPA(
        {
            "name": hpa,
            "minReplicas": generated["minReplicas"],
            "maxReplicas": generated["maxReplicas"],
            "scaleTargetRef": {
                "apiVersion": target.get("apiVersion") or "apps/v1",
                "kind": target.get("kind") or "Deployment",
                "name": target.get("name"),
            },
            "metrics": generated["metrics"],
            "behavior": _behavior(generated.get("behavior"), annotations),
            "labels": _labels(name, hpa, labels=labels, annotations=annotations),
            "annotations": annotations,
        },
        external,
    )

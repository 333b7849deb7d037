"""The HPA spec KEDA's operator generates for a ScaledObject (``controllers/keda/hpa.go``).

One metric per trigger (prometheus: External ``s<index>-prometheus`` selected by the
``scaledobject.keda.sh/name`` label; cpu/memory: Resource or ContainerResource), sorted by type,
scalingModifiers folded into one ``composite-metric``, behavior copied unchanged, replica bounds
defaulted. Works on plain ScaledObject data (YAML spellings); errors carry KEDA's texts.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from hpalab.specs.keda.admission import go_parse_float, modifiers
from hpalab.specs.keda.metadata import MetadataError, lookup, missing, parse_prometheus
from hpalab.specs.keda.quantity import QuantityError, float_quantity, milli_quantity, parse_quantity

SELECTOR_LABEL = "scaledobject.keda.sh/name"
COMPOSITE_METRIC = "composite-metric"
DEFAULT_MAX_REPLICAS = 100
_TYPE_DEPRECATED = (
    "The 'type' setting is DEPRECATED and is removed in v2.18 - Use 'metricType' instead."
)


class ScalerConfigError(ValueError):
    """A trigger's scaler cannot be built; the message is KEDA's, the index says which."""

    def __init__(self, message: str, *, index: int) -> None:
        super().__init__(message)
        self.index = index


def external_metric_name(index: int) -> str:
    """``GenerateMetricNameWithIndex(index, "prometheus")``."""
    return f"s{index}-prometheus"


def prometheus_metric(trigger: Mapping[str, Any], index: int, *, name: str) -> dict[str, Any]:
    """The External metric of a prometheus trigger (``GetMetricSpecForScaling``)."""
    metric_type = trigger.get("metricType") or ""
    if metric_type == "Utilization":
        raise ScalerConfigError(
            "error getting scaler metric type: 'Utilization' metric type is unsupported for "
            "external metrics, allowed values are 'Value' or 'AverageValue'",
            index=index,
        )
    try:
        config = parse_prometheus(trigger.get("metadata") or {})
    except MetadataError as error:
        raise ScalerConfigError(str(error), index=index) from None
    target_type = metric_type or "AverageValue"
    key = "averageValue" if target_type == "AverageValue" else "value"
    return {
        "type": "External",
        "external": {
            "metric": {
                "name": external_metric_name(index),
                "selector": {"matchLabels": {SELECTOR_LABEL: name}},
            },
            "target": {"type": target_type, key: float_quantity(config.threshold).text},
        },
    }


def resource_metric(trigger: Mapping[str, Any], index: int) -> dict[str, Any]:
    """The Resource / ContainerResource metric of a cpu or memory trigger."""
    resource = str(trigger.get("type"))
    metadata = trigger.get("metadata") or {}
    errors = []
    if lookup(metadata, "type") is not None:
        errors.append(f"scaler {resource} info: {_TYPE_DEPRECATED}")
    value = lookup(metadata, "value")
    if value is None:
        errors.append(str(missing("value")))
    if errors:
        raise ScalerConfigError(
            f"error parsing {resource} metadata: " + "\n".join(errors), index=index
        )
    assert value is not None
    metric_type = trigger.get("metricType") or ""
    target: dict[str, Any] = {"type": metric_type}
    if metric_type == "Utilization":
        if re.fullmatch(r"[+-]?[0-9]+", value) is None:
            cause = f'strconv.ParseInt: parsing "{value}": invalid syntax'
        elif not -(2**31) <= int(value) < 2**31:
            cause = f'strconv.ParseInt: parsing "{value}": value out of range'
        else:
            cause = ""
        if cause:
            raise ScalerConfigError(f"error parsing {resource} metadata: {cause}", index=index)
        target["averageUtilization"] = int(value)
    elif metric_type == "AverageValue":
        try:
            target["averageValue"] = parse_quantity(value).text
        except QuantityError as error:
            # upstream panics here (MustParse); hpalab reports it as a configuration error
            raise ScalerConfigError(
                f"error parsing {resource} metadata: {error}", index=index
            ) from None
    else:
        raise ScalerConfigError(
            f"error parsing {resource} metadata: unknown metric type: {metric_type}, allowed "
            "values are 'Utilization' or 'AverageValue'",
            index=index,
        )
    container = lookup(metadata, "containerName")
    if container is not None:
        source = {"name": resource, "container": container, "target": target}
        return {"type": "ContainerResource", "containerResource": source}
    return {"type": "Resource", "resource": {"name": resource, "target": target}}


def metric_specs(name: str, spec: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """``(HPA metrics, external metric names)``: what ``getScaledObjectMetricSpecs`` returns."""
    metrics: list[dict[str, Any]] = []
    for index, trigger in enumerate(spec.get("triggers") or []):
        if trigger.get("type") == "prometheus":
            metrics.append(prometheus_metric(trigger, index, name=name))
        else:
            metrics.append(resource_metric(trigger, index))
    external = [m["external"]["metric"]["name"] for m in metrics if m["type"] == "External"]
    # Go's sort.Slice is an insertion sort (stable) for the short lists that occur here
    metrics.sort(key=lambda m: str(m["type"]))
    found = modifiers(spec)
    if found is not None:
        metrics = _composite(metrics, found, name=name)
    return metrics, external


def _composite(
    metrics: list[dict[str, Any]], found: Mapping[str, Any], *, name: str
) -> list[dict[str, Any]]:
    target = go_parse_float(str(found.get("target") or "")) or 0.0
    if target <= 0:
        return metrics
    metric_type = found.get("metricType") or "AverageValue"
    key = "averageValue" if metric_type == "AverageValue" else "value"
    composite = {
        "type": "External",
        "external": {
            "metric": {
                "name": COMPOSITE_METRIC,
                "selector": {"matchLabels": {SELECTOR_LABEL: name}},
            },
            "target": {"type": metric_type, key: milli_quantity(target * 1000).text},
        },
    }
    # only Resource metrics survive next to the composite one (ContainerResource is dropped)
    return [*(m for m in metrics if m["type"] == "Resource"), composite]


def copied_behavior(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """``advanced.horizontalPodAutoscalerConfig.behavior`` as the typed object KEDA copies."""
    config = (spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}
    behavior = config.get("behavior")
    if behavior is None:
        return None
    out = copy.deepcopy(dict(behavior))
    for direction in ("scaleUp", "scaleDown"):
        rules = out.get(direction)
        if isinstance(rules, dict) and rules.get("tolerance") is not None:
            rules["tolerance"] = parse_quantity(str(rules["tolerance"])).text
    return out


def generated_hpa_spec(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The autoscaling/v2 HPA spec (without ``scaleTargetRef``) KEDA generates for ``spec``.

    Raises :class:`ScalerConfigError` when a trigger's scaler cannot be built.
    """
    metrics, _ = metric_specs(name, spec)
    minimum = spec.get("minReplicaCount")
    maximum = spec.get("maxReplicaCount")
    out: dict[str, Any] = {
        "minReplicas": int(minimum) if minimum and int(minimum) > 0 else 1,
        "maxReplicas": DEFAULT_MAX_REPLICAS if maximum is None else int(maximum),
        "metrics": metrics,
    }
    behavior = copied_behavior(spec)
    if behavior is not None:
        out["behavior"] = behavior
    return out

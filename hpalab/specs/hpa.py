"""``spec.hpa``: an autoscaling/v2 HorizontalPodAutoscalerSpec, validated as the API server does.

Users paste the ``spec`` of the HPA they already run, minus ``scaleTargetRef`` (hpalab points it
at the sample app). Field names and nesting are Kubernetes' own. :func:`hpa_problems` adds the
API server's cross-field rules (apis/autoscaling/validation), which a schema alone cannot say.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hpalab.specs.base import SpecModel
from hpalab.specs.units import Quantity, parse_quantity_value

MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_SECONDS = 3600


class LabelSelectorRequirement(SpecModel):
    """One ``matchExpressions`` entry of a label selector."""

    key: str = Field(min_length=1, description="label key")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(description="operator")
    values: list[str] = Field(default_factory=list, description="values for In / NotIn")


class LabelSelector(SpecModel):
    """A Kubernetes label selector, passed to the adapter as the metric selector."""

    match_labels: dict[str, str] = Field(default_factory=dict, description="exact labels")
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, description="set-based requirements"
    )


class MetricIdentifier(SpecModel):
    """``metric``: the metric's name and an optional selector of its series."""

    name: str = Field(min_length=1, description="metric name as the metrics API serves it")
    selector: LabelSelector | None = Field(None, description="narrows the metric's series")


class MetricTarget(SpecModel):
    """``target``: the value the HPA steers towards."""

    type: Literal["Utilization", "Value", "AverageValue"] = Field(description="target type")
    value: Quantity | None = Field(None, description="for type Value: the total value")
    average_value: Quantity | None = Field(None, description="for AverageValue: per pod")
    average_utilization: int | None = Field(
        None, description="for Utilization: percent of the pods' resource request"
    )


class ResourceMetricSource(SpecModel):
    """``resource``: CPU or memory from metrics-server."""

    name: str = Field(min_length=1, description="resource name: cpu or memory")
    target: MetricTarget = Field(description="Utilization or AverageValue")


class ContainerResourceMetricSource(ResourceMetricSource):
    """``containerResource``: like ``resource`` but for one container of each pod."""

    container: str = Field(min_length=1, description="container name")


class PodsMetricSource(SpecModel):
    """``pods``: a custom metric averaged over the pods (custom.metrics.k8s.io)."""

    metric: MetricIdentifier = Field(description="the metric")
    target: MetricTarget = Field(description="AverageValue only")


class CrossVersionObjectReference(SpecModel):
    """``describedObject``: the Kubernetes object an Object metric describes."""

    kind: str = Field(min_length=1, description="kind, e.g. Service or Ingress")
    name: str = Field(min_length=1, description="object name")
    api_version: str | None = Field(None, description="e.g. v1 or networking.k8s.io/v1")


class ObjectMetricSource(SpecModel):
    """``object``: a custom metric describing one object (custom.metrics.k8s.io)."""

    described_object: CrossVersionObjectReference = Field(description="the object")
    metric: MetricIdentifier = Field(description="the metric")
    target: MetricTarget = Field(description="Value or AverageValue")


class ExternalMetricSource(SpecModel):
    """``external``: a metric not tied to any object (external.metrics.k8s.io)."""

    metric: MetricIdentifier = Field(description="the metric")
    target: MetricTarget = Field(description="Value or AverageValue")


MetricType = Literal["Resource", "ContainerResource", "Pods", "Object", "External"]
_SOURCE_FIELD = {
    "Resource": "resource",
    "ContainerResource": "container_resource",
    "Pods": "pods",
    "Object": "object",
    "External": "external",
}
_ALLOWED_TARGETS = {
    "Resource": ("Utilization", "AverageValue"),
    "ContainerResource": ("Utilization", "AverageValue"),
    "Pods": ("AverageValue",),
    "Object": ("Value", "AverageValue"),
    "External": ("Value", "AverageValue"),
}


class MetricSpec(SpecModel):
    """One entry of ``metrics``: a type and the one source field that type names."""

    type: MetricType = Field(description="Resource, ContainerResource, Pods, Object or External")
    resource: ResourceMetricSource | None = Field(None, description="for type Resource")
    container_resource: ContainerResourceMetricSource | None = Field(
        None, description="for type ContainerResource"
    )
    pods: PodsMetricSource | None = Field(None, description="for type Pods")
    object: ObjectMetricSource | None = Field(None, description="for type Object")
    external: ExternalMetricSource | None = Field(None, description="for type External")

    def source(
        self,
    ) -> ResourceMetricSource | PodsMetricSource | ObjectMetricSource | ExternalMetricSource | None:
        """The source object this metric's type names (``None`` if it is missing)."""
        value = getattr(self, _SOURCE_FIELD[self.type])
        return value  # type: ignore[no-any-return]

    @property
    def metric_name(self) -> str:
        """The metric's name: the resource name for Resource metrics."""
        source = self.source()
        if isinstance(source, ResourceMetricSource):
            return source.name
        return source.metric.name if source is not None else ""


class HPAScalingPolicy(SpecModel):
    """One policy: at most ``value`` pods or percent per ``periodSeconds``."""

    type: Literal["Pods", "Percent"] = Field(description="Pods or Percent")
    value: int = Field(gt=0, description="pods or percent allowed per period; must be > 0")
    period_seconds: int = Field(
        gt=0, le=MAX_PERIOD_SECONDS, description="length of the period, 1..1800 s"
    )


class HPAScalingRules(SpecModel):
    """``behavior.scaleUp`` / ``scaleDown``."""

    stabilization_window_seconds: int | None = Field(
        None, ge=0, le=MAX_STABILIZATION_SECONDS, description="0..3600 s"
    )
    select_policy: Literal["Max", "Min", "Disabled"] | None = Field(
        None, description="which policy wins: Max (default), Min, or Disabled (no scaling)"
    )
    policies: list[HPAScalingPolicy] | None = Field(
        None, description="rate limits; default: the API's defaults"
    )
    tolerance: Quantity | None = Field(
        None,
        description="per-direction tolerance (KEP-4951, a quantity such as 0.05 or 50m); "
        "default: the controller's --horizontal-pod-autoscaler-tolerance",
    )


class HPABehavior(SpecModel):
    """``behavior``: scaling rules per direction."""

    scale_up: HPAScalingRules | None = Field(None, description="rules for scaling up")
    scale_down: HPAScalingRules | None = Field(None, description="rules for scaling down")


class HPASpec(SpecModel):
    """An autoscaling/v2 HorizontalPodAutoscalerSpec without ``scaleTargetRef``."""

    min_replicas: int = Field(
        1, description="lower bound; ≥ 1 (0 on a cluster with HPAScaleToZero, see hpa_problems)"
    )
    max_replicas: int = Field(description="upper bound; ≥ minReplicas")
    metrics: list[MetricSpec] = Field(
        min_length=1, description="metrics the HPA scales on; the largest proposal wins"
    )
    behavior: HPABehavior | None = Field(
        None, description="scaling behaviour; absent = the controller's legacy behaviour"
    )

    def to_kubernetes(self) -> dict[str, object]:
        """The spec as the API takes it (camelCase, no nulls), for the engine and manifests."""
        return self.to_yaml_dict()


def hpa_problems(
    spec: HPASpec, *, scale_to_zero: bool = False
) -> list[tuple[tuple[str | int, ...], str, str | None]]:
    """The API server's cross-field checks: ``(path under spec.hpa, message, hint)`` each.

    ``scale_to_zero``: the API server runs with HPAScaleToZero, so minReplicas 0 is valid for
    an HPA with an Object or External metric (a real cluster's HPA; hpalab's own platforms do
    not scale to zero).
    """
    out: list[tuple[tuple[str | int, ...], str, str | None]] = []
    if spec.min_replicas < (0 if scale_to_zero else 1):
        hint = "" if scale_to_zero else "hpalab does not scale to zero"
        out.append((("minReplicas",), f"must be ≥ {0 if scale_to_zero else 1}", hint or None))
    elif spec.min_replicas == 0 and not any(m.type in ("Object", "External") for m in spec.metrics):
        out.append(
            (
                ("metrics",),
                "must have an Object or External metric to scale to zero replicas",
                "add one, or raise minReplicas to 1",
            )
        )
    if spec.max_replicas < spec.min_replicas:
        out.append(
            (
                ("maxReplicas",),
                f"must be ≥ minReplicas ({spec.max_replicas} < {spec.min_replicas})",
                "raise maxReplicas or lower minReplicas",
            )
        )
    for index, metric in enumerate(spec.metrics):
        out.extend((("metrics", index, *p), m, h) for p, m, h in _metric_problems(metric))
    for direction in ("scaleUp", "scaleDown"):
        rules = getattr(spec.behavior, "scale_up" if direction == "scaleUp" else "scale_down", None)
        if rules is None:
            continue
        if rules.policies is not None and not rules.policies and rules.select_policy != "Disabled":
            out.append(
                (
                    ("behavior", direction, "policies"),
                    "must have at least one policy",
                    "add a policy, or set selectPolicy: Disabled",
                )
            )
        if rules.tolerance is not None and parse_quantity_value(rules.tolerance) < 0:
            out.append(((("behavior", direction, "tolerance")), "must be ≥ 0", None))
    return out


def _metric_problems(
    metric: MetricSpec,
) -> list[tuple[tuple[str | int, ...], str, str | None]]:
    field = _SOURCE_FIELD[metric.type]
    alias = MetricSpec.model_fields[field].alias or field
    out: list[tuple[tuple[str | int, ...], str, str | None]] = []
    for other, other_field in _SOURCE_FIELD.items():
        if other != metric.type and getattr(metric, other_field) is not None:
            other_alias = MetricSpec.model_fields[other_field].alias or other_field
            out.append(
                (
                    (other_alias,),
                    f"must not be set when type is {metric.type}",
                    f"remove it, or set type: {other}",
                )
            )
    source = metric.source()
    if source is None:
        return [*out, ((alias,), f"is required when type is {metric.type}", None)]
    target = source.target
    allowed = _ALLOWED_TARGETS[metric.type]
    where: tuple[str | int, ...] = (alias, "target")
    if target.type not in allowed:
        out.append(
            (
                (*where, "type"),
                f"{target.type} is not a valid target for a {metric.type} metric",
                f"use {' or '.join(allowed)}",
            )
        )
    required = {
        "Utilization": "averageUtilization",
        "Value": "value",
        "AverageValue": "averageValue",
    }[target.type]
    value = {
        "Utilization": target.average_utilization,
        "Value": target.value,
        "AverageValue": target.average_value,
    }[target.type]
    if value is None:
        out.append(((*where, required), f"is required for target type {target.type}", None))
    elif (parse_quantity_value(value) if isinstance(value, str) else value) <= 0:
        out.append(((*where, required), "must be > 0", None))
    return out

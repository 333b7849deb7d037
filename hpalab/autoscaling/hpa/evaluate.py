"""One metric of spec.metrics: fetch from the snapshot, propose replicas, build its status.

Mirrors upstream ``computeReplicasForMetric`` and the ``computeStatusFor*Metric`` helpers,
including their error texts and the ScalingActive reasons of failures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpalab.autoscaling.hpa.model import (
    FetchFailure,
    MetricSpec,
    PodResourceMetrics,
    Tolerances,
)
from hpalab.autoscaling.hpa.pods import MetricError, PodIndex, PodSamples, resource_samples
from hpalab.autoscaling.hpa.replicas import (
    Proposal,
    external_average_value_replicas,
    external_sum,
    object_average_value_replicas,
    plain_metric_replicas,
    resource_utilization_replicas,
    value_replicas,
)
from hpalab.autoscaling.hpa.spec import format_milli


@dataclass(slots=True)
class MetricsSnapshot:
    """What the metrics APIs return during one sync.

    ``resource``: metrics.k8s.io pod items (shared by every Resource/ContainerResource metric),
    or a FetchFailure. ``resource_usage`` is a faster equivalent for whole-pod Resource
    metrics: resource name → pod → usage (milli, summed over containers), all sampled at
    ``resource_timestamp_s`` over ``resource_window_s``; when set it is used instead of
    ``resource`` for whole-pod metrics of the resources it names. ``pods``: per Pods-metric
    name, pod name → value (milli). ``objects``:
    per Object-metric name, the object's value. ``external``: per External-metric name, all
    returned series values (summed). A name that is absent is a failed fetch.
    """

    resource: Sequence[PodResourceMetrics] | FetchFailure = ()
    resource_usage: Mapping[str, Mapping[str, int]] | None = None
    resource_timestamp_s: float = 0.0
    resource_window_s: float = 60.0
    pods: Mapping[str, Mapping[str, int] | FetchFailure] = field(default_factory=dict)
    objects: Mapping[str, int | FetchFailure] = field(default_factory=dict)
    external: Mapping[str, Sequence[int] | FetchFailure] = field(default_factory=dict)


@dataclass(slots=True)
class MetricOutcome:
    """The result for one metric: a proposal, or the failure and its ScalingActive reason."""

    spec: MetricSpec
    status: dict[str, Any]
    proposal: Proposal | None = None
    description: str = ""
    error: str = ""
    reason: str = ""
    condition_message: str = ""


@dataclass(slots=True, frozen=True)
class EvalContext:
    """Everything a metric evaluation reads besides the metric spec."""

    spec_replicas: int
    status_replicas: int
    index: PodIndex
    snapshot: MetricsSnapshot
    tolerances: Tolerances
    namespace: str


def _fail(spec: MetricSpec, reason: str, condition_error: str, error: str) -> MetricOutcome:
    return MetricOutcome(
        spec,
        {"type": ""},
        error=error,
        reason=reason,
        condition_message=f"the HPA was unable to compute the replica count: {condition_error}",
    )


def describe(spec: MetricSpec) -> str:
    """How upstream names the metric in ScalingActive messages and rescale reasons."""
    target = spec.target
    if spec.type in ("Resource", "ContainerResource"):
        if target.average_value_milli is not None:
            return f"{spec.name} resource"
        kind = "container resource" if spec.type == "ContainerResource" else "resource"
        return f"{spec.name} {kind} utilization (percentage of request)"
    if spec.type == "Pods":
        return f"pods metric {spec.name}"
    if spec.type == "Object" and target.type == "Value":
        return f"{(spec.described_object or {}).get('kind', '')} metric {spec.name}"
    # Upstream calls Object AverageValue metrics "external metric" too.
    return f"external metric {spec.name}({_selector_text(spec.selector)})"


def evaluate_metric(spec: MetricSpec, ctx: EvalContext) -> MetricOutcome:
    """Evaluate one metric; never raises for metric problems (they become the outcome)."""
    if spec.type in ("Resource", "ContainerResource"):
        return _resource(spec, ctx)
    if spec.type == "Pods":
        return _pods(spec, ctx)
    if spec.type == "Object":
        return _object(spec, ctx)
    if spec.type == "External":
        return _external(spec, ctx)
    error = f'unknown metric source type "{spec.type}"'
    return _fail(spec, "InvalidMetricSourceType", error, error)


def _resource_values(spec: MetricSpec, ctx: EvalContext) -> PodSamples:
    snapshot = ctx.snapshot
    usage = snapshot.resource_usage
    if usage is not None and not spec.container and spec.name in usage:
        values = usage[spec.name]
        if not values:
            raise MetricError(
                f"unable to get metrics for resource {spec.name}: no metrics returned from "
                "resource metrics API"
            )
        return PodSamples(dict(values), snapshot.resource_timestamp_s, snapshot.resource_window_s)
    raw = snapshot.resource
    if isinstance(raw, FetchFailure):
        raise MetricError(
            f"unable to get metrics for resource {spec.name}: unable to fetch metrics from "
            f"resource metrics API: {raw.message}"
        )
    try:
        return resource_samples(raw, resource=spec.name, container=spec.container)
    except MetricError as error:
        raise MetricError(f"unable to get metrics for resource {spec.name}: {error}") from error


def _resource(spec: MetricSpec, ctx: EvalContext) -> MetricOutcome:
    container = spec.type == "ContainerResource"
    reason = "FailedGetContainerResourceMetric" if container else "FailedGetResourceMetric"
    wrap = (
        f"failed to get {spec.container} container metric value"
        if container
        else f"failed to get {spec.name} resource metric value"
    )
    target = spec.target
    try:
        if target.average_value_milli is not None:
            step = "usage"
            values = _resource_values(spec, ctx)
            proposal = plain_metric_replicas(
                ctx.spec_replicas,
                target.average_value_milli,
                resource=spec.name,
                tolerances=ctx.tolerances,
                index=ctx.index,
                samples=values,
            )
            current: dict[str, Any] = {"averageValue": format_milli(proposal.usage_milli)}
        elif target.average_utilization is not None:
            step = "utilization"
            values = _resource_values(spec, ctx)
            proposal = resource_utilization_replicas(
                ctx.spec_replicas,
                target.average_utilization,
                resource=spec.name,
                container=spec.container,
                tolerances=ctx.tolerances,
                index=ctx.index,
                samples=values,
            )
            current = {
                "averageUtilization": proposal.utilization,
                "averageValue": format_milli(proposal.usage_milli),
            }
        else:
            error = (
                "invalid resource metric source: neither an average utilization target nor an "
                "average value (usage) target was set"
            )
            return _fail(spec, reason, error, f"{wrap}: {error}")
    except MetricError as failure:
        inner = f"failed to get {spec.name} {step}: {failure}"
        return _fail(spec, reason, inner, f"{wrap}: {inner}")
    return MetricOutcome(spec, _resource_status(spec, current), proposal)


def _resource_status(spec: MetricSpec, current: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"name": spec.name, "current": current}
    if spec.type == "ContainerResource":
        body["container"] = spec.container
        return {"type": "ContainerResource", "containerResource": body}
    return {"type": "Resource", "resource": body}


def _metric_id(spec: MetricSpec) -> dict[str, Any]:
    ident: dict[str, Any] = {"name": spec.name}
    if spec.selector is not None:
        ident["selector"] = spec.selector
    return ident


def _pods(spec: MetricSpec, ctx: EvalContext) -> MetricOutcome:
    wrap = "failed to get pods metric value"
    raw = ctx.snapshot.pods.get(spec.name, FetchFailure())
    try:
        if isinstance(raw, FetchFailure):
            raise MetricError(f"unable to fetch metrics from custom metrics API: {raw.message}")
        if not raw:
            raise MetricError("no metrics returned from custom metrics API")
        if spec.target.average_value_milli is None:
            raise MetricError("invalid pods metric source: no average value target was set")
        values = PodSamples(raw)
    except MetricError as failure:
        inner = f"unable to get metric {spec.name}: {failure}"
        return _fail(spec, "FailedGetPodsMetric", inner, f"{wrap}: {inner}")
    try:
        proposal = plain_metric_replicas(
            ctx.spec_replicas,
            spec.target.average_value_milli,
            resource="",
            tolerances=ctx.tolerances,
            index=ctx.index,
            samples=values,
        )
    except MetricError as failure:
        return _fail(spec, "FailedGetPodsMetric", str(failure), f"{wrap}: {failure}")
    status = {
        "type": "Pods",
        "pods": {
            "metric": _metric_id(spec),
            "current": {"averageValue": format_milli(proposal.usage_milli)},
        },
    }
    return MetricOutcome(spec, status, proposal, f"pods metric {spec.name}")


def _object(spec: MetricSpec, ctx: EvalContext) -> MetricOutcome:
    wrap = "failed to get object metric value"
    obj = spec.described_object or {}
    kind, obj_name = obj.get("kind", ""), obj.get("name", "")
    target = spec.target
    raw = ctx.snapshot.objects.get(spec.name, FetchFailure())
    by_value = target.type == "Value" and target.value_milli is not None
    by_average = target.type == "AverageValue" and target.average_value_milli is not None
    if not (by_value or by_average):
        error = (
            "invalid object metric source: neither a value target nor an average value target "
            "was set"
        )
        return _fail(spec, "FailedGetObjectMetric", error, f"{wrap}: {error}")
    if isinstance(raw, FetchFailure):
        # Upstream's format string puts its arguments in this (odd) order.
        inner = (
            f"unable to get metric {spec.name}: {kind} on {ctx.namespace} {obj_name}/"
            f"unable to fetch metrics from custom metrics API: {raw.message}"
        )
        outer = inner if by_value else f"failed to get {spec.name} object metric: {inner}"
        return _fail(spec, "FailedGetObjectMetric", inner, f"{wrap}: {outer}")
    try:
        if by_value:
            assert target.value_milli is not None
            proposal = value_replicas(
                ctx.spec_replicas,
                raw,
                target.value_milli,
                tolerances=ctx.tolerances,
                pods=ctx.index.pods,
            )
            current: dict[str, Any] = {"value": format_milli(proposal.usage_milli)}
        else:
            assert target.average_value_milli is not None
            proposal = object_average_value_replicas(
                ctx.status_replicas, raw, target.average_value_milli, tolerances=ctx.tolerances
            )
            current = {"averageValue": format_milli(proposal.usage_milli)}
    except MetricError as failure:
        return _fail(spec, "FailedGetObjectMetric", str(failure), f"{wrap}: {failure}")
    status = {
        "type": "Object",
        "object": {"describedObject": obj, "metric": _metric_id(spec), "current": current},
    }
    return MetricOutcome(spec, status, proposal)


def _selector_text(selector: Mapping[str, Any] | None) -> str:
    """Go's %+v of a *metav1.LabelSelector, as upstream prints it in messages."""
    if selector is None:
        return "nil"
    labels = selector.get("matchLabels") or {}
    pairs = "".join(f"{k}: {v}," for k, v in sorted(labels.items()))
    return (
        f"&LabelSelector{{MatchLabels:map[string]string{{{pairs}}},"
        "MatchExpressions:[]LabelSelectorRequirement{},}"
    )


def _external(spec: MetricSpec, ctx: EvalContext) -> MetricOutcome:
    wrap = f"failed to get {spec.name} external metric value"
    target = spec.target
    raw = ctx.snapshot.external.get(spec.name, FetchFailure())
    per_pod = target.average_value_milli is not None
    if not per_pod and target.value_milli is None:
        error = (
            "invalid external metric source: neither a value target nor an average value "
            "target was set"
        )
        return _fail(spec, "FailedGetExternalMetric", error, f"{wrap}: {error}")
    if isinstance(raw, FetchFailure) or not raw:
        cause = (
            f"unable to fetch metrics from external metrics API: {raw.message}"
            if isinstance(raw, FetchFailure)
            else "no metrics returned from external metrics API"
        )
        inner = (
            f"unable to get external metric {ctx.namespace}/{spec.name}/"
            f"{_selector_text(spec.selector)}: {cause}"
        )
        outer = f"failed to get {spec.name} external metric: {inner}"
        return _fail(spec, "FailedGetExternalMetric", inner, f"{wrap}: {outer}")
    usage = external_sum(raw, per_pod=per_pod)
    try:
        if per_pod:
            assert target.average_value_milli is not None
            proposal = external_average_value_replicas(
                ctx.status_replicas, usage, target.average_value_milli, tolerances=ctx.tolerances
            )
            current: dict[str, Any] = {"averageValue": format_milli(proposal.usage_milli)}
        else:
            assert target.value_milli is not None
            proposal = value_replicas(
                ctx.spec_replicas,
                usage,
                target.value_milli,
                tolerances=ctx.tolerances,
                pods=ctx.index.pods,
            )
            current = {"value": format_milli(proposal.usage_milli)}
    except MetricError as failure:
        inner = f"failed to get {spec.name} external metric: {failure}"
        return _fail(spec, "FailedGetExternalMetric", str(failure), f"{wrap}: {inner}")
    status = {"type": "External", "external": {"metric": _metric_id(spec), "current": current}}
    return MetricOutcome(spec, status, proposal)

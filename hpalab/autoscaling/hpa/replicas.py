"""Replica proposals per metric, decision for decision like upstream ``replica_calculator.go``.

Each function returns the proposal and the usage the HPA status reports, or raises
``MetricError`` with upstream's message. Integer arithmetic follows Go: integer divisions of
non-negative values truncate, ratios are IEEE doubles, ``int32(math.Ceil(x))``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hpalab.autoscaling.hpa.model import MAX_INT32, MAX_INT64, Pod, Tolerances
from hpalab.autoscaling.hpa.pods import (
    MetricError,
    PodGroups,
    PodIndex,
    PodSamples,
    group_pods,
    ready_pods_count,
)

MIN_INT64 = -MAX_INT64 - 1


@dataclass(slots=True, frozen=True)
class Proposal:
    """A per-metric replica proposal and what the HPA status reports about the metric.

    ``usage_milli`` is the average (or object/external) value; ``utilization`` the integer
    percent of request for Utilization targets (else None); ``ratio`` the usage ratio that was
    compared with the tolerance (after rebalancing, when rebalancing happened).
    """

    replicas: int
    usage_milli: int
    utilization: int | None = None
    ratio: float = 1.0
    note: str = ""


def _utilization_ratio(
    usable: dict[str, int], requests: dict[str, int], target: int
) -> tuple[float, int, int]:
    if usable.keys() <= requests.keys():
        metrics_total = sum(usable.values())
        requests_total = sum(map(requests.__getitem__, usable))
        entries = len(usable)
    else:
        # Metrics for pods we do not know are superfluous: left out of the ratio.
        known = usable.keys() & requests.keys()
        metrics_total = sum(usable[k] for k in known)
        requests_total = sum(requests[k] for k in known)
        entries = len(known)
    if requests_total == 0:
        raise MetricError("no metrics returned matched known pods")
    utilization = metrics_total * 100 // requests_total
    return float(utilization) / float(target), utilization, metrics_total // entries


def _usage_ratio(usable: dict[str, int], target: int) -> tuple[float, int]:
    total = sum(usable.values())
    count = len(usable)
    usage = -(-total // count) if total < 0 else total // count
    return float(usage) / float(target), usage


def _usable(groups: PodGroups, samples: PodSamples) -> dict[str, int]:
    values = samples.values
    dropped = groups.ignored | groups.unready
    if dropped and not dropped.isdisjoint(values.keys()):
        usable = {k: v for k, v in values.items() if k not in dropped}
    else:
        usable = dict(values)
    if not usable:
        raise MetricError("did not receive metrics for targeted pods (pods might be unready)")
    return usable


def _ceil_int32(x: float) -> int:
    return MAX_INT32 if x > MAX_INT32 else math.ceil(x)


def resource_utilization_replicas(
    current_replicas: int,
    target_utilization: int,
    *,
    resource: str,
    container: str,
    tolerances: Tolerances,
    index: PodIndex,
    samples: PodSamples,
) -> Proposal:
    """Utilization target: percent of request averaged over ready pods, then rebalanced.

    ``samples`` holds every pod value the metrics API returned (not changed). On a scale-down
    missing pods count as max(100 %, target) of their request, on a scale-up missing and
    unready pods count as 0; a rebalanced result that flips the direction keeps the current
    replicas.
    """
    if not index.pods:
        raise MetricError("no pods returned by selector while calculating replica count")
    groups = group_pods(index, samples, resource=resource)
    usable = _usable(groups, samples)
    requests = index.requests(container=container, resource=resource)
    ratio, utilization, raw = _utilization_ratio(usable, requests, target_utilization)
    fallback = max(100, target_utilization)
    return _propose(
        current_replicas,
        Proposal(current_replicas, raw, utilization, ratio),
        groups=groups,
        usable=usable,
        tolerances=tolerances,
        missing_on_scale_down=lambda name: requests[name] * fallback // 100,
        ratio_of=lambda values: _utilization_ratio(values, requests, target_utilization)[0],
    )


def plain_metric_replicas(
    current_replicas: int,
    target_usage: int,
    *,
    resource: str,
    tolerances: Tolerances,
    index: PodIndex,
    samples: PodSamples,
) -> Proposal:
    """AverageValue over pods (Pods metrics; Resource/ContainerResource AverageValue).

    ``resource`` is 'cpu' only for CPU AverageValue targets, which enables the CPU readiness
    rules; missing pods count as exactly the target on a scale-down.
    """
    if not index.pods:
        raise MetricError("no pods returned by selector while calculating replica count")
    groups = group_pods(index, samples, resource=resource)
    usable = _usable(groups, samples)
    ratio, usage = _usage_ratio(usable, target_usage)
    return _propose(
        current_replicas,
        Proposal(current_replicas, usage, None, ratio),
        groups=groups,
        usable=usable,
        tolerances=tolerances,
        missing_on_scale_down=lambda name: target_usage,
        ratio_of=lambda values: _usage_ratio(values, target_usage)[0],
    )


def _propose(
    current: int,
    first: Proposal,
    *,
    groups: PodGroups,
    usable: dict[str, int],
    tolerances: Tolerances,
    missing_on_scale_down: Callable[[str], int],
    ratio_of: Callable[[dict[str, int]], float],
) -> Proposal:
    """The proposal from the usage ratio, rebalancing missing and unready pods as upstream."""
    ratio, usage, utilization = first.ratio, first.usage_milli, first.utilization
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if tolerances.is_within(ratio):
            return Proposal(current, usage, utilization, ratio, "within tolerance")
        return Proposal(_ceil_int32(ratio * groups.ready_count), usage, utilization, ratio)
    if groups.missing and ratio != 1.0:
        # Missing pods count as the target (scale-down) or as idle (scale-up).
        for name in groups.missing:
            usable[name] = missing_on_scale_down(name) if ratio < 1.0 else 0
    if scale_up_with_unready:
        for name in groups.unready:
            usable[name] = 0
    new_ratio = ratio_of(usable)
    if tolerances.is_within(new_ratio):
        return Proposal(current, usage, utilization, new_ratio, "rebalanced ratio within tolerance")
    if (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return Proposal(current, usage, utilization, new_ratio, "rebalancing flips direction")
    replicas = _ceil_int32(new_ratio * len(usable))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return Proposal(current, usage, utilization, new_ratio, "pod count flips direction")
    return Proposal(replicas, usage, utilization, new_ratio, "rebalanced missing/unready pods")


def value_replicas(
    current_replicas: int, usage: int, target: int, *, tolerances: Tolerances, pods: Sequence[Pod]
) -> Proposal:
    """Object or External metric with a Value target: ratio × ready pods.

    With ``current_replicas == 0`` (scale from zero) neither ready pods nor tolerance apply:
    the proposal is ceil(ratio).
    """
    ratio = float(usage) / float(target)
    if current_replicas == 0:
        return Proposal(math.ceil(ratio), usage, None, ratio, "scale from zero")
    if tolerances.is_within(ratio):
        return Proposal(current_replicas, usage, None, ratio, "within tolerance")
    try:
        ready = ready_pods_count(pods)
    except MetricError as error:
        raise MetricError(f"unable to calculate ready pods: {error}") from error
    return Proposal(_ceil_int32(ratio * ready), usage, None, ratio)


def object_average_value_replicas(
    status_replicas: int, usage: int, target: int, *, tolerances: Tolerances
) -> Proposal:
    """Object metric with an AverageValue target: ceil(value / target) unless within tolerance.

    The reported usage is ceil(value / status replicas).
    """
    if status_replicas == 0:
        ratio = math.inf if usage > 0 else math.nan
    else:
        ratio = float(usage) / (float(target) * float(status_replicas))
    replicas = status_replicas
    if not tolerances.is_within(ratio):
        replicas = math.ceil(float(usage) / float(target))
    per_pod = MIN_INT64 if status_replicas == 0 else math.ceil(float(usage) / status_replicas)
    return Proposal(replicas, per_pod, None, ratio)


def external_sum(values: Sequence[int], *, per_pod: bool) -> int:
    """Sum of external series values, saturating at MaxInt64 as upstream does."""
    total = 0
    for value in values:
        if per_pod:
            total += value
            if total > MAX_INT64:
                return MAX_INT64
        else:
            if value > 0 and total > MAX_INT64 - value:
                return MAX_INT64
            total += value
    return total


def external_average_value_replicas(
    status_replicas: int, usage: int, target: int, *, tolerances: Tolerances
) -> Proposal:
    """External AverageValue: like the Object one, with int32/int64 saturation."""
    if status_replicas == 0:
        ratio = math.inf if usage > 0 else math.nan
    else:
        ratio = float(usage) / (float(target) * float(status_replicas))
    replicas = status_replicas
    if not tolerances.is_within(ratio):
        replicas = _ceil_int32(math.ceil(float(usage) / float(target)))
    if float(usage) >= float(MAX_INT64):
        per_pod = MAX_INT64
    elif status_replicas == 0:
        per_pod = MIN_INT64
    else:
        per_pod = math.ceil(float(usage) / float(status_replicas))
    return Proposal(replicas, per_pod, None, ratio)

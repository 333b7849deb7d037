"""Pod classification and per-pod values, as the upstream replica calculator computes them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hpalab.autoscaling.hpa.model import Pod, PodMetric, PodResourceMetrics


class MetricError(Exception):
    """A metric could not be evaluated; the message is upstream's error text."""


@dataclass(slots=True)
class PodGroups:
    """Result of classification: ready count and the names of unready, missing, ignored pods."""

    ready_count: int
    unready: set[str]
    missing: set[str]
    ignored: set[str]


def group_pods(
    pods: Sequence[Pod],
    metrics: dict[str, PodMetric],
    *,
    resource: str,
    now_s: float,
    cpu_initialization_period_s: float,
    initial_readiness_delay_s: float,
) -> PodGroups:
    """Classify pods the way upstream ``groupPods`` does.

    Deleted and Failed pods are ignored; Pending pods are unready; pods without a metric are
    missing. Only for ``resource == 'cpu'``: during the CPU initialization period a pod counts
    only if Ready and one full metric window was sampled after its Ready transition; after it,
    an unready pod that never became ready (transition within the initial readiness delay after
    start) is unready.
    """
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    ready_count = 0
    is_cpu = resource == "cpu"
    for pod in pods:
        if pod.deleted or pod.phase == "Failed":
            ignored.add(pod.name)
            continue
        if pod.phase == "Pending":
            unready.add(pod.name)
            continue
        metric = metrics.get(pod.name)
        if metric is None:
            missing.add(pod.name)
            continue
        if is_cpu and _cpu_sample_untrusted(
            pod,
            metric,
            now_s=now_s,
            init_period_s=cpu_initialization_period_s,
            readiness_delay_s=initial_readiness_delay_s,
        ):
            unready.add(pod.name)
            continue
        ready_count += 1
    return PodGroups(ready_count, unready, missing, ignored)


def _cpu_sample_untrusted(
    pod: Pod, metric: PodMetric, *, now_s: float, init_period_s: float, readiness_delay_s: float
) -> bool:
    if pod.ready is None or pod.start_s is None:
        return True
    transition_s = pod.ready_transition_s if pod.ready_transition_s is not None else float("-inf")
    if pod.start_s + init_period_s > now_s:
        # Young pod: trust the sample only after a full window since it became Ready.
        return pod.ready == "False" or metric.timestamp_s < transition_s + metric.window_s
    # Older pod: distrust it only if it is unready and has never been ready.
    return pod.ready == "False" and pod.start_s + readiness_delay_s > transition_s


def calculate_requests(pods: Iterable[Pod], *, container: str, resource: str) -> dict[str, int]:
    """Request of each pod for ``resource`` (milli): the sum over containers, or one container.

    Raises MetricError with upstream's text when a container has no request or the named
    container does not exist.
    """
    requests: dict[str, int] = {}
    for pod in pods:
        total = 0
        found = False
        for c in pod.containers:
            if container in ("", c.name):
                value = c.requests_milli.get(resource)
                if value is None:
                    raise MetricError(
                        f"missing request for {resource} in container {c.name} of Pod {pod.name}"
                    )
                total += value
            if container == c.name:
                found = True
                break
        if container and not found:
            raise MetricError(f"container {container} not found in Pod {pod.name}")
        requests[pod.name] = total
    return requests


def resource_metrics_by_pod(
    raw: Sequence[PodResourceMetrics], *, resource: str, container: str
) -> dict[str, PodMetric]:
    """Per-pod values from metrics.k8s.io items, as upstream's resource metrics client does.

    Whole-pod mode (``container == ''``): the sum over containers; a pod whose container list is
    empty or has a container without usage has no value. Container mode: the named container's
    usage, no value if absent. An empty list is an API failure.
    """
    if not raw:
        raise MetricError("no metrics returned from resource metrics API")
    result: dict[str, PodMetric] = {}
    for item in raw:
        if container:
            for c in item.containers:
                if c.name == container:
                    usage = c.usage_milli.get(resource)
                    if usage is not None:
                        result[item.pod] = PodMetric(usage, item.timestamp_s, item.window_s)
                    break
            continue
        total = 0
        complete = bool(item.containers)
        for c in item.containers:
            usage = c.usage_milli.get(resource)
            if usage is None:
                complete = False
                break
            total += usage
        if complete:
            result[item.pod] = PodMetric(total, item.timestamp_s, item.window_s)
    return result


def ready_pods_count(pods: Sequence[Pod]) -> int:
    """Running pods whose Ready condition is True (used by Object/External Value targets)."""
    if not pods:
        raise MetricError("no pods returned by selector while calculating replica count")
    return sum(1 for p in pods if p.phase == "Running" and p.ready == "True")

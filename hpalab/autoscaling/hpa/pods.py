"""Pod classification and per-pod values, as the upstream replica calculator computes them.

Upstream walks every pod for every metric. The decisions here are the same, but the walk over
pods is done once per sync (:class:`PodIndex`) and each metric only does set arithmetic, because
the simulator runs millions of syncs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hpalab.autoscaling.hpa.model import Pod, PodResourceMetrics


class MetricError(Exception):
    """A metric could not be evaluated; the message is upstream's error text."""


@dataclass(slots=True)
class PodSamples:
    """Per-pod values of one metric (milli) and when they were sampled.

    Every sample has ``timestamp_s``/``window_s`` unless ``times`` gives the pod its own
    (timestamp, window). Times only matter for the CPU readiness rules.
    """

    values: Mapping[str, int]
    timestamp_s: float = 0.0
    window_s: float = 0.0
    times: Mapping[str, tuple[float, float]] | None = None

    def time_of(self, name: str) -> tuple[float, float]:
        if self.times is not None and name in self.times:
            return self.times[name]
        return self.timestamp_s, self.window_s


@dataclass(slots=True)
class PodGroups:
    """Result of classification: ready count and the names of unready, missing, ignored pods."""

    ready_count: int
    unready: set[str]
    missing: set[str]
    ignored: set[str]


@dataclass(slots=True)
class PodFacts:
    """What a pod list says independently of time: ignored, pending and running names, pods
    whose Ready condition makes CPU samples doubtful, the latest start, and requests (filled
    lazily). Pods are immutable, so facts can be reused while the pod list compares equal."""

    pods: tuple[Pod, ...]
    ignored: set[str] = field(init=False)
    pending: set[str] = field(init=False)
    running: set[str] = field(init=False)
    doubtful: list[Pod] = field(init=False)
    latest_start_s: float = field(init=False)
    requests: dict[tuple[str, str], dict[str, int]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        pods = self.pods
        self.ignored = {p.name for p in pods if p.deleted or p.phase == "Failed"}
        self.pending = {p.name for p in pods if p.phase == "Pending" and not p.deleted}
        self.running = {p.name for p in pods} - self.ignored - self.pending
        running = self.running
        self.doubtful = [
            p
            for p in pods
            if p.name in running and (p.ready is None or p.start_s is None or p.ready == "False")
        ]
        starts = [p.start_s for p in pods if p.start_s is not None]
        self.latest_start_s = max(starts, default=float("-inf"))


class PodFactsCache:
    """Keeps the facts of the last pod list seen (one per controller)."""

    __slots__ = ("_facts",)

    def __init__(self) -> None:
        self._facts: PodFacts | None = None

    def facts(self, pods: Sequence[Pod]) -> PodFacts:
        key = tuple(pods)
        facts = self._facts
        if facts is None or facts.pods != key:
            facts = PodFacts(key)
            self._facts = facts
        return facts


class PodIndex:
    """The pods of one sync with the controller's clock and CPU readiness durations."""

    __slots__ = (
        "_suspects",
        "cpu_initialization_period_s",
        "facts",
        "ignored",
        "initial_readiness_delay_s",
        "now_s",
        "pending",
        "pod_level_resources",
        "pods",
        "running",
    )

    def __init__(
        self,
        pods: Sequence[Pod] | PodFacts,
        now_s: float,
        cpu_initialization_period_s: float,
        initial_readiness_delay_s: float,
        *,
        pod_level_resources: bool = False,
    ) -> None:
        facts = pods if isinstance(pods, PodFacts) else PodFacts(tuple(pods))
        self.facts = facts
        self.pods = facts.pods
        self.ignored = facts.ignored
        self.pending = facts.pending
        self.running = facts.running
        self.now_s = now_s
        self.cpu_initialization_period_s = cpu_initialization_period_s
        self.initial_readiness_delay_s = initial_readiness_delay_s
        self.pod_level_resources = pod_level_resources
        self._suspects: list[Pod] | None = None

    def cpu_suspects(self) -> list[Pod]:
        """Running pods for which the CPU rules need the sample time to decide: no Ready
        condition or start, Ready=False, or still within the CPU initialization period."""
        if self._suspects is None:
            settled = self.now_s - self.cpu_initialization_period_s
            suspects = list(self.facts.doubtful)
            if self.facts.latest_start_s > settled:
                seen = {p.name for p in suspects}
                running = self.running
                suspects += [
                    p
                    for p in self.pods
                    if p.name in running
                    and p.start_s is not None
                    and p.start_s > settled
                    and p.name not in seen
                ]
            self._suspects = suspects
        return self._suspects

    def requests(self, *, container: str, resource: str) -> dict[str, int]:
        """Request per pod (milli) for ``resource``, summed over containers or of one container.

        Raises MetricError with upstream's text when a container has no request or the named
        container does not exist.
        """
        key = (container, resource)
        cached = self.facts.requests.get(key)
        if cached is None:
            pod_level = self.pod_level_resources and not container
            cached = {p.name: _request(p, container, resource, pod_level) for p in self.pods}
            self.facts.requests[key] = cached
        return cached


def _request(pod: Pod, container: str, resource: str, pod_level: bool) -> int:
    """Upstream's ``calculateRequests``: a pod with pod-level requests (of any resource that
    can be set there) is measured against ``PodRequests``, the containers' sum overridden by
    the pod's own; without them, every container must have the request."""
    own = pod.requests_milli or {}
    if pod_level and any(_pod_level_resource(name) for name in own):
        if resource in own:
            return own[resource]
        values = [
            c.requests_milli[resource] for c in pod.containers if resource in c.requests_milli
        ]
        if not values:
            raise MetricError(f"missing pod-level request for {resource} in Pod {pod.name}")
        return sum(values)
    return _pod_request(pod, container, resource)


def _pod_level_resource(name: str) -> bool:
    """``IsSupportedPodLevelResource``: cpu, memory and hugepages can be set on a pod."""
    return name in ("cpu", "memory") or name.startswith("hugepages-")


def _pod_request(pod: Pod, container: str, resource: str) -> int:
    total = 0
    for c in pod.containers:
        if container in ("", c.name):
            value = c.requests_milli.get(resource)
            if value is None:
                raise MetricError(
                    f"missing request for {resource} in container {c.name} of Pod {pod.name}"
                )
            if container:
                return value
            total += value
    if container:
        raise MetricError(f"container {container} not found in Pod {pod.name}")
    return total


def _cpu_untrusted(pod: Pod, sample: tuple[float, float], index: PodIndex) -> bool:
    if pod.ready is None or pod.start_s is None:
        return True
    transition_s = pod.ready_transition_s if pod.ready_transition_s is not None else float("-inf")
    timestamp_s, window_s = sample
    if pod.start_s + index.cpu_initialization_period_s > index.now_s:
        # Young pod: trust the sample only after a full window since it became Ready.
        return pod.ready == "False" or timestamp_s < transition_s + window_s
    # Older pod: distrust it only if it is unready and has never been ready.
    return pod.ready == "False" and pod.start_s + index.initial_readiness_delay_s > transition_s


def group_pods(index: PodIndex, samples: PodSamples, *, resource: str) -> PodGroups:
    """Classify pods the way upstream ``groupPods`` does.

    Deleted and Failed pods are ignored; Pending pods are unready; pods without a metric are
    missing. Only for ``resource == 'cpu'``: during the CPU initialization period a pod counts
    only if Ready and one full metric window was sampled after its Ready transition; after it,
    an unready pod that never became ready (transition within the initial readiness delay after
    start) is unready.
    """
    values = samples.values
    missing = index.running.difference(values.keys())
    unready = set(index.pending)
    cpu_unready = 0
    if resource == "cpu":
        for pod in index.cpu_suspects():
            if pod.name in values and _cpu_untrusted(pod, samples.time_of(pod.name), index):
                unready.add(pod.name)
                cpu_unready += 1
    ready = len(index.running) - len(missing) - cpu_unready
    return PodGroups(ready, unready, missing, set(index.ignored))


def resource_samples(
    raw: Sequence[PodResourceMetrics], *, resource: str, container: str
) -> PodSamples:
    """Per-pod values from metrics.k8s.io items, as upstream's resource metrics client does.

    Whole-pod mode (``container == ''``): the sum over containers; a pod whose container list is
    empty or has a container without usage has no value. Container mode: the named container's
    usage, no value if absent. An empty list is an API failure.
    """
    if not raw:
        raise MetricError("no metrics returned from resource metrics API")
    values: dict[str, int] = {}
    first = raw[0]
    uniform = True
    for item in raw:
        containers = item.containers
        if not container and len(containers) == 1:
            usage = containers[0].usage_milli.get(resource)
        else:
            usage = _item_usage(item, resource, container)
        if usage is not None:
            values[item.pod] = usage
            if item.timestamp_s != first.timestamp_s or item.window_s != first.window_s:
                uniform = False
    if uniform:
        return PodSamples(values, first.timestamp_s, first.window_s)
    times = {item.pod: (item.timestamp_s, item.window_s) for item in raw if item.pod in values}
    return PodSamples(values, times=times)


def _item_usage(item: PodResourceMetrics, resource: str, container: str) -> int | None:
    if container:
        for c in item.containers:
            if c.name == container:
                return c.usage_milli.get(resource)
        return None
    if not item.containers:
        return None
    total = 0
    for c in item.containers:
        usage = c.usage_milli.get(resource)
        if usage is None:
            return None
        total += usage
    return total


def ready_pods_count(pods: Sequence[Pod]) -> int:
    """Running pods whose Ready condition is True (used by Object/External Value targets)."""
    if not pods:
        raise MetricError("no pods returned by selector while calculating replica count")
    return sum(1 for p in pods if p.phase == "Running" and p.ready == "True")

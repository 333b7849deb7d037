"""Plain data of the HPA engine: controller flags, pods, metric samples, parsed HPA specs.

All times are seconds on one clock chosen by the caller (``now_s`` of a sync is on the same
clock). All metric values are Kubernetes milli-values (``Quantity.MilliValue()``): CPU in
millicores, custom/object/external values in thousandths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A timestamp the upstream fixtures leave at Go's zero time: effectively infinitely old.
ZERO_TIME_AGE_S = 100_000_000_000.0

MAX_INT32 = 2_147_483_647
MIN_INT32 = -2_147_483_648
MAX_INT64 = 9_223_372_036_854_775_807


@dataclass(slots=True, frozen=True)
class ControllerConfig:
    """kube-controller-manager flags of the HPA controller (defaults are production defaults)."""

    tolerance: float = 0.1
    """--horizontal-pod-autoscaler-tolerance: ratio band around 1.0 with no scaling."""
    scale_up_tolerance: float | None = None
    """The default tolerance for scaling up alone, where it differs from ``tolerance`` (the
    object form ``{scale_up, scale_down}`` of the conformance contract; kube-controller-manager's
    one flag sets both). ``None``: ``tolerance``."""
    scale_down_tolerance: float | None = None
    """The same for scaling down."""
    cpu_initialization_period_s: float = 300.0
    """--horizontal-pod-autoscaler-cpu-initialization-period: CPU samples of young pods are
    only trusted once a full metric window passed since the pod became Ready."""
    initial_readiness_delay_s: float = 30.0
    """--horizontal-pod-autoscaler-initial-readiness-delay: an unready pod whose Ready condition
    changed within this delay after start counts as never having been ready."""
    downscale_stabilization_window_s: float = 300.0
    """--horizontal-pod-autoscaler-downscale-stabilization (and the default of
    behavior.scaleDown.stabilizationWindowSeconds)."""
    scale_up_limit_factor: float = 2.0
    """Legacy path (no spec.behavior): at most factor × current replicas per sync."""
    scale_up_limit_minimum: float = 4.0
    """Legacy path: the scale-up limit is never below this many replicas."""
    sync_period_s: float = 15.0
    """--horizontal-pod-autoscaler-sync-period; informational for the engine, used by callers."""
    configurable_tolerance: bool = True
    """Feature gate HPAConfigurableTolerance (alpha in 1.33, beta and on by default in 1.35):
    when off, behavior.scaleUp/scaleDown.tolerance are ignored."""
    scaled_to_zero_condition: bool = False
    """HPAScaleToZero as of 1.36 (``versions.features``): the controller records the
    ScaledToZero condition on every rescale and, at zero replicas, computes metrics only when
    it scaled the target to zero itself. False: the rule before 1.36 (zero replicas disable
    scaling unless minReplicas is 0)."""
    pod_level_resources: bool = False
    """PodLevelResources as of 1.34: a Resource metric's utilization is relative to the pod's
    own ``spec.resources.requests`` where it sets the resource (ContainerResource metrics keep
    the container's request). False: always the sum of the containers' requests."""
    reconcile_on_create: bool = True
    """As of 1.37 (kubernetes#138294) a new HPA is synced as soon as the controller sees it;
    before, its first sync came one sync period later (``queueing.sync_delay_s``)."""
    reconcile_on_spec_change: bool = True
    """HPAGeneration (beta in 1.37): a spec change is synced at once, one extra sync between
    the periodic ones; without it the change waits for the next periodic sync."""

    def default_tolerances(self) -> Tolerances:
        """The tolerances an HPA gets where its behavior sets none."""
        up, down = self.scale_up_tolerance, self.scale_down_tolerance
        return Tolerances(
            scale_down=self.tolerance if down is None else down,
            scale_up=self.tolerance if up is None else up,
        )


@dataclass(slots=True, frozen=True)
class Tolerances:
    """Per-direction tolerance (KEP-4951): r is within iff 1 - scale_down <= r <= 1 + scale_up."""

    scale_down: float
    scale_up: float

    def is_within(self, ratio: float) -> bool:
        return (1.0 - self.scale_down) <= ratio <= (1.0 + self.scale_up)


@dataclass(slots=True, frozen=True)
class Container:
    """One container of a pod: its name and requests per resource (milli; absent = no request)."""

    name: str
    requests_milli: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class Pod:
    """The pod fields the HPA controller reads.

    ``ready`` is the Ready condition status ('True', 'False', 'Unknown') or None when the pod has
    no Ready condition. Times are absolute seconds; ``start_s`` None = no status.startTime.
    """

    name: str
    phase: str = "Running"
    ready: str | None = "True"
    ready_transition_s: float | None = None
    start_s: float | None = None
    deleted: bool = False
    containers: tuple[Container, ...] = ()
    requests_milli: dict[str, int] | None = None
    """Pod-level ``spec.resources.requests`` (milli); None: the pod sets none."""


@dataclass(slots=True, frozen=True)
class ContainerUsage:
    """Usage of one container as metrics.k8s.io reports it (milli; absent key = no usage)."""

    name: str
    usage_milli: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class PodResourceMetrics:
    """One PodMetrics item of metrics.k8s.io: sample time, window and per-container usage."""

    pod: str
    timestamp_s: float
    window_s: float
    containers: tuple[ContainerUsage, ...]


@dataclass(slots=True, frozen=True)
class FetchFailure:
    """A metrics API call failed; ``message`` is the API error text."""

    message: str = "the server could not find the requested resource"


@dataclass(slots=True, frozen=True)
class MetricTarget:
    """autoscaling/v2 MetricTarget; values in milli, utilization in integer percent."""

    type: str
    value_milli: int | None = None
    average_value_milli: int | None = None
    average_utilization: int | None = None


@dataclass(slots=True, frozen=True)
class MetricSpec:
    """One entry of spec.metrics, flattened.

    ``name`` is the resource name (Resource, ContainerResource) or the metric name (Pods,
    Object, External); ``raw`` keeps the original camelCase dict for status output.
    """

    type: str
    name: str
    target: MetricTarget
    container: str = ""
    described_object: dict[str, str] | None = None
    selector: dict[str, object] | None = None
    raw: dict[str, object] | None = None


@dataclass(slots=True, frozen=True)
class ScalingPolicy:
    type: str
    value: int
    period_seconds: int


@dataclass(slots=True, frozen=True)
class ScalingRules:
    """HPAScalingRules after API defaulting (tolerance None = cluster-wide flag)."""

    stabilization_window_seconds: int | None
    select_policy: str
    policies: tuple[ScalingPolicy, ...]
    tolerance: float | None = None


@dataclass(slots=True, frozen=True)
class Behavior:
    scale_up: ScalingRules
    scale_down: ScalingRules


@dataclass(slots=True, frozen=True)
class HPASpec:
    """A parsed HorizontalPodAutoscalerSpec (API defaults applied)."""

    min_replicas: int
    max_replicas: int
    metrics: tuple[MetricSpec, ...]
    behavior: Behavior | None
    target_kind: str = "Deployment"
    target_name: str = "app"
    namespace: str = "default"


@dataclass(slots=True)
class Recommendation:
    """A stored pre-normalization recommendation and when it was made."""

    replicas: int
    timestamp_s: float


@dataclass(slots=True)
class ScaleEvent:
    """A stored scale event: magnitude of the change, when, and whether it may be reused."""

    replica_change: int
    timestamp_s: float
    outdated: bool = False

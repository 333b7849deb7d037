"""``kind: Experiment``: what to deploy, how to load it, what to compare, how often."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from hpalab.specs.base import Header, SpecModel
from hpalab.specs.events import Event
from hpalab.specs.hpa import HPASpec
from hpalab.specs.keda.generated import generated_hpa_spec
from hpalab.specs.keda.model import ScaledObjectSpec
from hpalab.specs.keda.problems import SCALED_OBJECT_NAME
from hpalab.specs.kubeversions import GATES, KUBERNETES_VERSIONS, NEWEST_VERSION, gate_problems
from hpalab.specs.loadsettings import LoadSettings
from hpalab.specs.phases import SLO, Phases
from hpalab.specs.target import TargetSpec
from hpalab.specs.units import Duration, Quantity, format_duration, parse_quantity_value


class ControllerFlags(SpecModel):
    """kube-controller-manager's HPA flags. Set on the local platform; on a cluster they are
    read where possible and recorded as assumed otherwise."""

    sync_period: Duration = Field(
        15.0, gt=0, description="--horizontal-pod-autoscaler-sync-period: time between HPA syncs"
    )
    tolerance: float = Field(
        0.1, ge=0, description="--horizontal-pod-autoscaler-tolerance: ratio band with no scaling"
    )
    downscale_stabilization: Duration = Field(
        300.0,
        description="--horizontal-pod-autoscaler-downscale-stabilization: window for HPAs "
        "without behavior.scaleDown.stabilizationWindowSeconds",
    )
    initial_readiness_delay: Duration = Field(
        30.0,
        description="--horizontal-pod-autoscaler-initial-readiness-delay: after pod start, "
        "readiness flips are treated as the pod not yet ready",
    )
    cpu_initialization_period: Duration = Field(
        300.0,
        description="--horizontal-pod-autoscaler-cpu-initialization-period: after pod start, "
        "CPU samples of unready pods are ignored",
    )
    kubernetes_version: str = Field(
        NEWEST_VERSION,
        description="Kubernetes minor version whose HPA controller the local engine "
        f"reproduces ({KUBERNETES_VERSIONS[0]}–{NEWEST_VERSION}): feature-gate defaults, "
        "tolerance, the ScaledToZero condition",
    )
    feature_gates: dict[str, bool] = Field(
        default_factory=dict,
        description="HPA feature gates set against the version's defaults "
        f"({', '.join(GATES)}); a GA gate is locked on",
    )

    @field_validator("kubernetes_version", mode="before")
    @classmethod
    def _known_version(cls, value: Any) -> Any:
        text = str(value) if isinstance(value, int | float) else value
        if isinstance(text, str) and text.removeprefix("v") in KUBERNETES_VERSIONS:
            return text.removeprefix("v")
        raise ValueError(
            f"unknown Kubernetes version {value!r}: use one of "
            f'{", ".join(KUBERNETES_VERSIONS)} as a quoted string, e.g. "{NEWEST_VERSION}"'
        )

    @model_validator(mode="after")
    def _known_gates(self) -> ControllerFlags:
        problems = gate_problems(self.kubernetes_version, self.feature_gates)
        if problems:
            raise ValueError(f"featureGates: {'; '.join(problems)}")
        return self


class PrometheusSettings(SpecModel):
    """The Prometheus that scrapes the app (a ServiceMonitor's view of it)."""

    scrape_interval: Duration = Field(15.0, gt=0, description="scrape interval of the app's pods")
    scrape_timeout: Duration | None = Field(None, description="default: the scrape interval")
    evaluation_interval: Duration = Field(15.0, gt=0, description="rule evaluation interval")
    record: list[str] = Field(
        default_factory=list,
        description="extra PromQL expressions recorded in prometheus.csv at 1 s resolution",
    )


class ResourceList(SpecModel):
    """Resource amounts, as in a container's resources."""

    cpu: Quantity | None = Field(None, description="CPU, e.g. 200m")
    memory: Quantity | None = Field(None, description="memory, e.g. 128Mi")


class Resources(SpecModel):
    """A container's requests and limits."""

    requests: ResourceList = Field(
        default_factory=lambda: ResourceList(cpu="200m", memory="64Mi"),
        description="requests; CPU utilization targets are relative to requests.cpu",
    )
    limits: ResourceList | None = Field(None, description="limits (kubernetes platform)")


class ReadinessProbe(SpecModel):
    """The kubelet-style readiness probe of each replica (GET /readyz)."""

    period: Duration = Field(1.0, gt=0, description="time between probes (periodSeconds)")
    failure_threshold: int = Field(3, ge=1, description="failures before Ready=False")
    success_threshold: int = Field(1, ge=1, description="successes before Ready=True")
    timeout: Duration = Field(1.0, gt=0, description="probe timeout (timeoutSeconds)")


class AppSettings(SpecModel):
    """How the sample app behaves."""

    cpu_per_request: Duration = Field(
        0.002, description="CPU busy-work per request (a request's service time on one core)"
    )
    latency: Duration = Field(0.0, description="extra non-CPU wait per request (I/O stand-in)")
    startup_delay: Duration = Field(2.0, description="time from start until /readyz succeeds")
    initial_replicas: int = Field(1, ge=1, description="replicas when a trial starts")
    resources: Resources = Field(default_factory=Resources, description="requests and limits")
    readiness_probe: ReadinessProbe = Field(
        default_factory=ReadinessProbe,
        description="readiness probe",
    )
    termination_grace_period: Duration = Field(
        30.0, description="time to drain before SIGKILL (terminationGracePeriodSeconds)"
    )
    concurrency: int | None = Field(
        None,
        ge=1,
        le=10000,
        description="worker slots per replica: requests served at once; more wait in a queue. "
        "A replica's capacity is then concurrency / (cpuPerRequest + latency) requests/s. "
        "Default: no limit",
    )
    queue_limit: int | None = Field(
        None,
        ge=0,
        description="requests that may wait for a worker slot; more get 503 at once. Needs "
        "concurrency. Default: no limit",
    )
    capacity_rps: float | None = Field(
        None,
        gt=0,
        description="calibrated maximum rate per replica at the SLO, requests/s; demand = "
        "ceil(offered / capacity). Default: concurrency / (cpuPerRequest + latency) when "
        "concurrency is set, else the HPA target of a requests-per-second metric",
    )
    command: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None,
        min_length=1,
        description="your own HTTP program as the replicas instead of the sample app (local "
        "platform): its argv, run in the current directory; {port}, {pod} and {python} (the "
        "Python running hpalab) are replaced, and PORT and POD_NAME are in its environment",
    )
    readiness_path: str = Field(
        "/readyz", pattern=r"^/", description="path of the readiness probe (GET, 2xx/3xx: ready)"
    )
    metrics_path: str = Field(
        "/metrics", pattern=r"^/", description="path Prometheus scrapes on each replica"
    )
    startup_timeout: Duration = Field(
        120.0, gt=0, description="longest time the replicas may take to become Ready"
    )

    @model_validator(mode="after")
    def _sample_app_fields(self) -> AppSettings:
        if self.command is None:
            return self
        sample_only = {
            "cpu_per_request": "cpuPerRequest",
            "latency": "latency",
            "startup_delay": "startupDelay",
            "concurrency": "concurrency",
            "queue_limit": "queueLimit",
        }
        # compared with the defaults, not "was it written": a lock file writes every field
        fields = type(self).model_fields
        given = [
            yaml
            for field, yaml in sample_only.items()
            if getattr(self, field) != fields[field].default
        ]
        if given:
            raise ValueError(
                f"{', '.join(given)} configure the sample app, which command replaces: remove "
                "them (your program decides its own behaviour)"
            )
        return self

    @model_validator(mode="after")
    def _queue_needs_slots(self) -> AppSettings:
        if self.queue_limit is not None and self.concurrency is None:
            raise ValueError("queueLimit needs concurrency (the slots the queue waits for)")
        if self.concurrency is not None and self.cpu_per_request + self.latency <= 0:
            raise ValueError(
                "concurrency needs a service time: set cpuPerRequest and/or latency above 0"
            )
        return self

    def slot_capacity_rps(self) -> float | None:
        """``concurrency / (cpuPerRequest + latency)``: the rate the worker slots can serve,
        requests/s; None without a concurrency limit."""
        if self.concurrency is None:
            return None
        return self.concurrency / (self.cpu_per_request + self.latency)


class Variant(SpecModel):
    """A named change to the experiment: a merge patch and/or field paths."""

    name: str = Field(
        min_length=1, max_length=100, pattern=r"^[^#\n]+$", description="name shown in reports"
    )
    description: str | None = Field(None, description="free text")
    patch: dict[str, Any] = Field(
        default_factory=dict,
        description="JSON merge patch of spec (keys: section names), or keys that are field "
        "paths such as hpa.metrics[0].pods.target.averageValue",
    )


class MatrixValue(SpecModel):
    """One value of a matrix axis with a short label for generated names."""

    label: str = Field(min_length=1, max_length=40, pattern=r"^[^#\n,=]+$", description="label")
    value: Any = Field(description="the value set at the axis' path")


class MatrixAxis(SpecModel):
    """One axis of the cartesian product: a field path and its values."""

    path: str = Field(min_length=1, description="field path under spec, e.g. hpa.maxReplicas")
    name: str | None = Field(
        None, pattern=r"^[^#\n,=]+$", description="short axis name; default: last path part"
    )
    values: list[Any] = Field(min_length=1, description="values, or {label, value} objects")


class ExperimentSpec(SpecModel):
    """Everything an experiment sets."""

    hpa: HPASpec = Field(
        description="autoscaling/v2 HorizontalPodAutoscalerSpec; with keda, the HPA KEDA "
        "generates (filled in by hpalab, not written)"
    )
    adapter: dict[str, Any] = Field(
        default_factory=dict, description="prometheus-adapter configuration"
    )
    keda: ScaledObjectSpec | None = Field(
        None,
        description="a KEDA ScaledObject spec instead of hpa (+ adapter): KEDA's operator loop "
        "and metrics server drive the HPA it generates",
    )
    controller: ControllerFlags = Field(default_factory=ControllerFlags, description="flags")
    prometheus: PrometheusSettings = Field(
        default_factory=PrometheusSettings,
        description="Prometheus settings",
    )
    app: AppSettings = Field(default_factory=AppSettings, description="sample app")
    target: TargetSpec | None = Field(
        None, description="an existing workload on the cluster instead of the sample app"
    )
    load: LoadSettings = Field(description="the offered load")
    phases: Phases = Field(default_factory=Phases, description="warm-up and cool-down")
    slo: SLO = Field(default_factory=SLO, description="service level objective")
    events: list[Event] = Field(
        default_factory=list,
        description="timed faults inside each trial (killPods, prometheusOutage, ...); `at` "
        "counts from the start of the load phase",
    )
    seed: int = Field(1, description="seed of the trial order and of Poisson arrivals")
    repetitions: int = Field(1, ge=1, le=100, description="trials per variant")
    baseline: str | None = Field(
        None, description="variant the others are compared with; default: the first"
    )
    variants: list[Variant] = Field(default_factory=list, description="named variants")
    matrix: list[MatrixAxis] = Field(default_factory=list, description="cartesian product")

    _hpa_from_keda: bool = PrivateAttr(False)

    @model_validator(mode="before")
    @classmethod
    def _hpa_of_keda(cls, data: Any) -> Any:
        """With ``keda``, ``hpa`` is the HPA KEDA generates; writing both is a mistake."""
        if not isinstance(data, dict) or data.get("keda") is None:
            return data
        if data.get("hpa") is not None:
            raise ValueError(
                "hpa and keda are both set: KEDA generates the HPA from keda (in a variant "
                "that switches to KEDA, add hpa: null to its patch)"
            )
        try:
            hpa = generated_hpa_spec(SCALED_OBJECT_NAME, data["keda"])
        except (ValueError, TypeError, AttributeError, KeyError):
            # keda itself is invalid: its problems are reported against spec.keda, and this
            # stand-in only lets the rest of the spec be checked in the same pass
            hpa = {"maxReplicas": 1, "metrics": [_STAND_IN_METRIC]}
        return {**data, "hpa": hpa}

    @model_validator(mode="after")
    def _phase_inside_the_period(self) -> ExperimentSpec:
        phase, period = self.phases.sync_phase, self.controller.sync_period
        if isinstance(phase, float) and phase >= period:
            raise ValueError(
                f"phases.syncPhase ({format_duration(phase)}) must be shorter than "
                f"controller.syncPeriod ({format_duration(period)}): it is a point in one period"
            )
        return self

    @model_validator(mode="after")
    def _faults_of_the_sample_app(self) -> ExperimentSpec:
        if self.app.command is None:
            return self
        for index, event in enumerate(self.events):
            if event.type in _SAMPLE_APP_FAULTS:
                raise ValueError(
                    f"events[{index}]: {event.type} is injected by the sample app, which "
                    "app.command replaces: remove the event or run the sample app"
                )
        return self

    @model_validator(mode="after")
    def _mark_generated(self) -> ExperimentSpec:
        self._hpa_from_keda = self.keda is not None
        return self

    @model_serializer(mode="wrap")
    def _without_generated_hpa(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if self._hpa_from_keda and isinstance(data, dict):
            data.pop("hpa", None)
        return data


_SAMPLE_APP_FAULTS = ("appSlowdown", "scrapeDelay")
"""Faults the sample app injects into itself (through its fault file)."""

_STAND_IN_METRIC = {
    "type": "Resource",
    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 100}},
}


class Experiment(Header):
    """A file of ``kind: Experiment``."""

    kind: Literal["Experiment"] = Field(description="Experiment")
    spec: ExperimentSpec = Field(description="the experiment")


def capacity_rps(spec: ExperimentSpec) -> float | None:
    """Requests/s one replica is meant to carry, for ``demand_replicas = ceil(offered /
    capacity)``: ``app.capacityRps`` when calibrated, else what the app's worker slots serve
    (``concurrency / (cpuPerRequest + latency)``), else the HPA target of the first Pods,
    Object or External metric with an ``AverageValue`` target (a per-replica rate). ``None``
    when none exists (a CPU utilisation target says nothing about requests/s).
    """
    if spec.app.capacity_rps:
        return float(spec.app.capacity_rps)
    slots = spec.app.slot_capacity_rps()
    if slots is not None:
        return slots
    for metric in spec.hpa.metrics:
        if metric.type not in ("Pods", "Object", "External"):
            continue
        target = metric.source().target  # type: ignore[union-attr]
        if target.type == "AverageValue" and target.average_value is not None:
            return float(parse_quantity_value(target.average_value))
    return None


def with_locustfile_under(spec: ExperimentSpec, base: Path) -> ExperimentSpec:
    """``spec`` with a relative ``load.locustfile`` made absolute under ``base`` (the
    experiment file's directory), so that the lock file finds it from anywhere."""
    locustfile = spec.load.locustfile
    if locustfile is None or Path(locustfile).is_absolute():
        return spec
    load = spec.load.model_copy(update={"locustfile": str((base / locustfile).resolve())})
    return spec.model_copy(update={"load": load})

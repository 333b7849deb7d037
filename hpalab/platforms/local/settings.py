"""Everything the local platform needs from an experiment, as plain values in seconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hpalab.autoscaling.hpa import ControllerConfig
from hpalab.autoscaling.hpa.versions import controller_config
from hpalab.platforms.local.replicas import Backoff, ProbeSettings, ReplicaTemplate
from hpalab.specs import ExperimentSpec, parse_quantity_value
from hpalab.specs.adapter import requests_per_second_config
from hpalab.specs.keda.problems import scaled_object_data


@dataclass(frozen=True, slots=True)
class LabSettings:
    """The local stack's configuration for one variant (all durations in seconds)."""

    template: ReplicaTemplate = field(default_factory=ReplicaTemplate)
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    initial_replicas: int = 1
    ready_timeout_s: float = 120.0
    """How long the replicas may take to become Ready (``spec.app.startupTimeout``)."""
    grace_s: float = 30.0
    """terminationGracePeriodSeconds: drain plus SIGTERM time before SIGKILL."""
    scrape_interval_s: float = 15.0
    evaluation_interval_s: float = 15.0
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    hpa: dict[str, Any] | None = None
    """autoscaling/v2 HorizontalPodAutoscalerSpec (camelCase, no scaleTargetRef); ``None``
    runs the replicas without an HPA."""
    adapter: dict[str, Any] = field(default_factory=dict)
    """prometheus-adapter configuration (``rules``, ``externalRules``, ...)."""
    namespace: str = "default"
    metric_resolution_s: float = 15.0
    """metrics-server's ``--metric-resolution``: the CPU usage window."""
    relist_interval_s: float = 10.0
    """prometheus-adapter's ``--metrics-relist-interval``: how often series are rediscovered."""
    backoff: Backoff = field(default_factory=Backoff)
    prometheus_restart_delay_s: float = 10.0
    """How long a crashed Prometheus stays down before it is restarted."""
    keda: dict[str, Any] | None = None
    """A KEDA ScaledObject spec (YAML spellings): KEDA's operator loop and metrics server run
    next to the HPA it generates (``hpa``)."""


def settings_from_spec(spec: ExperimentSpec, **overrides: Any) -> LabSettings:
    """The settings of one resolved experiment; ``overrides`` replace any field by name."""
    app = spec.app
    cpu = app.resources.requests.cpu or "200m"
    flags = spec.controller
    values: dict[str, Any] = {
        "template": ReplicaTemplate(
            cpu_per_request_s=app.cpu_per_request,
            latency_s=app.latency,
            startup_delay_s=app.startup_delay,
            cpu_request_millicores=float(parse_quantity_value(cpu) * 1000),
            shutdown_timeout_s=app.termination_grace_period,
            concurrency=app.concurrency or 0,
            queue_limit=app.queue_limit,
            command=tuple(app.command or ()),
            readiness_path=app.readiness_path,
            metrics_path=app.metrics_path,
        ),
        "ready_timeout_s": app.startup_timeout,
        "probe": ProbeSettings(
            period_s=app.readiness_probe.period,
            timeout_s=app.readiness_probe.timeout,
            success_threshold=app.readiness_probe.success_threshold,
            failure_threshold=app.readiness_probe.failure_threshold,
        ),
        "initial_replicas": app.initial_replicas,
        "grace_s": app.termination_grace_period,
        "scrape_interval_s": spec.prometheus.scrape_interval,
        "evaluation_interval_s": spec.prometheus.evaluation_interval,
        "controller": controller_config(flags),
        "hpa": spec.hpa.to_kubernetes(),
        "adapter": dict(spec.adapter),
        "keda": None if spec.keda is None else scaled_object_data(spec.keda),
    }
    values.update(overrides)
    return LabSettings(**values)


DEFAULT_HPA: dict[str, Any] = {
    "minReplicas": 1,
    "maxReplicas": 10,
    "metrics": [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80},
            },
        }
    ],
}
"""The HPA of a lab started without an experiment: CPU at 80 % of the request."""

DEFAULT_ADAPTER: dict[str, Any] = requests_per_second_config()
"""The adapter rules of a lab started without an experiment: ``http_requests_per_second``."""


def default_settings() -> LabSettings:
    """A lab without an experiment: one replica (2 ms CPU per request), CPU-based HPA."""
    return LabSettings(
        template=ReplicaTemplate(cpu_per_request_s=0.002, startup_delay_s=0.0),
        hpa=DEFAULT_HPA,
        adapter=DEFAULT_ADAPTER,
    )

"""The embedded HPA engine: decides like the Kubernetes autoscaling/v2 HPA controller.

Public API::

    from hpalab.autoscaling.hpa import HPAController, ControllerConfig, MetricsSnapshot, Pod

    controller = HPAController(hpa_spec_dict, ControllerConfig(tolerance=0.1))
    result = controller.sync(now_s, spec_replicas=3, pods=pods, metrics=snapshot)
    result.desired_replicas, result.status, result.events

Pure code: no I/O, no clock (``now_s`` is passed in).
"""

from hpalab.autoscaling.hpa.controller import HPAController
from hpalab.autoscaling.hpa.evaluate import MetricsSnapshot
from hpalab.autoscaling.hpa.model import (
    Container,
    ContainerUsage,
    ControllerConfig,
    FetchFailure,
    HPASpec,
    Pod,
    PodResourceMetrics,
    Tolerances,
)
from hpalab.autoscaling.hpa.spec import parse_hpa_spec
from hpalab.autoscaling.hpa.status import SyncResult

__all__ = [
    "Container",
    "ContainerUsage",
    "ControllerConfig",
    "FetchFailure",
    "HPAController",
    "HPASpec",
    "MetricsSnapshot",
    "Pod",
    "PodResourceMetrics",
    "SyncResult",
    "Tolerances",
    "parse_hpa_spec",
]

"""Snapshots and fingerprints of the local stack, built from its parts' state."""

from __future__ import annotations

import os
import platform as host_platform
import socket
import sys
import time
from typing import Any

from hpalab import __version__
from hpalab.autoscaling.hpa.readout import first_metric
from hpalab.platforms.base import Snapshot
from hpalab.platforms.local.controlplane import ControlPlane
from hpalab.platforms.local.frontdoor import FrontDoor
from hpalab.platforms.local.prometheus import PrometheusServer, prometheus_version
from hpalab.platforms.local.settings import LabSettings
from hpalab.platforms.local.supervisor import Supervisor


def snapshot_of(
    supervisor: Supervisor, control: ControlPlane | None, settings: LabSettings
) -> Snapshot:
    """The stack's state now (call on the supervisor's event loop)."""
    everyone = [*supervisor.replicas.values(), *supervisor.terminating.values()]
    status: dict[str, Any] = {}
    if control is not None and control.last is not None:
        status = dict(control.last.status)
    value, target = first_metric(status, settings.hpa)
    return Snapshot(
        t=time.time(),
        spec_replicas=supervisor.desired,
        desired_replicas=int(status.get("desiredReplicas", supervisor.desired)),
        ready_replicas=supervisor.ready_count,
        pods=tuple(r.status() for r in everyone),
        hpa=status,
        metric_value=value,
        metric_target=target,
    )


def fingerprint(
    settings: LabSettings, prometheus: PrometheusServer | None, frontdoor: FrontDoor | None
) -> dict[str, Any]:
    """What results of the local platform depend on."""
    flags = settings.controller
    return {
        "platform": "local",
        "hpalab": __version__,
        "python": sys.version.split()[0],
        "prometheus": prometheus_version(prometheus.binary) if prometheus else None,
        "front_door": f"haproxy {_haproxy_version(frontdoor)}" if frontdoor else None,
        "controller": {
            "sync_period_s": flags.sync_period_s,
            "tolerance": flags.tolerance,
            "downscale_stabilization_s": flags.downscale_stabilization_window_s,
            "initial_readiness_delay_s": flags.initial_readiness_delay_s,
            "cpu_initialization_period_s": flags.cpu_initialization_period_s,
        },
        "metrics_server": {"metric_resolution_s": settings.metric_resolution_s},
        "adapter": {"relist_interval_s": settings.relist_interval_s},
        "prometheus_scrape_interval_s": settings.scrape_interval_s,
        "host": {
            "name": socket.gethostname(),
            "os": f"{host_platform.system()} {host_platform.release()}",
            "machine": host_platform.machine(),
            "cpus": os.cpu_count(),
        },
    }


def _haproxy_version(frontdoor: FrontDoor) -> str:
    info = frontdoor.command_sync("show info")
    for line in info.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return "unknown"

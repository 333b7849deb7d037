"""Replicas of the sample app: their settings, names, state, and which one to remove first."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
from dataclasses import asdict, dataclass

from hpalab.platforms.base import PodStatus

_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes uses for names


@dataclass(frozen=True, slots=True)
class ReplicaTemplate:
    """What every replica runs (the pod template of the Deployment)."""

    cpu_per_request_s: float = 0.0
    """CPU busy-work per ``GET /``, seconds."""
    latency_s: float = 0.0
    """Extra asynchronous wait per ``GET /``, seconds."""
    startup_delay_s: float = 0.0
    """Seconds from process start until ``/readyz`` answers 200."""
    cpu_request_millicores: float = 200.0
    """The container's CPU request, the denominator of CPU utilization."""
    shutdown_timeout_s: float = 30.0
    """How long the app lets in-flight requests finish after SIGTERM."""
    fault_file: str = ""
    """The JSON file through which the platform injects slowdowns; empty: none."""
    concurrency: int = 0
    """Worker slots per replica; 0 for no limit."""
    queue_limit: int | None = None
    """Requests that may wait for a slot before 503; None for no limit."""
    command: tuple[str, ...] = ()
    """The user's own program instead of the sample app (``spec.app.command``); empty: the
    sample app, configured by the fields above."""
    readiness_path: str = "/readyz"
    """Path of the readiness probe."""
    metrics_path: str = "/metrics"
    """Path Prometheus scrapes."""

    def template_hash(self) -> str:
        """A stable 10-character hash, like a Deployment's ``pod-template-hash``."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    def argv(self, *, port: int, pod: str) -> list[str]:
        """The command that runs one replica listening on 127.0.0.1:``port``."""
        if self.command:
            values = {"{port}": str(port), "{pod}": pod, "{python}": sys.executable}
            return [_substituted(part, values) for part in self.command]
        return [
            sys.executable,
            "-m",
            "hpalab.sampleapp",
            "--port",
            str(port),
            "--cpu-per-request",
            repr(self.cpu_per_request_s),
            "--latency",
            repr(self.latency_s),
            "--startup-delay",
            repr(self.startup_delay_s),
            "--shutdown-timeout",
            repr(self.shutdown_timeout_s),
            "--pod-name",
            pod,
            *(["--fault-file", self.fault_file] if self.fault_file else []),
            "--concurrency",
            str(self.concurrency),
            *(["--queue-limit", str(self.queue_limit)] if self.queue_limit is not None else []),
        ]

    def environment(self, *, port: int, pod: str) -> dict[str, str] | None:
        """The environment of one replica of the user's program (``PORT``, ``POD_NAME``);
        ``None`` (this process's environment) for the sample app."""
        if not self.command:
            return None
        return {**os.environ, "PORT": str(port), "POD_NAME": pod}


def _substituted(part: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        part = part.replace(placeholder, value)
    return part


def pod_name(template: ReplicaTemplate, *, app: str = "sample-app") -> str:
    """``sample-app-<template hash>-<5 random characters>``, as a Deployment names pods."""
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
    return f"{app}-{template.template_hash()}-{suffix}"


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    """The readiness probe, with the kubelet's semantics and defaults."""

    period_s: float = 1.0
    """Seconds between probes (``periodSeconds``; the kubelet's default is 10)."""
    timeout_s: float = 1.0
    """Seconds before a probe counts as failed (``timeoutSeconds``)."""
    success_threshold: int = 1
    """Consecutive successes that make a replica Ready (``successThreshold``)."""
    failure_threshold: int = 3
    """Consecutive failures that make a Ready replica unready (``failureThreshold``)."""

    def __post_init__(self) -> None:
        if not (self.period_s > 0 and self.timeout_s > 0):
            raise ValueError("probe period and timeout must be > 0 seconds")
        if self.success_threshold < 1 or self.failure_threshold < 1:
            raise ValueError("probe thresholds must be ≥ 1")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Restart delay after a crash: immediate the first time, then doubling up to a cap.

    As the kubelet's CrashLoopBackOff, the doubling starts over for a container that ran
    ``reset_after_s`` without crashing.
    """

    base_s: float = 10.0
    cap_s: float = 300.0
    reset_after_s: float = 600.0

    def delay_s(self, restarts: int) -> float:
        """Seconds to wait before restart number ``restarts + 1`` (``restarts`` ≥ 0)."""
        if restarts <= 0:
            return 0.0
        return float(min(self.cap_s, self.base_s * 2 ** (restarts - 1)))


@dataclass(slots=True)
class Replica:
    """One replica's mutable state, owned by the supervisor."""

    name: str
    port: int
    created_at: float
    proc: subprocess.Popen[bytes] | None = None
    started_at: float | None = None
    ready_at: float | None = None
    ready_changed_at: float | None = None
    """Last change of the Ready condition (its ``lastTransitionTime``)."""
    terminating_at: float | None = None
    restarts: int = 0
    crash_streak: int = 0
    """Crashes since the replica last ran ``Backoff.reset_after_s`` without one."""
    restart_at: float | None = None
    """When a crashed replica is due to restart (wall clock); ``None`` when running."""
    successes: int = 0
    failures: int = 0
    next_probe_at: float = 0.0
    probing: bool = False

    @property
    def ready(self) -> bool:
        return self.ready_at is not None

    def set_ready(self, ready: bool, now: float) -> None:
        """Flip the Ready condition at ``now``; a no-op when it already has that value."""
        if ready != self.ready:
            self.ready_at = now if ready else None
            self.ready_changed_at = now

    @property
    def pid(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None
        return self.proc.pid

    @property
    def phase(self) -> str:
        if self.terminating_at is not None:
            return "Terminating"
        if self.restart_at is not None:
            return "CrashLoopBackOff"
        return "Running" if self.pid is not None else "Pending"

    def status(self) -> PodStatus:
        return PodStatus(
            name=self.name,
            phase=self.phase,
            ready=self.ready,
            restarts=self.restarts,
            created_at=self.created_at,
            started_at=self.started_at,
            ready_at=self.ready_at,
            terminating_at=self.terminating_at,
        )


def removal_order(replicas: list[Replica]) -> list[Replica]:
    """Replicas in the order a ReplicaSet deletes them when scaling down.

    As Kubernetes ranks them: not yet running before running, unready before Ready, Ready for a
    shorter time before longer, more restarts before fewer, newer before older.
    """

    def rank(r: Replica) -> tuple[int, int, float, int, float]:
        return (
            r.pid is not None,
            r.ready,
            -(r.ready_at or 0.0),
            -r.restarts,
            -r.created_at,
        )

    return sorted(replicas, key=rank)

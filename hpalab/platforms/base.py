"""The interface every platform implements, and the plain data it returns.

A platform owns a running autoscaling stack: the sample app's replicas, Prometheus, the metrics
pipeline and an HPA. The run orchestration drives it through this small interface only::

    with platform:                        # starts the stack; always cleans up, even on Ctrl-C
        platform.apply_variant(spec)      # the resolved experiment of one variant
        platform.reset()                  # initial replicas, fresh HPA history, all Ready
        url = platform.load_url           # where the load generator sends its requests
        snapshot = platform.observe()     # once a second
        events = platform.drain_events()  # what happened since the last call

Times are wall-clock seconds since the epoch (``time.time()``), so events from the platform,
the load generator and Prometheus line up.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

from hpalab.errors import PlatformError


@dataclass(frozen=True, slots=True)
class PlatformEvent:
    """One thing that happened, as a row of ``events.csv`` before it gets a trial time."""

    t: float
    """Wall-clock time of the event, seconds since the epoch."""
    kind: str
    """One of ``hpalab.results.schema.EVENT_KINDS``."""
    object: str
    """The object concerned: a pod name, ``hpa/<name>``, ``prometheus``."""
    detail: dict[str, Any] = field(default_factory=dict)
    """The event's fields (JSON-serialisable)."""


@dataclass(frozen=True, slots=True)
class PodStatus:
    """One replica as ``kubectl get pod`` would show it, with its lifecycle timestamps."""

    name: str
    phase: str
    """``Pending``, ``Running``, ``Terminating`` or ``CrashLoopBackOff``."""
    ready: bool
    restarts: int = 0
    created_at: float | None = None
    started_at: float | None = None
    ready_at: float | None = None
    terminating_at: float | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state of the stack at one instant."""

    t: float
    """Wall-clock time of the observation, seconds since the epoch."""
    spec_replicas: int
    """Replicas the workload is asked to run (the scale subresource's ``spec.replicas``)."""
    desired_replicas: int
    """The HPA's ``status.desiredReplicas`` (equals ``spec_replicas`` without an HPA)."""
    ready_replicas: int
    """Replicas passing their readiness probe."""
    pods: tuple[PodStatus, ...] = ()
    hpa: dict[str, Any] = field(default_factory=dict)
    """The HPA ``status`` as ``kubectl get hpa -o json`` shows it (camelCase keys:
    ``currentReplicas``, ``desiredReplicas``, ``currentMetrics``, ``conditions``,
    ``lastScaleTime``); empty when no HPA is configured."""
    metric_value: float | None = None
    """The first HPA metric's current value as the metrics API serves it (``None`` when
    unavailable), in the metric's own unit (CPU utilization in percent)."""
    metric_target: float | None = None
    """The first HPA metric's target, same unit as ``metric_value``."""


class Platform(ABC):
    """A running autoscaling stack. A context manager that always stops what it started."""

    name: ClassVar[str]
    """``local`` or ``kubernetes``."""

    @abstractmethod
    def start(self) -> None:
        """Bring the stack up and return once it is ready to take load.

        Raises:
            PrerequisiteError: something the platform needs is missing (exit 2, nothing left
                running).
            PlatformError: a part failed to start (everything started so far is stopped).
        """

    @abstractmethod
    def stop(self) -> None:
        """Stop everything this platform started. Safe to call twice and after a failed start."""

    @abstractmethod
    def apply_variant(self, spec: Any) -> None:
        """Reconfigure for one resolved experiment (``hpalab.specs`` ``Experiment``): app
        behaviour, Prometheus intervals, adapter rules, controller flags and the HPA spec."""

    @abstractmethod
    def reset(self) -> None:
        """Return to the start of a trial: ``spec.app.initialReplicas`` replicas, all Ready, a
        fresh HPA (no recommendation or scale-event history)."""

    @property
    @abstractmethod
    def load_url(self) -> str:
        """Base URL the load generator sends requests to (only Ready replicas get them)."""

    @property
    @abstractmethod
    def prometheus_url(self) -> str:
        """Base URL of the Prometheus that scrapes the sample app."""

    @abstractmethod
    def observe(self) -> Snapshot:
        """The current state; cheap enough to call every second."""

    @abstractmethod
    def drain_events(self) -> list[PlatformEvent]:
        """Events since the previous call, oldest first; each event is returned once."""

    @abstractmethod
    def fingerprint(self) -> dict[str, Any]:
        """What the results depend on: component versions, controller flags, host."""

    def start_fault(self, event: Any) -> dict[str, Any]:
        """Inject one fault of ``spec.events`` (an ``hpalab.specs.events`` model) now.

        Returns the fields recorded with its ``fault_injected`` event (the pods killed, ...).
        The platform takes every fault back by itself on :meth:`reset` and :meth:`stop`.

        Raises:
            PlatformError: this platform cannot inject it (validation refuses such
                experiments first; see ``hpalab.specs.events.PLATFORM_SUPPORT``).
        """
        raise PlatformError(f"the {self.name} platform cannot inject {event.type}")

    def end_fault(self, event: Any) -> dict[str, Any]:
        """Take back a fault :meth:`start_fault` injected; the fields of ``fault_cleared``."""
        raise PlatformError(f"the {self.name} platform cannot inject {event.type}")

    def sync_anchor(self) -> tuple[float, float] | None:
        """``(t, period)``: the wall-clock time of one sync of the HPA the last :meth:`reset`
        created, and its sync period; the controller syncs at ``t + k * period``. The run
        starts each trial's load at the experiment's phase of that cycle
        (``spec.phases.syncPhase``). ``None`` (the default): not known, the load is not
        aligned."""
        return None

    def use_run_dir(self, path: Path) -> None:  # noqa: B027 - optional, does nothing by default
        """The run directory, known before :meth:`start`: a platform that changes objects it
        did not create saves them there first (see ``hpalab restore``)."""

    def interrupt(self) -> None:  # noqa: B027 - an optional hook with a do-nothing default
        """Ask a long call in progress (a reset waiting for replicas) to give up soon with a
        :class:`~hpalab.errors.PlatformError`. Called from a signal handler: it must only set
        a flag. The default does nothing; such calls then end at their own timeout."""

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

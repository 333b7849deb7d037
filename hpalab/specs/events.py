"""``spec.events``: timed faults inside each trial, and the checks a timeline of them needs.

Every event has ``at``, seconds from the start of the load phase (the ``t_s`` of the run
directory). Outages last ``duration``; ``killPods`` is instantaneous. Which platform can inject
which fault is data (:data:`PLATFORM_SUPPORT`), so validation can refuse an experiment before
anything starts, naming the event and the platform.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field, model_validator

from hpalab.specs.base import SpecModel
from hpalab.specs.units import Duration, format_duration

Problem = tuple[tuple[str | int, ...], str, str | None]
"""A problem found in ``spec.events``: (path under spec, message, hint)."""


class _Timed(SpecModel):
    at: Duration = Field(description="start, counted from the start of the load phase")


class _Outage(_Timed):
    duration: Duration = Field(gt=0, description="how long the fault lasts")


class KillPods(_Timed):
    """SIGKILL some replicas at once, as a node losing them: the ReplicaSet replaces them."""

    type: Literal["killPods"] = Field(description="killPods")
    count: int | None = Field(None, ge=1, description="number of replicas to kill")
    fraction: float | None = Field(
        None, gt=0, le=1, description="share of the replicas to kill, rounded up (0 < f ≤ 1)"
    )

    @model_validator(mode="after")
    def _one_amount(self) -> KillPods:
        if (self.count is None) == (self.fraction is None):
            raise ValueError("give exactly one of count or fraction")
        return self


class PrometheusOutage(_Outage):
    """Prometheus is down: no scrapes, no queries; the adapter's queries fail."""

    type: Literal["prometheusOutage"] = Field(description="prometheusOutage")


class AdapterOutage(_Outage):
    """The custom and external metrics APIs answer 503, as the aggregator does for a dead
    adapter; resource metrics (metrics-server) are unaffected."""

    type: Literal["adapterOutage"] = Field(description="adapterOutage")


class MetricsServerOutage(_Outage):
    """The resource metrics API (metrics.k8s.io) answers 503: CPU and memory targets fail."""

    type: Literal["metricsServerOutage"] = Field(description="metricsServerOutage")


class ScrapeDelay(_Outage):
    """The targets answer ``/metrics`` slowly; a delay beyond the scrape timeout fails the
    scrape (``up == 0``)."""

    type: Literal["scrapeDelay"] = Field(description="scrapeDelay")
    delay: Duration = Field(gt=0, description="extra time before each /metrics response")


class AppSlowdown(_Outage):
    """Every request takes longer: extra waiting (latency) and/or extra CPU work."""

    type: Literal["appSlowdown"] = Field(description="appSlowdown")
    latency: Duration = Field(0.0, description="extra non-CPU wait per request")
    cpu: Duration = Field(0.0, description="extra CPU work per request (seconds of one core)")

    @model_validator(mode="after")
    def _some_slowdown(self) -> AppSlowdown:
        if self.latency <= 0 and self.cpu <= 0:
            raise ValueError("give latency and/or cpu greater than 0")
        return self


class NetworkDelay(_Outage):
    """Delay on the TCP traffic Prometheus opens to the targets (needs the node's network)."""

    type: Literal["networkDelay"] = Field(description="networkDelay")
    delay: Duration = Field(gt=0, description="added delay, each way")
    jitter: Duration = Field(0.0, description="random variation of the delay")


AnyEvent = (
    KillPods
    | PrometheusOutage
    | AdapterOutage
    | MetricsServerOutage
    | ScrapeDelay
    | AppSlowdown
    | NetworkDelay
)
Event = Annotated[AnyEvent, Field(discriminator="type")]

COMPONENT: dict[str, str] = {
    "killPods": "pods",
    "prometheusOutage": "prometheus",
    "adapterOutage": "adapter",
    "metricsServerOutage": "metrics-server",
    "scrapeDelay": "targets",
    "appSlowdown": "app",
    "networkDelay": "network",
}
"""The component each event type acts on: two faults of one component must not overlap."""

PLATFORM_SUPPORT: dict[str, dict[str, str]] = {
    "local": {
        "networkDelay": "the local platform runs every process in one network namespace, so "
        "there is no link to delay; run it on hpalab cluster",
    },
    "kubernetes": {
        "prometheusOutage": "only on a cluster whose node hpalab runs (`hpalab cluster`), "
        "where Prometheus' pod is cut off the network; elsewhere stopping it would lose its data "
        "(an emptyDir)",
        "networkDelay": "only on a cluster whose node hpalab runs (`hpalab cluster`), where the "
        "node's network carries the delay",
    },
    "hpalab-cluster": {},
}
"""Platform → event type → why that platform cannot inject it (absent: supported).
``hpalab-cluster`` is the kubernetes platform on a cluster ``hpalab cluster`` made."""


def event_end(event: AnyEvent) -> float:
    """When the fault ends, seconds since the load phase began (``at`` for instant ones)."""
    return event.at + float(getattr(event, "duration", 0.0))


def event_problems(events: Sequence[AnyEvent], *, trial_end_s: float) -> list[Problem]:
    """Timing problems: events after the trial's end, and overlapping faults of one component.

    ``trial_end_s`` is the end of the cool-down, in seconds since the load phase began.
    """
    problems: list[Problem] = []
    for index, event in enumerate(events):
        where: tuple[str | int, ...] = ("events", index)
        end = event_end(event)
        if event.at >= trial_end_s:
            problems.append(
                (
                    (*where, "at"),
                    f"{event.type} at {format_duration(event.at)} is after the trial ends "
                    f"({format_duration(trial_end_s)} after the load phase began)",
                    "start the event earlier, or lengthen the profile or phases.cooldown",
                )
            )
        elif end > trial_end_s:
            problems.append(
                (
                    (*where, "duration"),
                    f"{event.type} lasts until {format_duration(end)}, after the trial ends "
                    f"at {format_duration(trial_end_s)}",
                    "shorten the duration so the fault ends inside the trial",
                )
            )
    problems += _overlaps(events)
    return problems


def _overlaps(events: Sequence[AnyEvent]) -> list[Problem]:
    problems: list[Problem] = []
    for index, event in enumerate(events):
        for earlier in range(index):
            other = events[earlier]
            if COMPONENT[other.type] != COMPONENT[event.type]:
                continue
            if event.at < event_end(other) and other.at < event_end(event):
                problems.append(
                    (
                        ("events", index, "at"),
                        f"{event.type} at {format_duration(event.at)} overlaps events[{earlier}] "
                        f"({other.type} from {format_duration(other.at)} to "
                        f"{format_duration(event_end(other))}) on the same component "
                        f"({COMPONENT[event.type]})",
                        "make one fault end before the next one of that component begins, "
                        "or merge them into one event",
                    )
                )
    return problems


def platform_problems(events: Sequence[AnyEvent], platform: str) -> list[Problem]:
    """Events ``platform`` cannot inject, each with the reason."""
    refused = PLATFORM_SUPPORT.get(platform, {})
    return [
        (
            ("events", index, "type"),
            f"the {platform} platform cannot inject {event.type}: {refused[event.type]}",
            "remove the event or run on another platform; docs/faults.md lists what each supports",
        )
        for index, event in enumerate(events)
        if event.type in refused
    ]


def slowdown_fields(event: AnyEvent) -> dict[str, float] | None:
    """What a ``scrapeDelay`` or ``appSlowdown`` sets in the app's fault file (seconds);
    ``None`` for the other types."""
    if isinstance(event, ScrapeDelay):
        return {"metrics_delay_s": event.delay}
    if isinstance(event, AppSlowdown):
        return {"latency_s": event.latency, "cpu_s": event.cpu}
    return None


def killed_count(event: KillPods, replicas: int) -> int:
    """How many of ``replicas`` a ``killPods`` event kills (a fraction rounds up, at least 1
    when there is any replica)."""
    if replicas <= 0:
        return 0
    if event.count is not None:
        return min(event.count, replicas)
    assert event.fraction is not None
    return min(replicas, max(1, math.ceil(event.fraction * replicas - 1e-9)))

"""KEDA on the local platform: its scalers, its metrics server and its operator loop.

One :class:`KedaScaledObject` runs the ScaledObject of a ``spec.keda`` variant the way KEDA
v2.20.2 runs it, with the pure engine of :mod:`hpalab.autoscaling.keda`:

- **metrics server**: each HPA sync reads every ``s<i>-prometheus`` metric through
  :meth:`hpa_read`: one instant query against the lab's real Prometheus (or the value of the
  last poll with ``useCachedMetrics``), KEDA's three-decimal quantity, fallback bookkeeping;
- **operator loop**: every ``pollingInterval`` :meth:`poll_once` reads every trigger, decides
  activity and lets the scale executor write the replica count at the 0/idle boundary
  (activation 0 -> 1, scale to zero or idle after ``cooldownPeriod``);
- a failing read is retried once, as KEDA does with a rebuilt scaler.

``serverAddress`` is replaced by the lab's Prometheus and ``scaleTargetRef`` is the sample app.
Events: ``keda_activation``, ``keda_deactivation``, ``keda_fallback`` (a metric switched to or
from its fallback value) and ``keda_poll`` when the executor did anything else than keep going.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from hpalab.autoscaling.hpa import FetchFailure
from hpalab.autoscaling.keda import (
    Health,
    PrometheusReadError,
    ScaledObjectState,
    TriggerState,
    combine,
    poll_step,
    read_response,
    read_with_fallback,
)
from hpalab.autoscaling.keda.activation import Step
from hpalab.platforms.base import PlatformEvent
from hpalab.platforms.local.supervisor import Supervisor
from hpalab.specs.keda.admission import modifiers
from hpalab.specs.keda.generated import external_metric_name
from hpalab.specs.keda.metadata import PrometheusConfig, parse_prometheus

DEFAULT_TIMEOUT_S = 3.0  # KEDA_HTTP_DEFAULT_TIMEOUT
WATCH_PERIOD_S = 1.0
OBJECT = "scaledobject/sample-app"
_ACTION_EVENTS = {"activate": "keda_activation", "deactivate": "keda_deactivation"}
_QUIET_ACTIONS = {"keep_active", "none", "cooling_down"}


@dataclass(frozen=True, slots=True)
class Trigger:
    """One prometheus trigger as the local KEDA runs it."""

    index: int
    config: PrometheusConfig
    metric_type: str
    use_cached: bool

    @property
    def metric(self) -> str:
        return external_metric_name(self.index)


@dataclass(slots=True)
class Read:
    """One trigger read: the raw value or the error, and what the HPA gets."""

    value: float | None
    error: str | None
    milli: int | None
    fallback_active: bool


class KedaScaledObject:
    """The ScaledObject of one KEDA variant, run against the lab's supervisor and Prometheus."""

    def __init__(
        self,
        scaled_object: Mapping[str, Any],
        *,
        supervisor: Supervisor,
        prometheus_url: Callable[[], str],
        events: deque[PlatformEvent],
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.spec = dict(scaled_object)
        self.state = ScaledObjectState.from_spec(self.spec)
        self.polling_interval_s = float(self.spec.get("pollingInterval", 30))
        self.triggers = [
            Trigger(
                index,
                parse_prometheus(trigger.get("metadata") or {}),
                str(trigger.get("metricType") or "AverageValue"),
                bool(trigger.get("useCachedMetrics")),
            )
            for index, trigger in enumerate(self.spec.get("triggers") or [])
            if trigger.get("type") == "prometheus"
        ]
        self.resource_triggers = [
            str(t.get("type"))
            for t in self.spec.get("triggers") or []
            if t.get("type") != "prometheus"
        ]
        self.supervisor = supervisor
        self.prometheus_url = prometheus_url
        self.events = events
        self.clock = clock
        self._http = httpx.AsyncClient(transport=transport)
        self.reset()

    def reset(self) -> None:
        """A new ScaledObject: created now, never active, healthy, no cached values."""
        self.created_at = self.clock()
        self.last_active_at: float | None = None
        self.health: dict[str, Health] = {}
        self.cache: dict[str, Read] = {}
        self.falling_back: set[str] = set()
        self.last_step: Step | None = None
        self.active_since: float | None = None

    async def close(self) -> None:
        await self._http.aclose()

    def serves(self, metric: str) -> bool:
        """Whether ``metric`` is one of this ScaledObject's External metrics."""
        return any(t.metric == metric for t in self.triggers)

    # -- reads -----------------------------------------------------------------------------

    async def _query(self, trigger: Trigger, now: float) -> float:
        """``ExecutePromQuery`` against the lab's Prometheus; raises PrometheusReadError."""
        config = trigger.config
        params = {
            "query": config.query,
            # KEDA asks for "now" in RFC 3339, whole seconds
            "time": datetime.fromtimestamp(math.floor(now), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if config.namespace:
            params["namespace"] = config.namespace
        params.update(config.query_parameters)
        timeout = config.timeout_ms / 1000.0 if config.timeout_ms > 0 else DEFAULT_TIMEOUT_S
        try:
            response = await self._http.get(
                self.prometheus_url() + "/api/v1/query",
                params=params,
                headers=config.custom_headers,
                timeout=timeout,
            )
        except httpx.HTTPError as error:
            raise PrometheusReadError("http", f"{type(error).__name__}: {error}") from error
        return read_response(
            response.status_code,
            response.text,
            ignore_null_values=config.ignore_null_values,
            query=config.query,
        )

    async def _read(self, trigger: Trigger, now: float) -> Read:
        """One read with KEDA's single retry and the fallback bookkeeping."""
        value: float | None = None
        error: str | None = None
        for _attempt in range(2):
            try:
                value, error = await self._query(trigger, now), None
                break
            except PrometheusReadError as failure:
                error = failure.message
        ready = sum(1 for r in self.supervisor.replicas.values() if r.ready)
        outcome = read_with_fallback(
            fallback=self.spec.get("fallback"),
            modifiers=modifiers(self.spec),
            health=self.health.get(trigger.metric),
            other_health={k: v for k, v in self.health.items() if k != trigger.metric},
            scaler_error=error,
            metric_value=value,
            metric_type=trigger.metric_type,
            threshold=trigger.config.threshold,
            current_replicas=self.supervisor.desired,
            ready_replicas=ready,
        )
        if outcome.health is not None:
            self.health[trigger.metric] = outcome.health
        self._note_fallback(trigger, active=outcome.fallback_active, now=now, error=error)
        milli = outcome.metric.milli if outcome.metric is not None else None
        return Read(value, outcome.error_message, milli, outcome.fallback_active)

    def _note_fallback(
        self, trigger: Trigger, *, active: bool, now: float, error: str | None
    ) -> None:
        if active == (trigger.metric in self.falling_back):
            return
        if active:
            self.falling_back.add(trigger.metric)
        else:
            self.falling_back.discard(trigger.metric)
        health = self.health.get(trigger.metric)
        detail = {
            "metric": trigger.metric,
            "state": "on" if active else "off",
            "failures": health.failures if health else 0,
            "error": error,
        }
        self.events.append(PlatformEvent(now, "keda_fallback", OBJECT, detail))

    async def hpa_read(self, metric: str, now: float) -> list[int] | FetchFailure:
        """What KEDA's metrics server answers the HPA for ``metric`` (one value, milli)."""
        if self.supervisor.desired == 0:
            # the HPA is ScalingDisabled at zero replicas and asks for no metrics
            return FetchFailure("the HPA does not read metrics while the target has 0 replicas")
        trigger = next(t for t in self.triggers if t.metric == metric)
        cached = self.cache.get(metric) if trigger.use_cached else None
        read = cached if cached is not None else await self._read(trigger, now)
        if read.milli is None:
            return FetchFailure(
                f"unable to get external metric default/{metric}/&LabelSelector{{MatchLabels:"
                f"map[string]string{{scaledobject.keda.sh/name: sample-app,}},}}: {read.error}"
            )
        return [read.milli]

    # -- the operator loop -----------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every ``pollingInterval`` until ``stop``; a failing poll is recorded.

        Between polls, while an activation is possible, the triggers are also watched every
        second (measurement only, nothing acts on it) so that the activation event can say
        how long the poll kept the app waiting.
        """
        next_poll = time.monotonic()
        while not stop.is_set():
            if time.monotonic() >= next_poll:
                next_poll += self.polling_interval_s
                try:
                    await self.poll_once()
                except Exception as error:
                    detail = {"error": repr(error)}
                    self.events.append(PlatformEvent(self.clock(), "fault", OBJECT, detail))
            elif self._activation_possible():
                with contextlib.suppress(PrometheusReadError):
                    await self.watch_once()
            wait = min(WATCH_PERIOD_S, max(0.0, next_poll - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

    def _activation_possible(self) -> bool:
        current, state = self.supervisor.desired, self.state
        below_min = state.idle_replica_count is not None and current < (
            state.min_replica_count or 0
        )
        return current == 0 or below_min

    async def watch_once(self) -> None:
        """Note when the triggers would first activate (no fallback, no action)."""
        now = self.clock()
        active = False
        for trigger in self.triggers:
            value = await self._query(trigger, now)
            active = active or value > trigger.config.activation_threshold
        if not active:
            self.active_since = None
        elif self.active_since is None:
            self.active_since = now

    async def poll_once(self) -> Step:
        """One poll: read every trigger, decide activity, let the executor act."""
        now = self.clock()
        states, reads = [], {}
        for trigger in self.triggers:
            read = await self._read(trigger, now)
            reads[trigger.metric] = read
            if read.milli is None:
                # v2.20.2 rebuilds the scalers on an error and loses every cached record
                self.cache.clear()
            elif trigger.use_cached:
                self.cache[trigger.metric] = read
            states.append(
                TriggerState(
                    value=read.value,
                    activation_threshold=trigger.config.activation_threshold,
                    error=read.milli is None,
                    fallback_active=read.fallback_active,
                )
            )
        states += [TriggerState(kind=kind) for kind in self.resource_triggers]
        is_active, is_error = combine(states)
        current = self.supervisor.desired
        step = poll_step(
            self.state,
            is_active=is_active,
            is_error=is_error,
            current_replicas=current,
            last_active_age_s=None if self.last_active_at is None else now - self.last_active_at,
            creation_age_s=now - self.created_at,
        )
        if step.last_active_updated:
            self.last_active_at = float(math.floor(now))  # status.lastActiveTime: seconds
        if step.action == "activate":
            since = self.active_since if self.active_since is not None else now
            self.active_since = None
            active_for = now - since
        else:
            active_for = None
        if step.replicas_after != current:
            self.supervisor.scale(step.replicas_after)
        self._record(step, now, current=current, reads=reads, active_for_s=active_for)
        self.last_step = step
        return step

    def _record(
        self,
        step: Step,
        now: float,
        *,
        current: int,
        reads: Mapping[str, Read],
        active_for_s: float | None,
    ) -> None:
        if step.action in _QUIET_ACTIONS and (
            self.last_step is None or self.last_step.action == step.action
        ):
            return
        detail = {
            "action": step.action,
            "from": current,
            "to": step.replicas_after,
            "active": step.is_active,
            "error": step.is_error,
            "values": {k: r.value for k, r in reads.items()},
            "polling_interval_s": self.polling_interval_s,
        }
        if active_for_s is not None:
            detail["active_for_s"] = round(active_for_s, 3)
        kind = _ACTION_EVENTS.get(step.action, "keda_poll")
        self.events.append(PlatformEvent(now, kind, OBJECT, detail))

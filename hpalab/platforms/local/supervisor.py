"""The replica supervisor: a Deployment controller and a kubelet for local processes.

It keeps ``desired`` replicas running as OS processes, probes their readiness like a kubelet,
restarts crashed ones with backoff, and removes replicas gracefully: stop routing to it, let
in-flight requests drain, SIGTERM, and SIGKILL after the grace period. Every step is recorded as
a :class:`~hpalab.platforms.base.PlatformEvent`.

All methods run on one asyncio event loop; ``clock`` gives wall-clock seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from hpalab.errors import PlatformError
from hpalab.platforms.base import PlatformEvent
from hpalab.platforms.local.ports import LOOPBACK, free_port, port_is_free
from hpalab.platforms.local.processes import signal_group, spawn
from hpalab.platforms.local.replicas import (
    Backoff,
    ProbeSettings,
    Replica,
    ReplicaTemplate,
    pod_name,
    removal_order,
)

TICK_S = 0.05


class Router(Protocol):
    """Where the supervisor tells the front door which replicas may get new requests."""

    async def route(self, pod: str, port: int) -> None: ...

    async def unroute(self, pod: str) -> None: ...

    async def in_flight(self, pod: str) -> int: ...


class NoRouter:
    """A router that routes nothing (a replica set without a front door)."""

    async def route(self, pod: str, port: int) -> None:
        return None

    async def unroute(self, pod: str) -> None:
        return None

    async def in_flight(self, pod: str) -> int:
        return 0


class Supervisor:
    """Keeps ``desired`` sample-app replicas running under ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        template: ReplicaTemplate,
        *,
        router: Router | None = None,
        probe: ProbeSettings | None = None,
        backoff: Backoff | None = None,
        grace_s: float = 30.0,
        on_change: Callable[[list[Replica]], None] | None = None,
        events: deque[PlatformEvent] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.workdir = workdir
        self.template = template
        self.router: Router = router or NoRouter()
        self.probe = probe or ProbeSettings()
        self.backoff = backoff or Backoff()
        self.grace_s = grace_s
        self.on_change = on_change
        self.clock = clock
        self.desired = 0
        self.replicas: dict[str, Replica] = {}
        """Replicas counted by the replica set (not the terminating ones)."""
        self.terminating: dict[str, Replica] = {}
        self.events: deque[PlatformEvent] = deque() if events is None else events
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    # -- the public surface --------------------------------------------------------------

    def scale(self, replicas: int) -> None:
        """Ask for ``replicas`` (≥ 0); the next :meth:`tick` creates or removes replicas."""
        if replicas < 0:
            raise ValueError(f"replicas must be ≥ 0, got {replicas}")
        self.desired = replicas

    @property
    def ready_count(self) -> int:
        return sum(r.ready for r in self.replicas.values())

    def all_ready(self) -> bool:
        """True when the replica set has ``desired`` replicas, all Ready, none terminating."""
        return (
            len(self.replicas) == self.desired
            and self.ready_count == self.desired
            and not self.terminating
        )

    def pids(self) -> dict[str, int]:
        """Pod name → PID of every live replica process, terminating ones included."""
        everyone = [*self.replicas.values(), *self.terminating.values()]
        return {r.name: pid for r in everyone if (pid := r.pid) is not None}

    def lose(self, count: int) -> list[str]:
        """SIGKILL ``count`` replicas at once and forget them, as pods lost with their node and
        force-deleted: no drain, no grace period; the next tick creates replacements. Ready
        replicas go first (those are the capacity a lost node takes). Returns their names."""
        ranked = sorted(self.replicas.values(), key=lambda r: (not r.ready, r.created_at))
        victims = ranked[: max(count, 0)]
        now = self.clock()
        for replica in victims:
            del self.replicas[replica.name]
            replica.set_ready(False, now)
            if replica.proc is not None:
                signal_group(replica.proc.pid, signal.SIGKILL)
            self._spawn_task(self._forget(replica))
            self._record("pod_deleted", replica.name, reason="killed", signal="SIGKILL")
        if victims:
            self._changed()
        return [r.name for r in victims]

    async def _forget(self, replica: Replica) -> None:
        await self.router.unroute(replica.name)
        while replica.proc is not None and replica.proc.poll() is None:  # reap it
            await asyncio.sleep(TICK_S / 2)

    async def run(self, stop: asyncio.Event) -> None:
        """Reconcile every few milliseconds until ``stop`` is set, then remove every replica."""
        try:
            while not stop.is_set():
                await self.tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), TICK_S)
        finally:
            await self.shutdown()

    async def tick(self) -> None:
        """One reconciliation: exits, restarts, scale up or down, due probes."""
        now = self.clock()
        self._check_exits(now)
        self._restart_due(now)
        self._reconcile_count(now)
        for replica in list(self.replicas.values()):
            if replica.pid is not None and not replica.probing and now >= replica.next_probe_at:
                replica.probing = True
                self._spawn_task(self._probe(replica))

    async def shutdown(self) -> None:
        """Remove every replica gracefully and wait until all processes are gone."""
        self.desired = 0
        self._reconcile_count(self.clock())
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- lifecycle -----------------------------------------------------------------------

    def _record(self, kind: str, pod: str, **detail: Any) -> None:
        self.events.append(PlatformEvent(t=self.clock(), kind=kind, object=pod, detail=detail))

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change([*self.replicas.values(), *self.terminating.values()])

    def _reconcile_count(self, now: float) -> None:
        missing = self.desired - len(self.replicas)
        for _ in range(missing):
            self._create(now)
        if missing < 0:
            for victim in removal_order(list(self.replicas.values()))[:-missing]:
                del self.replicas[victim.name]
                self.terminating[victim.name] = victim
                victim.terminating_at = now
                self._record("pod_terminating", victim.name, ready=victim.ready)
                self._spawn_task(self._terminate(victim))
        if missing:
            self._changed()

    def _create(self, now: float) -> None:
        name = pod_name(self.template)
        while name in self.replicas or name in self.terminating:
            name = pod_name(self.template)
        replica = Replica(name=name, port=free_port(), created_at=now)
        self.replicas[name] = replica
        self._record("pod_created", name, port=replica.port)
        self._start_process(replica, now)

    def _start_process(self, replica: Replica, now: float) -> None:
        if not port_is_free(replica.port):
            replica.port = free_port()
        replica.proc = spawn(
            self.template.argv(port=replica.port, pod=replica.name),
            log=self.workdir / f"{replica.name}.log",
            env=self.template.environment(port=replica.port, pod=replica.name),
        )
        replica.started_at = self.clock()
        replica.ready_changed_at = replica.started_at  # a new container starts unready
        replica.restart_at = None
        replica.successes = replica.failures = 0
        replica.next_probe_at = now
        self._record("pod_started", replica.name, pid=replica.proc.pid, port=replica.port)

    def _check_exits(self, now: float) -> None:
        for replica in list(self.replicas.values()):
            proc = replica.proc
            if proc is None or replica.restart_at is not None or proc.poll() is None:
                continue
            was_ready = replica.ready
            replica.set_ready(False, now)
            if now - (replica.started_at or now) >= self.backoff.reset_after_s:
                replica.crash_streak = 0
            replica.restart_at = now + self.backoff.delay_s(replica.crash_streak)
            replica.crash_streak += 1
            replica.restarts += 1
            self._record(
                "pod_crashed",
                replica.name,
                exit_code=proc.returncode,
                restarts=replica.restarts,
                was_ready=was_ready,
                restart_in_s=round(replica.restart_at - now, 3),
            )
            self._spawn_task(self.router.unroute(replica.name))
            self._changed()

    def _restart_due(self, now: float) -> None:
        for replica in self.replicas.values():
            if replica.restart_at is not None and now >= replica.restart_at:
                self._start_process(replica, now)
                self._changed()

    async def _terminate(self, replica: Replica) -> None:
        deadline = time.monotonic() + self.grace_s
        try:
            await self._drain(replica, deadline)
        except PlatformError as error:
            # the pod goes anyway; a front door that cannot drain it is a fault to record
            self._record("fault", replica.name, error=str(error), during="termination")
        finally:
            exit_code = await self._kill(replica, deadline)
            self.terminating.pop(replica.name, None)
            self._record("pod_deleted", replica.name, exit_code=exit_code)
            self._changed()

    async def _drain(self, replica: Replica, deadline: float) -> None:
        # Stop routing first, as endpoints drop a terminating pod, then let requests drain.
        await self.router.unroute(replica.name)
        replica.set_ready(False, self.clock())
        while time.monotonic() < deadline and replica.pid is not None:
            if await self.router.in_flight(replica.name) == 0:
                break
            await asyncio.sleep(TICK_S)

    async def _kill(self, replica: Replica, deadline: float) -> int | None:
        """SIGTERM, then SIGKILL at the deadline; the process's exit code."""
        proc = replica.proc
        if proc is not None and proc.poll() is None:
            signal_group(proc.pid, signal.SIGTERM)
            while proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(TICK_S / 2)
            if proc.poll() is None:
                signal_group(proc.pid, signal.SIGKILL)
                while proc.poll() is None:
                    await asyncio.sleep(TICK_S / 2)
        return proc.returncode if proc is not None else None

    # -- readiness -----------------------------------------------------------------------

    async def _probe(self, replica: Replica) -> None:
        try:
            ok = await self._probe_once(replica.port)
            if replica.terminating_at is not None or replica.restart_at is not None:
                return
            if ok:
                replica.successes += 1
                replica.failures = 0
                if not replica.ready and replica.successes >= self.probe.success_threshold:
                    # Routed first, so a replica counted Ready always gets traffic.
                    await self.router.route(replica.name, replica.port)
                    if replica.terminating_at is not None or replica.restart_at is not None:
                        await self.router.unroute(replica.name)  # it left while we routed it
                        return
                    replica.set_ready(True, self.clock())
                    self._record("pod_ready", replica.name, port=replica.port)
            else:
                replica.failures += 1
                replica.successes = 0
                if replica.ready and replica.failures >= self.probe.failure_threshold:
                    replica.set_ready(False, self.clock())
                    await self.router.unroute(replica.name)
                    self._record("pod_unready", replica.name, failures=replica.failures)
        finally:
            replica.probing = False
            replica.next_probe_at = self.clock() + self.probe.period_s

    async def _probe_once(self, port: int) -> bool:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True, limit=0)
            )
        timeout = aiohttp.ClientTimeout(total=self.probe.timeout_s)
        try:
            url = f"http://{LOOPBACK}:{port}{self.template.readiness_path}"
            async with self._session.get(url, timeout=timeout) as response:
                return 200 <= response.status < 400
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    def _spawn_task(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def unready_log(supervisor: Supervisor, *, lines: int = 5) -> str:
    """The last lines of the log of a replica that is not Ready (with a leading newline and
    the replica's name), or ``""``: what to show when replicas do not get Ready."""
    for replica in supervisor.replicas.values():
        if replica.ready:
            continue
        log = supervisor.workdir / f"{replica.name}.log"
        try:
            tail = log.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            tail = []
        code = replica.proc.poll() if replica.proc is not None else None
        state = replica.phase if code is None else f"exited with code {code}"
        shown = "".join(f"\n  | {line}" for line in tail) or "\n  | (empty log)"
        return f"; {replica.name} ({state}), end of {log}:{shown}"
    return ""

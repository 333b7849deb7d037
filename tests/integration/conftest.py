"""Shared fixtures for tests that start real processes on 127.0.0.1.

Every process a test starts is registered with ``reaper`` and killed (whole process group) at
teardown, pass or fail, so a failing test leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from hpalab.platforms.local.ports import free_port as _free_port
from hpalab.platforms.local.ports import wait_http_ok
from hpalab.platforms.local.processes import signal_group
from hpalab.platforms.local.prometheus import find_prometheus


class Reaper:
    """Remembers processes and PIDs; kills what is still alive when the test ends."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.pids: list[int] = []

    def track(self, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        self.procs.append(proc)
        return proc

    def track_pid(self, pid: int) -> None:
        self.pids.append(pid)

    def reap(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                _killpg(proc.pid)
                proc.wait(timeout=10)
        for pid in self.pids:
            _killpg(pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _killpg(pid: int) -> None:
    signal_group(pid, signal.SIGKILL)


@pytest.fixture
def reaper() -> Iterator[Reaper]:
    tracker = Reaper()
    try:
        yield tracker
    finally:
        tracker.reap()


@pytest.fixture
def free_port() -> Callable[[], int]:
    """A function returning a free TCP port on 127.0.0.1 each time it is called."""
    return _free_port


@pytest.fixture(scope="session")
def prometheus_binary() -> Path:
    """The Prometheus binary the local platform would use; fails clearly when missing."""
    return find_prometheus()


@pytest.fixture
def sample_app(reaper: Reaper, free_port: Callable[[], int]) -> Callable[..., int]:
    """Start a sample-app replica with the given CLI options; returns its port once ready."""

    def start(*options: str) -> int:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "hpalab.sampleapp", "--port", str(port), *options],
            start_new_session=True,
        )
        reaper.track(proc)
        assert wait_http_ok(f"http://127.0.0.1:{port}/healthz", timeout_s=15), "app did not start"
        return port

    return start


class Trickle:
    """A bounded open-model load in a background thread: ``rps`` GETs per second.

    It stops at ``stop()``, after ``max_requests``, or after ``max_duration_s`` seconds,
    whichever comes first, so a failing test can never leave it running.
    """

    def __init__(
        self, url: str, *, rps: float, max_requests: int = 5000, max_duration_s: float = 60.0
    ) -> None:
        self.url, self.rps = url, rps
        self.max_requests, self.max_duration_s = max_requests, max_duration_s
        self.sent = self.ok = self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> Trickle:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    async def _one(self, http: aiohttp.ClientSession) -> None:
        try:
            async with http.get(self.url) as response:
                await response.read()
                if response.status == 200:
                    self.ok += 1
                else:
                    self.failed += 1
        except (aiohttp.ClientError, TimeoutError):
            self.failed += 1

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            tasks = set()
            begin = time.monotonic()
            while not self._stop.is_set() and self.sent < self.max_requests:
                if time.monotonic() - begin > self.max_duration_s:
                    break
                task = asyncio.create_task(self._one(http))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                self.sent += 1
                await asyncio.sleep(1.0 / self.rps)
            await asyncio.gather(*tasks)


@pytest.fixture
def trickle() -> Iterator[Callable[..., Trickle]]:
    """Start bounded background load: ``trickle(url, rps=10)``; stopped at teardown."""
    started: list[Trickle] = []

    def start(url: str, **kwargs: float) -> Trickle:
        load = Trickle(url, **kwargs).start()  # type: ignore[arg-type]
        started.append(load)
        return load

    yield start
    for load in started:
        load.stop()


def _wait_until(predicate: Callable[[], object], *, timeout_s: float, what: str) -> object:
    """Poll ``predicate`` every 0.1 s until truthy; fail the test naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")


@pytest.fixture
def wait_until() -> Callable[..., object]:
    """``wait_until(predicate, timeout_s=..., what=...)``: poll, or fail naming ``what``."""
    return _wait_until

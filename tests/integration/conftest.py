"""Shared fixtures for tests that start real processes on 127.0.0.1.

Every process a test starts is registered with ``reaper`` and killed (whole process group) at
teardown, pass or fail, so a failing test leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

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

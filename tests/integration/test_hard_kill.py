"""``kill -9`` of ``hpalab run`` (an OOM kill, a CI timeout) leaves no process behind.

The run is killed at three points: while its platform starts (Prometheus up, no load yet),
while Locust sends load, and once the HPA has scaled the app out. Every process the run had
started (Prometheus, HAProxy, replicas, Locust) must be gone soon after, and ``hpalab down
--all`` must find the killed run in the registry and clean up its working directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from hpalab.platforms.local.labstate import lab_processes
from hpalab.platforms.local.processes import pid_alive

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
HPALAB = [sys.executable, "-m", "hpalab.cli.main"]
SMOKE = REPO / "experiments" / "ci-smoke.yaml"
GONE_BOUND_S = 10.0  # a bound on polling, not a claim about speed


def _tree(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _cmdlines(processes: list[psutil.Process]) -> list[str]:
    out = []
    for proc in processes:
        try:
            out.append(" ".join(proc.cmdline()))
        except psutil.Error:
            continue
    return out


def _count(lines: list[str], needle: str) -> int:
    return sum(needle in line for line in lines)


POINTS: dict[str, Callable[[list[str]], bool]] = {
    "platform-starting": lambda lines: _count(lines, "prometheus") >= 1,
    "load-running": lambda lines: _count(lines, "-m locust") >= 1,
    "scaled-out": lambda lines: (
        _count(lines, "hpalab.sampleapp") >= 2 and _count(lines, "-m locust") >= 1
    ),
}


def _wait_for(proc: subprocess.Popen[bytes], point: Callable[[list[str]], bool]) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended early with code {proc.returncode}"
        if point(_cmdlines(_tree(proc.pid))):
            return
        time.sleep(0.05)
    raise AssertionError("the run never reached the point to kill it at")


@pytest.fixture
def state_env(tmp_path):
    """An environment with its own state directory; whatever a failed test left is stopped."""
    env = {**os.environ, "HPALAB_STATE_DIR": str(tmp_path / "state")}
    yield env
    subprocess.run(
        [*HPALAB, "down", "--all"], check=False, capture_output=True, env=env, timeout=120
    )


@pytest.mark.parametrize("point", list(POINTS))
def test_kill_9_of_a_run_leaves_no_process(tmp_path, reaper, state_env, point):
    state, env = tmp_path / "state", state_env
    with (tmp_path / "stderr.txt").open("wb") as err:
        proc = subprocess.Popen(
            [*HPALAB, "run", str(SMOKE), "--only", "target-8", "--out", str(tmp_path), "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=REPO,
            env=env,
            start_new_session=True,
        )
    reaper.track(proc)
    _wait_for(proc, POINTS[point])
    children = _tree(proc.pid)
    for child in children:
        reaper.track_pid(child.pid)  # killed at teardown if this test fails
    entries = list((state / "registry").glob("*.json"))
    assert len(entries) == 1, "the run's lab is registered while it runs"
    entry = json.loads(entries[0].read_text())
    assert entry["kind"] == "run"

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    deadline = time.monotonic() + GONE_BOUND_S
    left = children
    while left and time.monotonic() < deadline:
        left = [c for c in left if pid_alive(c.pid) and _same(c)]
        time.sleep(0.05)
    assert not left, f"left running after kill -9: {_cmdlines(left)}"
    assert lab_processes(entry["lab_id"]) == []

    down = subprocess.run(
        [*HPALAB, "down", "--all"], check=False, capture_output=True, text=True, env=env, timeout=60
    )
    assert down.returncode == 0, down.stderr
    assert f"cleaned up a run that had been killed: {entry['lab_dir']}" in down.stdout
    assert not Path(entry["lab_dir"]).exists()
    assert list((state / "registry").glob("*.json")) == []


def _same(proc: psutil.Process) -> bool:
    """True while ``proc`` is the process seen before the kill (not a recycled PID)."""
    try:
        return proc.is_running()
    except psutil.Error:
        return False


def test_down_all_stops_a_live_run(tmp_path, reaper, state_env):
    """A run still running is stopped like Ctrl-C: it saves what it has, nothing remains."""
    with (tmp_path / "stderr.txt").open("wb") as err:
        proc = subprocess.Popen(
            [*HPALAB, "run", str(SMOKE), "--only", "target-8", "--out", str(tmp_path), "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=REPO,
            env=state_env,
            start_new_session=True,
        )
    reaper.track(proc)
    _wait_for(proc, POINTS["load-running"])
    children = _tree(proc.pid)
    for child in children:
        reaper.track_pid(child.pid)
    down = subprocess.run(
        [*HPALAB, "down", "--all"],
        check=False,
        capture_output=True,
        text=True,
        env=state_env,
        timeout=120,
    )
    assert down.returncode == 0, down.stderr
    assert "run stopped:" in down.stdout
    assert proc.wait(timeout=60) == 130, (tmp_path / "stderr.txt").read_text()
    assert not [c for c in children if pid_alive(c.pid) and _same(c)]
    manifests = list(tmp_path.glob("*/manifest.json"))
    assert len(manifests) == 1
    assert json.loads(manifests[0].read_text())["status"] == "incomplete"

"""Containers as host processes: created from a record, started through a shim, stopped by signal.

A container's directory (``<state>/runtime/containers/<id>``) holds its record, the spec its
shim reads, and what the shim writes back: ``pid`` once the process runs and ``exit.json``
once it has exited. Its state is read from those files each time it is asked for.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hpalab.cluster.daemons import alive
from hpalab.cluster.network import in_netns
from hpalab.cluster.runtime import cgroups, images, wheels
from hpalab.cluster.runtime.records import ContainerRecord, SandboxRecord

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ContainerError(Exception):
    """A container cannot be created, started or exec'd into; the message says why."""


@dataclass(frozen=True)
class State:
    """What ContainerStatus reports."""

    phase: str
    """CONTAINER_CREATED, CONTAINER_RUNNING or CONTAINER_EXITED."""
    pid: int | None = None
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""


def resolve_argv(
    image: str, *, command: list[str], args: list[str], env: dict[str, str]
) -> list[str]:
    """The container's argv with ``argv[0]`` made a path on this machine.

    Raises:
        ContainerError: the image is not in the map, or its command has no program here.
    """
    entry = images.lookup(image)
    if entry is None:
        raise ContainerError(f"image {image!r} is not in the image map {images.IMAGE_MAP}")
    argv = images.argv_of(entry, command=command, args=args)
    if not argv:
        raise ContainerError(f"image {image!r} has no entrypoint and the pod gives no command")
    program = images.resolve_command(entry, argv[0], env.get("PATH", DEFAULT_PATH))
    if program is None:
        raise ContainerError(
            f"{argv[0]!r} is not a program image {images.repository(image)!r} has here "
            f"(its paths in {images.IMAGE_MAP})"
        )
    return [program, *argv[1:]]


def container_env(image: str, envs: dict[str, str], hostname: str) -> dict[str, str]:
    entry = images.lookup(image)
    env = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname}
    env.update(entry.env if entry else {})
    if entry is not None and entry.wheels:
        env.update(wheels.pip_env(entry.wheels))
    env.update(envs)
    return env


def shim_argv(sandbox: SandboxRecord, directory: Path) -> list[str]:
    """The shim, in the pod's network namespace and in new mount and UTS namespaces."""
    unshare = ["unshare", "--mount", "--uts", "--propagation", "private"]
    shim = [sys.executable, "-m", "hpalab.cluster.runtime.shim", str(directory)]
    return in_netns(sandbox.netns, [*unshare, "--", *shim])


def write_spec(record: ContainerRecord, directory: Path) -> None:
    spec = {
        "argv": record.argv,
        "env": record.env,
        "cwd": record.cwd,
        "uid": record.uid,
        "gid": record.gid,
        "groups": record.groups,
        "hostname": record.hostname,
        "mounts": record.mounts,
        "cgroups": record.cgroups,
        "log_path": record.log_path,
    }
    (directory / "spec.json").write_text(json.dumps(spec))


def start(
    record: ContainerRecord, sandbox: SandboxRecord, directory: Path
) -> subprocess.Popen[bytes]:
    Path(record.log_path).parent.mkdir(parents=True, exist_ok=True)
    cgroups.create([Path(p) for p in record.cgroups], record.resources)
    write_spec(record, directory)
    with (directory / "shim.log").open("ab") as out:
        return subprocess.Popen(
            shim_argv(sandbox, directory),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def state(record: ContainerRecord, directory: Path) -> State:
    try:
        started = json.loads((directory / "pid").read_text())
    except (OSError, ValueError):
        if record.start_error:
            return State(
                "CONTAINER_EXITED", exit_code=128, reason="StartError", message=record.start_error
            )
        return State("CONTAINER_CREATED")
    pid, started_at = int(started["pid"]), int(started["started_at"])
    try:
        ended = json.loads((directory / "exit.json").read_text())
    except (OSError, ValueError):
        if alive(pid) or _shim_alive(directory):
            return State("CONTAINER_RUNNING", pid=pid, started_at=started_at)
        return State(
            "CONTAINER_EXITED",
            started_at=started_at,
            finished_at=time.time_ns(),
            exit_code=255,
            reason="Unknown",
            message="the container's shim is gone",
        )
    code = int(ended["exit_code"])
    reason = "Completed" if code == 0 else "Error"
    if cgroups.oom_killed([Path(p) for p in record.cgroups]):
        reason = "OOMKilled"
    return State(
        "CONTAINER_EXITED",
        started_at=started_at,
        finished_at=int(ended["finished_at"]),
        exit_code=code,
        reason=reason,
        message=ended.get("signal", ""),
    )


def _shim_alive(directory: Path) -> bool:
    marker = str(directory)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    return True
            except OSError:
                continue
    return False


def stop(record: ContainerRecord, directory: Path, *, timeout_s: float) -> None:
    """SIGTERM the container's process, SIGKILL everything in its cgroups after the timeout."""
    current = state(record, directory)
    if current.phase != "CONTAINER_RUNNING" or current.pid is None:
        return
    if timeout_s > 0:
        _signal(current.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not (directory / "exit.json").exists():
            time.sleep(0.05)
    if not (directory / "exit.json").exists():
        for pid in [current.pid, *cgroup_pids(record)]:
            _signal(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (directory / "exit.json").exists():
            time.sleep(0.02)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def kill_all(record: ContainerRecord) -> None:
    """SIGKILL every process in the container's cgroups, and wait (briefly) until none is left."""
    deadline = time.monotonic() + 5
    while (pids := cgroup_pids(record)) and time.monotonic() < deadline:
        for pid in pids:
            _signal(pid, signal.SIGKILL)
        time.sleep(0.02)


def cgroup_pids(record: ContainerRecord) -> list[int]:
    pids: set[int] = set()
    for path in record.cgroups:
        try:
            pids.update(int(p) for p in Path(path, "cgroup.procs").read_text().split())
        except (OSError, ValueError):
            continue
    return sorted(pids)


def exec_sync(
    record: ContainerRecord, directory: Path, cmd: list[str], *, timeout_s: float
) -> tuple[bytes, bytes, int]:
    """Run ``cmd`` in the container's namespaces and cgroups; (stdout, stderr, exit code)."""
    current = state(record, directory)
    if current.phase != "CONTAINER_RUNNING" or current.pid is None:
        raise ContainerError(f"container {record.id} is not running")
    env = dict(record.env)
    argv = resolve_argv(record.image, command=cmd, args=[], env=env)
    enter = ["nsenter", "-t", str(current.pid), "--net", "--mount", "--uts", "--"]
    try:
        done = subprocess.run(
            [*enter, *argv],
            capture_output=True,
            env=env,
            timeout=timeout_s if timeout_s > 0 else None,
            check=False,
            cwd="/",
        )
    except subprocess.TimeoutExpired as e:
        return (e.stdout or b""), (e.stderr or b"") + b"\ntimed out", 124
    return done.stdout, done.stderr, done.returncode

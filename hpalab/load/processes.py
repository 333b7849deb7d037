"""Starting and stopping the Locust processes of one load run (main-process side).

All of a run's processes share one process group, led by the first one started, so a single
``killpg`` reaches every Locust process and anything they forked: nothing outlives a run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import hpalab
from hpalab.lifetime import die_with_parent
from hpalab.load.job import JOB_ENV, WORKER_ENV

LOCUSTFILE = Path(__file__).resolve().parent / "worker" / "locustfile.py"
STDERR_TAIL_CHARS = 4000


@dataclass
class LocustProcess:
    """One Locust process: its role, the worker index it generates load for, its logs."""

    role: str
    """``single``, ``master`` or ``worker``."""
    worker: int | None
    """Index of the load share it sends; ``None`` for the master (it sends none)."""
    proc: subprocess.Popen[bytes]
    stderr: Path

    @property
    def name(self) -> str:
        if self.worker is None or self.role == "single":
            return self.role
        return f"worker-{self.worker}"

    def stderr_tail(self) -> str:
        """The end of the process's stderr, for a fault event."""
        try:
            text = self.stderr.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return text[-STDERR_TAIL_CHARS:]


def free_port() -> int:
    """A TCP port on 127.0.0.1 free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def locust_environment() -> dict[str, str]:
    """The environment of a child Python that imports Locust and hpalab."""
    env = dict(os.environ)
    root = str(Path(hpalab.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _environment(job_file: Path, worker: int | None) -> dict[str, str]:
    env = locust_environment()
    env[JOB_ENV] = str(job_file)
    env[WORKER_ENV] = str(worker or 0)
    return env


def _common_args(url: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        url,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]


def start_locust(
    *, url: str, workers: int, job_file: Path, workdir: Path, started: list[LocustProcess]
) -> None:
    """Start one Locust process (``workers == 0``) or a master and ``workers`` workers.

    Each process is appended to ``started`` as soon as it runs, so a failure half-way
    still leaves the caller every process to stop.
    """
    if workers == 0:
        started.append(_spawn("single", 0, _common_args(url), job_file, workdir, group=None))
        return
    port = free_port()
    master_args = [
        *_common_args(url),
        "--master",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        str(port),
        "--expect-workers",
        str(workers),
        "--expect-workers-max-wait",
        "60",
    ]
    master = _spawn("master", None, master_args, job_file, workdir, group=None)
    started.append(master)
    worker_args = [
        *_common_args(url)[:5],
        "--worker",
        "--master-host",
        "127.0.0.1",
        "--master-port",
        str(port),
        "--loglevel",
        "WARNING",
    ]
    for index in range(workers):
        worker = _spawn("worker", index, worker_args, job_file, workdir, group=master.proc.pid)
        started.append(worker)


def _spawn(
    role: str,
    worker: int | None,
    argv: list[str],
    job_file: Path,
    workdir: Path,
    *,
    group: int | None,
) -> LocustProcess:
    tag = role if worker is None or role == "single" else f"{role}-{worker}"
    stderr = workdir / f"locust-{tag}.stderr"
    with (workdir / f"locust-{tag}.stdout").open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=workdir,
            env=_environment(job_file, worker),
            # A group of their own keeps a terminal's Ctrl-C away: the driver stops them.
            process_group=0 if group is None else group,
            # and no Locust outlives us, not even after a kill -9 (see hpalab.lifetime)
            preexec_fn=die_with_parent(),  # noqa: PLW1509 - only arms prctl
        )
    return LocustProcess(role, worker, proc, stderr)


def stop_all(processes: list[LocustProcess], *, grace_s: float = 5.0) -> None:
    """SIGTERM the run's process group, SIGKILL it after ``grace_s``; reap every process."""
    if not processes:
        return
    leader = processes[0].proc.pid
    if any(p.proc.poll() is None for p in processes):
        _signal_group(leader, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for p in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    _signal_group(leader, signal.SIGKILL)
    for p in processes:
        if p.proc.poll() is None:
            p.proc.kill()
        p.proc.wait(timeout=5)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)

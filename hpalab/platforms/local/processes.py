"""Child processes of a lab: started in their own process group, stopped group-wide."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from hpalab.errors import PrerequisiteError
from hpalab.lifetime import die_with_parent


def spawn(
    argv: list[str], *, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session (its own process group), output appended to ``log``.

    A new session keeps a terminal's Ctrl-C from reaching the child directly: the lab decides
    the shutdown order (stop routing, drain, then terminate). The child dies with this process
    even when it is killed with SIGKILL (:func:`hpalab.lifetime.die_with_parent`), so call this
    only from a thread that lives as long as the child should.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            preexec_fn=die_with_parent(),  # noqa: PLW1509 - only arms prctl, see hpalab.lifetime
        )


def signal_group(pid: int, signum: int) -> None:
    """Send ``signum`` to the process group led by ``pid``; a gone group is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def stop_process(proc: subprocess.Popen[bytes], *, grace_s: float) -> int | None:
    """SIGTERM the process group, SIGKILL it after ``grace_s`` seconds; return the exit code."""
    if proc.poll() is None:
        signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    # Helpers the child may have forked share its group; none may outlive it.
    signal_group(proc.pid, signal.SIGKILL)
    return proc.returncode


def wait_gone(pids: list[int], *, timeout_s: float) -> list[int]:
    """Wait until none of ``pids`` exists; return those still alive after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if pid_alive(pid)]
        if alive:
            time.sleep(0.02)
    return alive


def pid_alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    try:
        with Path(f"/proc/{pid}/stat").open() as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def find_binary(name: str, *, env: str, install: str) -> Path:
    """The ``name`` executable: ``$env`` when set, else the first one on ``PATH``.

    Raises:
        PrerequisiteError: none is found or ``$env`` is not executable; the hint says how to
            install it (``install``) or point ``env`` at it.
    """
    hint = f"install it (`{install}`) or set {env}=/path/to/{name}"
    explicit = os.environ.get(env)
    if explicit:
        path = Path(explicit)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise PrerequisiteError(f"{env}={explicit} is not an executable file", hint=hint)
    found = shutil.which(name)
    if found is None:
        raise PrerequisiteError(f"the `{name}` binary is not on PATH", hint=hint)
    return Path(found)

"""Child processes that die with the hpalab process that started them.

A ``kill -9`` of ``hpalab run``, an OOM kill or a CI timeout runs none of hpalab's cleanup
code. Every long-running child (sample-app replicas, Prometheus, HAProxy, Locust) is therefore
started with :func:`die_with_parent` as its ``preexec_fn``: the kernel sends it SIGKILL when
its parent goes (Linux ``PR_SET_PDEATHSIG``), so Locust cannot keep sending load to an
orphaned front door. The state directory of each lab (see
``hpalab.platforms.local.labstate``) is the second line: a later command finds what a killed
one left behind.

The kernel ties the signal to the *thread* that started the child, not to the process: start
children only from threads that live as long as the children should (the main thread, a
platform's event-loop thread).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

import psutil

PR_SET_PDEATHSIG = 1

# Loaded once here: the child runs the armed function between fork and exec, where loading a
# library could take a lock another thread of the parent held.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` making the child die (SIGKILL) with this process; ``None`` off Linux."""
    prctl = _PRCTL
    if prctl is None:
        return None
    parent = os.getpid()

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def process_identity(pid: int) -> list[float] | None:
    """``[pid, create_time]``; a PID is only trusted later if its create time still matches."""
    try:
        return [pid, psutil.Process(pid).create_time()]
    except psutil.Error:
        return None


def identity_alive(identity: list[float] | None) -> bool:
    """True when the process of ``[pid, create_time]`` still runs (not a recycled PID)."""
    if not identity:
        return False
    try:
        proc = psutil.Process(int(identity[0]))
        same = abs(proc.create_time() - identity[1]) < 0.5
        return bool(same and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False

"""A check shared by the tests of children that must die with the hpalab process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from hpalab.platforms.local.processes import pid_alive, wait_gone


def assert_child_dies_with_parent(script: str) -> None:
    """Run ``script`` (it starts a child and prints its PID), kill -9 it, check the child goes."""
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert pid_alive(child)
        parent.kill()
        parent.wait()
        assert wait_gone([child], timeout_s=10) == [], "the child outlived its parent"
    finally:
        if pid_alive(child):
            os.kill(child, signal.SIGKILL)

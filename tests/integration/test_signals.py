"""SIGTERM to a command that started child processes stops them all: it is handled like
Ctrl-C by every command (hpalab.cli.main), so each command's cleanup runs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import psutil
import pytest

pytestmark = pytest.mark.integration

HPALAB = [sys.executable, "-m", "hpalab.cli.main"]


def test_sigterm_to_hpalab_load_leaves_no_locust_behind(tmp_path, sample_app, reaper):
    port = sample_app()
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "apiVersion: hpalab/v1\nkind: LoadProfile\nmetadata: {name: p}\n"
        "spec:\n  stages:\n    - {type: hold, rps: 20, duration: 30s}\n"
    )
    proc = subprocess.Popen(
        [*HPALAB, "load", str(profile), "--url", f"http://127.0.0.1:{port}", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    reaper.track_pid(proc.pid)
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline())  # the load is running: one second reported
    assert first["t_s"] == 0
    children = psutil.Process(proc.pid).children(recursive=True)
    assert any("locust" in " ".join(c.cmdline()) for c in children)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    time.sleep(0.5)
    alive = [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"left behind: {alive}"

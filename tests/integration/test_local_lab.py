"""``hpalab up / status / down`` as a user runs them: real commands, real processes."""

import json
import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from hpalab.platforms.local.labstate import LAB_FILE, read_json
from hpalab.platforms.local.processes import wait_gone

pytestmark = pytest.mark.integration

HPALAB = [sys.executable, "-m", "hpalab.cli.main"]


def _hpalab(*args, env=None, timeout=60):
    return subprocess.run(
        [*HPALAB, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def _lab_pids(lab_dir):
    record = read_json(lab_dir / LAB_FILE)
    assert record is not None, "no lab.json"
    pids = [int(ident[0]) for ident in record["pids"].values()]
    return [int(record["lab_process"][0]), *pids]


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_a_foreground_lab_leaves_no_process(tmp_path, reaper, wait_until, signum):
    lab_dir = tmp_path / "lab"
    proc = subprocess.Popen(
        [*HPALAB, "up", "--foreground", "--lab-dir", str(lab_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    reaper.track(proc)
    wait_until(
        lambda: (read_json(lab_dir / LAB_FILE) or {}).get("state") == "ready",
        timeout_s=30,
        what="the lab to be ready",
    )
    pids = _lab_pids(lab_dir)
    for pid in pids:
        reaper.track_pid(pid)
    assert len(pids) == 4  # lab, prometheus, haproxy, one replica
    # Ctrl-C in a terminal signals the whole foreground process group.
    os.killpg(proc.pid, signum)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "lab ready" in out and "every process it started is gone" in out
    assert wait_gone(pids, timeout_s=5) == []
    assert not (lab_dir / LAB_FILE).exists()


def test_two_labs_side_by_side_and_a_killed_lab_cleaned_up(tmp_path, reaper):
    dirs = [tmp_path / "a", tmp_path / "b"]
    for lab_dir in dirs:
        result = _hpalab("up", "--lab-dir", str(lab_dir))
        assert result.returncode == 0, result.stderr
        assert "lab ready" in result.stdout
        for pid in _lab_pids(lab_dir):
            reaper.track_pid(pid)
    records = [read_json(d / LAB_FILE) for d in dirs]
    urls = {r["load_url"] for r in records} | {r["prometheus_url"] for r in records}
    assert len(urls) == 4  # no shared port
    for record in records:
        status, body = _get(record["load_url"] + "/")
        assert status == 200 and body.startswith("ok sample-app-")

    again = _hpalab("up", "--lab-dir", str(dirs[0]))
    assert again.returncode == 2 and "already running" in again.stderr

    status = _hpalab("status", "--lab-dir", str(dirs[0]), "--json")
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert info["state"] == "ready"
    assert info["status"]["ready_replicas"] == 1
    assert _hpalab("status", "--lab-dir", str(dirs[0])).returncode == 0

    # kill lab b's supervisor: its children die with it (PR_SET_PDEATHSIG), and whatever they
    # forked may linger as orphans until `down` finds them; either way `down` leaves none
    b_pids = _lab_pids(dirs[1])
    os.kill(b_pids[0], signal.SIGKILL)
    assert wait_gone([b_pids[0]], timeout_s=5) == []
    stale = _hpalab("status", "--lab-dir", str(dirs[1]))
    assert stale.returncode == 1 and "killed" in stale.stderr
    cleaned = _hpalab("down", "--lab-dir", str(dirs[1]))
    assert cleaned.returncode == 0 and "cleaned up" in cleaned.stdout
    assert wait_gone(b_pids, timeout_s=5) == []

    a_pids = _lab_pids(dirs[0])
    down = _hpalab("down", "--lab-dir", str(dirs[0]))
    assert down.returncode == 0 and "lab stopped" in down.stdout
    assert wait_gone(a_pids, timeout_s=5) == []
    assert "no lab was running" in _hpalab("down", "--lab-dir", str(dirs[0])).stdout


def test_missing_prometheus_and_busy_port_exit_2_with_a_hint(tmp_path, sample_app):
    env = {**os.environ, "HPALAB_PROMETHEUS": str(tmp_path / "no-prometheus")}
    missing = _hpalab("up", "--lab-dir", str(tmp_path / "m"), env=env)
    assert missing.returncode == 2
    assert "apt-get install prometheus" in missing.stderr
    assert "Traceback" not in missing.stderr

    busy = sample_app()
    taken = _hpalab("up", "--lab-dir", str(tmp_path / "p"), "--port", str(busy))
    assert taken.returncode == 2
    assert f"port {busy}" in taken.stderr and "hint:" in taken.stderr
    assert not (tmp_path / "p" / LAB_FILE).exists()

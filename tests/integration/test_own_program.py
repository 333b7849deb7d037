"""``spec.app.command``: your own HTTP program as the replicas, with the sample app's
supervision, probes, front door, Prometheus scraping and HPA."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hpalab.errors import PlatformError
from hpalab.platforms.local.platform import LocalPlatform
from hpalab.platforms.local.processes import pid_alive
from hpalab.platforms.local.replicas import ProbeSettings, ReplicaTemplate
from hpalab.platforms.local.settings import LabSettings
from hpalab.results import read_manifest, read_table
from hpalab.results.schema import TIMESERIES

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SHOP = REPO / "examples" / "shop" / "experiment.yaml"
_HPALAB = [sys.executable, "-m", "hpalab.cli.main"]


def test_the_shop_example_runs_and_scales_on_its_own_metric(tmp_path, reaper):
    """The shipped example, one variant: Flask replicas Ready on /healthz/ready, scraped on
    /internal/metrics, scaled by the HPA on their own http_requests_total, loaded by the
    example locustfile's tasks."""
    args = ["run", str(SHOP.relative_to(REPO)), "--only", "target-20", "--out", str(tmp_path)]
    proc = subprocess.Popen(
        [*_HPALAB, *args, "--quiet"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    reaper.track_pid(proc.pid)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    (run_dir,) = tmp_path.iterdir()
    assert read_manifest(run_dir).status == "complete"
    series = read_table(run_dir, TIMESERIES)
    metric = series[series.signal == "metric_value"]
    ready = series[series.signal == "ready_replicas"]
    assert metric.value.max() > 20, "the app's own request rate never reached Prometheus"
    assert ready.value.max() >= 3, "the HPA did not scale the app out"
    assert ready.value.iloc[0] == 1
    # the locustfile's tasks, 3 browse for 1 add to cart, each counted under its name
    browse = series[series.signal == "task_rps:browse"].value.sum()
    cart = series[series.signal == "task_rps:add_to_cart"].value.sum()
    assert browse == pytest.approx(3 * cart, rel=0.05)
    assert series[series.signal == "task_failures:add_to_cart"].value.sum() == 0  # logged in
    lock = run_dir / "experiment.lock.yaml"
    rerun = subprocess.run(
        [*_HPALAB, "validate", str(lock)], capture_output=True, text=True, check=False
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr


NEVER_READY = textwrap.dedent(
    """
    import os, socket, time
    print(f"PID={os.getpid()}", flush=True)
    print("PORT=" + os.environ["PORT"], "POD_NAME=" + os.environ["POD_NAME"], flush=True)
    server = socket.create_server(("127.0.0.1", int(os.environ["PORT"])))
    time.sleep(600)  # accepts connections, never answers: the probe times out
    """
)


def test_a_program_that_never_gets_ready_is_an_error_with_its_log(tmp_path):
    template = ReplicaTemplate(command=(sys.executable, "-c", NEVER_READY))
    settings = LabSettings(
        template=template,
        probe=ProbeSettings(period_s=0.25, timeout_s=0.25),
        ready_timeout_s=3.0,
        grace_s=2.0,
    )
    with pytest.raises(PlatformError) as caught, LocalPlatform(tmp_path / "lab", settings):
        pass  # start() fails, and the platform stops what it started
    logs = (tmp_path / "lab" / "pods").glob("*.log")
    seen = [int(line[4:]) for log in logs for line in log.read_text().split() if line[:4] == "PID="]
    assert seen
    message = str(caught.value)
    assert "not all Ready within 3 s" in message
    assert "POD_NAME=sample-app-" in message and "PORT=" in message
    assert "startupTimeout" in (caught.value.hint or "")
    assert not [pid for pid in seen if pid_alive(pid)]

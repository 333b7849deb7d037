"""The kubernetes platform end to end on the real cluster: `hpalab up`, `doctor`, `run` and
`down --platform kubernetes`, with the real prometheus-operator, Prometheus, metrics-server,
prometheus-adapter (through the real aggregator) and the real HPA controller."""

from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from hpalab.cluster import addons
from hpalab.cluster.config import ClusterConfig
from hpalab.cluster.network import in_netns

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "hpalab-e2e"


def hpalab(
    cluster: ClusterConfig, *args: str, timeout_s: float = 900
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    return subprocess.run(
        [sys.executable, "-m", "hpalab.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout_s,
        check=False,
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def stack(cluster: ClusterConfig) -> ClusterConfig:
    up = hpalab(
        cluster,
        "up",
        "--platform",
        "kubernetes",
        "--namespace",
        NAMESPACE,
        "experiments/ci-smoke.yaml",
    )
    assert up.returncode == 0, up.stdout + up.stderr
    assert "grafana: not deployed" in up.stdout
    return cluster


def test_doctor_is_green(stack: ClusterConfig) -> None:
    done = hpalab(
        stack,
        "doctor",
        "--platform",
        "kubernetes",
        "--namespace",
        NAMESPACE,
        "experiments/ci-smoke.yaml",
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_run_scales_on_requests_per_second_through_the_real_adapter(
    stack: ClusterConfig, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    done = hpalab(
        stack,
        "run",
        "experiments/ci-smoke.yaml",
        "--platform",
        "kubernetes",
        "--namespace",
        NAMESPACE,
        "--out",
        str(out),
        "--quiet",
    )
    # Exit 3 only for a trial the load generator could not drive fully (flagged, never
    # silently counted): on a busy 2-core machine a scale-up's new pods can slow it.
    assert done.returncode in (0, 3), done.stdout + done.stderr
    (run_dir,) = out.iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    trials = _rows(run_dir / "trials.csv")
    assert len(trials) == 2 and {t["status"] for t in trials} <= {"complete", "load_shortfall"}
    if done.returncode == 3:
        assert "fell short of the profile" in done.stdout, done.stdout
    series = _rows(run_dir / "timeseries.csv")
    desired = [float(r["value"]) for r in series if r["signal"] == "desired_replicas"]
    ready = [float(r["value"]) for r in series if r["signal"] == "ready_replicas"]
    metric = [float(r["value"]) for r in series if r["signal"] == "metric_value" and r["value"]]
    assert max(desired) > 1 and max(ready) > 1
    assert max(metric) > 0  # http_requests_per_second as the real adapter served it
    events = _rows(run_dir / "events.csv")
    assert any(e["kind"].startswith("hpa_") for e in events), {e["kind"] for e in events}
    _check_sync_phase(events, period=manifest["platform"]["controller_flags"]["sync_period"])


def _check_sync_phase(events: list[dict[str, str]], *, period: float) -> None:
    """The load started at its planned phase of the real controller's sync cycle: the first
    HPA status updates of the trial come ``hpa_sync_offset_s`` before a multiple of the
    period of trial time. Allowed: the sync's own work before it writes the status (the
    metrics requests through the aggregated API) and the watch's delay, and the controller
    requeueing a period after a sync ends, not after it starts (tens of ms a sync)."""
    for trial in {e["trial_id"] for e in events}:
        rows = [e for e in events if e["trial_id"] == trial]
        (load,) = [e for e in rows if e["kind"] == "phase" and float(e["t_s"]) == 0.0]
        offset = json.loads(load["detail"])["hpa_sync_offset_s"]
        syncs = sorted(float(e["t_s"]) for e in rows if e["kind"] == "hpa_status")
        assert len(syncs) >= 3, trial
        for t_s in syncs[:3]:
            late = (t_s + offset) % period
            assert late < 0.5 or period - late < 0.1, (trial, t_s, offset, syncs)


def _during(rows: list[dict[str, str]], start: float, end: float) -> list[dict[str, str]]:
    return [r for r in rows if start <= float(r["t_s"]) <= end]


def test_every_fault_on_the_real_cluster(stack: ClusterConfig, tmp_path: Path) -> None:
    """tests/cluster/data/faults-smoke.yaml: each fault type the kubernetes platform injects,
    checked by what the real HPA, pods and load saw, and everything restored after."""
    out = tmp_path / "reports"
    experiment = "tests/cluster/data/faults-smoke.yaml"
    done = hpalab(
        stack, "run", experiment, "--platform", "kubernetes", "--namespace", NAMESPACE,
        "--out", str(out), "--quiet",
    )  # fmt: skip
    assert done.returncode in (0, 3), done.stdout + done.stderr
    (run_dir,) = out.iterdir()
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "complete"
    events = _rows(run_dir / "events.csv")
    faults = {
        (json.loads(e["detail"])["type"], e["kind"]): json.loads(e["detail"])
        for e in events
        if e["kind"] in ("fault_injected", "fault_cleared")
    }
    assert not [e for e in events if e["kind"] == "warning" and '"error"' in e["detail"]]
    # killPods: one Ready pod deleted with no grace period, and replaced
    killed = faults[("killPods", "fault_injected")]
    assert len(killed["killed"]) == 1 and killed["ready_killed"] == 1, killed
    assert any(e["kind"] == "pod_deleted" and e["object"] == killed["killed"][0] for e in events)
    # adapterOutage and prometheusOutage: the real HPA could not get its metric meanwhile
    for start, end in ((28, 40), (44, 56)):
        noticed = [
            e
            for e in _during(events, start, end + 2)
            if e["object"].startswith("horizontalpodautoscaler")
            and "unable to get metric" in e["detail"]
        ]
        assert noticed, f"the HPA saw no metric error between {start} s and {end} s"
    assert faults[("adapterOutage", "fault_cleared")]["restored"] == {"prometheus-adapter": 1}
    assert faults[("metricsServerOutage", "fault_cleared")]["restored"] == {"metrics-server": 1}
    assert faults[("prometheusOutage", "fault_injected")]["isolated"] == ["prometheus-hpalab-0"]
    # appSlowdown: every request 100 ms slower, in the pods started meanwhile too
    series = _rows(run_dir / "timeseries.csv")
    p50 = {float(r["t_s"]): float(r["value"]) for r in series if r["signal"] == "latency_p50_ms"}
    slow = [v for t, v in p50.items() if 62 <= t <= 71]
    fast = [v for t, v in p50.items() if 50 <= t <= 59 or 74 <= t <= 80]
    assert slow and fast and min(slow) > max(fast) + 50, (slow, fast)
    assert faults[("scrapeDelay", "fault_injected")]["metrics_delay_s"] == 3.0
    # networkDelay: 250 ms each way on Prometheus' connections to the targets
    scrapes = {
        float(r["t_s"]): float(r["value"])
        for r in _rows(run_dir / "prometheus.csv")
        if "scrape_duration_seconds" in r["query"]
    }
    delayed = statistics.median(v for t, v in scrapes.items() if 70 <= t <= 77)
    # before the first fault and after the last (in between, a killed pod's target may time out)
    direct = statistics.median(v for t, v in scrapes.items() if 5 <= t <= 15 or 80 <= t <= 88)
    assert delayed >= 0.45 and direct < 0.1, (delayed, direct)
    # everything restored: both APIs served again, no fault rule or delay proxy left
    for api in ("v1beta1.custom.metrics.k8s.io", "v1beta1.metrics.k8s.io"):
        wait = ("wait", "--for=condition=Available", f"apiservice/{api}", "--timeout=60s")
        addons.kubectl(stack, *wait)
    rules = subprocess.run(
        in_netns(stack.netns, ["iptables-save"]), capture_output=True, text=True, check=True
    )
    assert "hpalab-fault" not in rules.stdout, rules.stdout
    ps = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True, check=True)
    assert "hpalab.cluster.delaying" not in ps.stdout


def test_down_removes_everything_hpalab_created(stack: ClusterConfig) -> None:
    done = hpalab(stack, "down", "--platform", "kubernetes", "--namespace", NAMESPACE)
    assert done.returncode == 0, done.stdout + done.stderr
    left = addons.kubectl(
        stack,
        "get",
        "all,configmaps,secrets,serviceaccounts,roles,rolebindings,clusterroles,"
        "clusterrolebindings,apiservices,crds",
        "-A",
        "-l",
        "app.kubernetes.io/managed-by=hpalab",
        "-o",
        "name",
    )
    assert left.strip() == ""

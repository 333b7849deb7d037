"""`hpalab run` with spec.events on the real local stack: the faults happen, events.csv has
their start and end, the HPA's reaction is in its decisions, and the report shows them."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from hpalab.results import read_table
from hpalab.results.schema import EVENTS, SUMMARY, TIMESERIES

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SMOKE = (REPO / "experiments" / "ci-smoke.yaml").read_text()

EVENTS_YAML = """\
  events:
    - {type: appSlowdown, at: 2s, duration: 3s, latency: 150ms}
    - {type: killPods, at: 6s, fraction: 0.5}
    - {type: prometheusOutage, at: 12s, duration: 8s}
    - {type: adapterOutage, at: 24s, duration: 6s}
    - {type: scrapeDelay, at: 32s, duration: 8s, delay: 3s}
    - {type: metricsServerOutage, at: 36s, duration: 4s}
"""


def _experiment(tmp_path: Path) -> Path:
    text = SMOKE.replace("name: ci-smoke", "name: faults-smoke")
    text = text.replace("      - type: ramp\n        to: 30\n        duration: 25s\n", "")
    text = text.replace(
        "        rps: 4\n        duration: 5s\n", "        rps: 30\n        duration: 15s\n"
    )
    text = text.replace(
        "    startupDelay: 500ms\n", "    startupDelay: 500ms\n    initialReplicas: 4\n"
    )
    text = text.split("  variants:\n")[0] + EVENTS_YAML
    path = tmp_path / "faults-smoke.yaml"
    path.write_text(text)
    return path


def _conditions(detail: dict) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in detail.get("conditions") or []}


def test_a_run_with_faults_records_them_and_the_report_shows_them(tmp_path, reaper):
    experiment = _experiment(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hpalab.cli.main",
            "run",
            str(experiment),
            "--quiet",
            "--out",
            str(tmp_path / "reports"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert proc.returncode in (0, 3), proc.stderr
    (run_dir,) = (tmp_path / "reports").iterdir()
    events = read_table(run_dir, EVENTS)
    faults = events[events["kind"].isin(["fault_injected", "fault_cleared"])]
    seen = [(r.kind, r.object, json.loads(r.detail)["type"]) for r in faults.itertuples()]
    assert seen == [
        ("fault_injected", "app", "appSlowdown"),
        ("fault_cleared", "app", "appSlowdown"),
        ("fault_injected", "pods", "killPods"),
        ("fault_injected", "prometheus", "prometheusOutage"),
        ("fault_cleared", "prometheus", "prometheusOutage"),
        ("fault_injected", "adapter", "adapterOutage"),
        ("fault_cleared", "adapter", "adapterOutage"),
        ("fault_injected", "targets", "scrapeDelay"),
        ("fault_injected", "metrics-server", "metricsServerOutage"),
        ("fault_cleared", "targets", "scrapeDelay"),
        ("fault_cleared", "metrics-server", "metricsServerOutage"),
    ]
    assert [round(t) for t in faults["t_s"]] == [2, 5, 6, 12, 20, 24, 30, 32, 36, 40, 40]
    # the slowdown reached the requests: the median latency of those seconds is 150 ms more
    series = read_table(run_dir, TIMESERIES)
    p50 = series[series["signal"] == "latency_p50_ms"].set_index("t_s")["value"]
    assert p50.loc[3.0:4.0].min() >= 150 and p50.loc[8.0:11.0].max() < 150
    kill = json.loads(faults["detail"].iloc[2])
    assert len(kill["killed"]) == math.ceil(kill["of"] / 2) >= 1
    killed = events[(events["kind"] == "pod_deleted") & events["object"].isin(kill["killed"])]
    assert len(killed) == len(kill["killed"])

    # the HPA: ScalingActive=False for the metric during both outages, True again after
    decisions = events[events["kind"] == "hpa_decision"]
    during = {
        name: [
            _conditions(json.loads(d))["ScalingActive"]
            for t, d in zip(decisions["t_s"], decisions["detail"], strict=True)
            if start + 2 < t < end
        ]
        for name, start, end in (("prometheus", 12, 20), ("adapter", 24, 30))
    }
    for name, states in during.items():
        assert states and all(s == ("False", "FailedGetPodsMetric") for s in states), name
    last = _conditions(json.loads(decisions["detail"].iloc[-1]))["ScalingActive"]
    assert last == ("True", "ValidMetricFound")

    summary = read_table(run_dir, SUMMARY)
    assert summary["fault_replicas_lost"].iloc[0] >= 1
    assert summary["fault_notice_s"].iloc[0] > 0
    report = (run_dir / "report.html").read_text()
    assert report.count('class="band b-fault b-prometheus"') == 4  # one per panel
    assert report.count('class="band b-fault b-adapter"') == 4
    assert 'class="m m-injected"' in report
    assert "<h2>Faults</h2>" in report and "prometheusOutage (prometheus)" in report

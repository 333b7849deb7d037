"""Faults in the report: shaded bands on every timeline panel, a Faults table, JSON records."""

from __future__ import annotations

import json

from hpalab.report.outputs import report_run
from hpalab.results import EVENTS, read_table
from hpalab.results.store import RunWriter


def _add_faults(run_dir, trial_id):
    def row(t, kind, obj, **detail):
        return {"trial_id": trial_id, "t_s": t, "kind": kind, "object": obj, "detail": detail}

    RunWriter(run_dir).append(
        EVENTS,
        [
            row(
                30.0,
                "fault_injected",
                "prometheus",
                event=0,
                type="prometheusOutage",
                planned_s=30.0,
                planned_end_s=60.0,
            ),
            row(
                60.0,
                "fault_cleared",
                "prometheus",
                event=0,
                type="prometheusOutage",
                planned_s=60.0,
            ),
            row(
                90.0,
                "fault_injected",
                "pods",
                event=1,
                type="killPods",
                planned_s=90.0,
                planned_end_s=90.0,
                killed=["a", "b"],
                of=4,
            ),
        ],
    )


def test_faults_are_drawn_listed_and_exported(run_dir):
    trial = str(read_table(run_dir, EVENTS)["trial_id"].iloc[0])
    _add_faults(run_dir, trial)
    report_run(run_dir)
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert html.count('<rect class="band b-fault b-prometheus" x="30" y="0" width="30"') == 4
    assert html.count('class="m m-injected"') == 4  # the pod kill, on each panel
    assert "<h2>Faults</h2>" in html
    assert "prometheusOutage (prometheus)</td><td>30.0 s – 60.0 s" in html
    assert "killPods (pods)</td><td>90.0 s (instant)" in html

    doc = json.loads(report_run(run_dir, fmt="json").text)
    faults = doc["faults"]
    assert [(f["trial_id"], f["type"], f["start_s"], f["end_s"]) for f in faults] == [
        (trial, "prometheusOutage", 30.0, 60.0),
        (trial, "killPods", 90.0, 90.0),
    ]
    summary = {r["trial_id"]: r for r in doc["summary"]}
    assert summary[trial]["fault_recovery_s"] is not None
    others = [r for t, r in summary.items() if t != trial]
    assert all(r["fault_notice_s"] is None for r in others)  # NaN: no faults in those trials


def test_a_run_without_faults_has_no_fault_section(run_dir):
    report_run(run_dir)
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "<h2>Faults</h2>" not in html and '<rect class="band' not in html

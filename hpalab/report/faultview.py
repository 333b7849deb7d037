"""The report's fault table: one row per injected fault of every trial, with its impact."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hpalab.analysis.faults import fault_impacts
from hpalab.report.analysed import AnalysedRun


def fault_records(a: AnalysedRun) -> list[dict[str, Any]]:
    """Every fault of every trial with its impact as plain numbers (seconds, replicas), in
    variant then trial order; the JSON report's ``faults``."""
    out = []
    for variant in a.variants:
        ids = [str(t) for t in a.summary["trial_id"][a.summary["variant"] == variant]]
        for trial in ids:
            trace = a.traces.get(trial)
            if trace is None:
                continue
            for impact in fault_impacts(trace, slo=a.info[variant].slo):
                w = impact.fault
                out.append(
                    {
                        "variant": variant,
                        "trial_id": trial,
                        "event": w.index,
                        "type": w.type,
                        "component": w.component,
                        "start_s": w.start_s,
                        "end_s": w.end_s,
                        "notice_s": impact.notice_s,
                        "replicas_lost": impact.replicas_lost,
                        "scale_change": impact.scale_change,
                        "recovery_s": impact.recovery_s,
                        "slo_violation_s": impact.slo_violation_s,
                    }
                )
    return out


def fault_rows(a: AnalysedRun, *, fmt: Callable[[float, str], str]) -> list[dict[str, Any]]:
    """:func:`fault_records` for display; ``fmt(value, unit)`` formats a number."""
    rows = []
    for r in fault_records(a):
        instant = r["end_s"] <= r["start_s"]
        window = f"{r['start_s']:.1f} s" + (" (instant)" if instant else f" – {r['end_s']:.1f} s")
        rows.append(
            {
                "variant": r["variant"],
                "trial": r["trial_id"],
                "fault": f"{r['type']} ({r['component']})",
                "window": window,
                "noticed": fmt(r["notice_s"], "s"),
                "lost": fmt(r["replicas_lost"], "replicas"),
                "scale": "held" if r["scale_change"] == 0 else fmt(r["scale_change"], "replicas"),
                "recovery": fmt(r["recovery_s"], "s"),
                "slo": fmt(r["slo_violation_s"], "s"),
            }
        )
    return rows

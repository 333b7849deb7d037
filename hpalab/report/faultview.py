"""The report's fault table: one row per injected fault of every trial, with its impact."""

from __future__ import annotations

from typing import Any

from hpalab.analysis.faults import fault_impacts
from hpalab.report.analysed import AnalysedRun


def fault_rows(a: AnalysedRun, *, fmt: Any) -> list[dict[str, Any]]:
    """Rows in variant then trial order; ``fmt(value, unit)`` formats a number for display."""
    rows = []
    for variant in a.variants:
        ids = [str(t) for t in a.summary["trial_id"][a.summary["variant"] == variant]]
        for trial in ids:
            trace = a.traces.get(trial)
            if trace is None:
                continue
            for impact in fault_impacts(trace, slo=a.info[variant].slo):
                w = impact.fault
                window = f"{w.start_s:.1f} s" + (
                    f" – {w.end_s:.1f} s" if w.end_s > w.start_s else " (instant)"
                )
                change = impact.scale_change
                rows.append(
                    {
                        "variant": variant,
                        "trial": trial,
                        "fault": f"{w.type} ({w.component})",
                        "window": window,
                        "noticed": fmt(impact.notice_s, "s"),
                        "lost": fmt(impact.replicas_lost, "replicas"),
                        "scale": "held" if change == 0 else fmt(change, "replicas"),
                        "recovery": fmt(impact.recovery_s, "s"),
                        "slo": fmt(impact.slo_violation_s, "s"),
                    }
                )
    return rows

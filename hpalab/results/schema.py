"""The run directory contract: every file, every column, every unit, written down once.

A run directory is what ``hpalab run`` leaves behind and what ``hpalab report`` reads. Readers
check ``manifest.json``'s ``schema_version`` before trusting the columns below; a change that
removes or renames a column bumps the major version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SCHEMA_VERSION = "1.0"

Dtype = Literal["str", "int", "float", "datetime"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a CSV file of the run directory."""

    name: str
    dtype: Dtype
    description: str
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Table:
    """One CSV file of the run directory."""

    filename: str
    description: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


_TRIAL_ID = Column("trial_id", "str", "trial identifier: '<variant>#<repetition>'")
_T_S = Column("t_s", "float", "seconds since the load phase of the trial began", "s")

TRIALS = Table(
    "trials.csv",
    "one row per trial (variant × repetition)",
    (
        _TRIAL_ID,
        Column("variant", "str", "variant name"),
        Column("repetition", "int", "repetition number, from 1"),
        Column("order", "int", "position in the seeded, interleaved run order, from 1"),
        Column("started_at", "datetime", "UTC start, ISO 8601"),
        Column("ended_at", "datetime", "UTC end, ISO 8601; empty while running"),
        Column(
            "status",
            "str",
            "complete | incomplete | failed | load_shortfall | pending (not run yet)",
        ),
    ),
)

TIMESERIES = Table(
    "timeseries.csv",
    "tidy per-second signals of every trial",
    (
        _TRIAL_ID,
        _T_S,
        Column("signal", "str", "signal name, one of TIMESERIES_SIGNALS or an extra"),
        Column("value", "float", "value in the signal's unit (see TIMESERIES_SIGNALS)"),
    ),
)

EVENTS = Table(
    "events.csv",
    "everything that happened, one row per event",
    (
        _TRIAL_ID,
        _T_S,
        Column("kind", "str", "event kind, one of EVENT_KINDS"),
        Column("object", "str", "the object concerned: a pod name, 'hpa/<name>', 'load', ..."),
        Column("detail", "str", "free text or a JSON object with the event's fields"),
    ),
)

PROMETHEUS = Table(
    "prometheus.csv",
    "raw Prometheus series recorded with query_range at 1 s resolution",
    (
        _TRIAL_ID,
        _T_S,
        Column("query", "str", "the PromQL expression"),
        Column("labels", "str", "the series labels as a JSON object with sorted keys"),
        Column("value", "float", "sample value"),
    ),
)

SUMMARY = Table(
    "summary.csv",
    "one row per trial with every metric of the design; the metric columns follow trial_id",
    (
        _TRIAL_ID,
        Column("variant", "str", "variant name"),
        Column("repetition", "int", "repetition number, from 1"),
        Column("status", "str", "trial status, as in trials.csv"),
    ),
)

COMPARISON = Table(
    "comparison.csv",
    "one row per variant and metric, against the baseline variant",
    (
        Column("variant", "str", "variant name"),
        Column("metric", "str", "metric name (a column of summary.csv)"),
        Column("unit", "str", "unit of the metric"),
        Column("n", "int", "number of trials with a value"),
        Column("median", "float", "median over repetitions"),
        Column("mean", "float", "mean over repetitions"),
        Column("ci_low", "float", "lower bound of the bootstrap confidence interval"),
        Column("ci_high", "float", "upper bound of the bootstrap confidence interval"),
        Column("diff_vs_baseline", "float", "median difference against the baseline variant"),
        Column("p_value", "float", "rank test p-value against the baseline"),
        Column("effect_size", "float", "effect size against the baseline"),
        Column("verdict", "str", "better | worse | inconclusive | baseline"),
    ),
)

TABLES: tuple[Table, ...] = (TRIALS, TIMESERIES, EVENTS, PROMETHEUS, SUMMARY, COMPARISON)

# Signal name → unit. The collectors write at least these on a 1 s grid.
TIMESERIES_SIGNALS: dict[str, str] = {
    "offered_rps": "requests/s",
    "achieved_rps": "requests/s",
    "users": "users",
    "latency_p50_ms": "ms",
    "latency_p95_ms": "ms",
    "latency_p99_ms": "ms",
    "error_rate": "ratio",
    "metric_value": "metric unit",
    "metric_target": "metric unit",
    "desired_replicas": "replicas",
    "spec_replicas": "replicas",
    "ready_replicas": "replicas",
    "demand_replicas": "replicas",
}

EVENT_KINDS: dict[str, str] = {
    "load_step": "a load profile stage began (detail: stage, from_rps, to_rps)",
    "hpa_decision": "an HPA sync (detail JSON: desired, current, reason, conditions, metrics)",
    "hpa_rescale": "the HPA changed the scale (detail: old, new, reason)",
    "hpa_status": "a cluster HPA's status changed, as a watch saw it; its syncs themselves are "
    "not observable from outside (detail as hpa_decision)",
    "pod_created": "a replica was created",
    "pod_started": "a replica's process started",
    "pod_ready": "a replica passed its readiness probe",
    "pod_unready": "a Ready replica failed its readiness probe",
    "pod_terminating": "a replica was chosen for removal; no new traffic",
    "pod_deleted": "a replica is gone",
    "pod_crashed": "a replica exited on its own (detail: exit code, restarts)",
    "phase": "an experiment phase began: warmup, load (with hpa_sync_offset_s when the load "
    "was aligned to the HPA's sync cycle), cooldown",
    "fault": "a component failed: Prometheus down, a load worker crashed, ...",
    "fault_injected": "a fault of spec.events began (detail: event, type, planned_s, "
    "planned_end_s, and what was done: pods killed, ...); object: the component",
    "fault_cleared": "a fault of spec.events ended (detail: event, type, planned_s, cut_short)",
    "warning": "something that makes the data less trustworthy",
    "collector_error": "a collector failed; the run carried on",
    "load_shortfall": "achieved load fell short of offered (detail: window, ratio, reason)",
    "keda_activation": "KEDA's operator scaled from zero or idle (detail: from, to, values)",
    "keda_deactivation": "KEDA's operator scaled to zero or idle after the cooldown",
    "keda_fallback": "a KEDA metric switched to or from its fallback value (detail: state)",
    "keda_poll": "a KEDA poll did something else (detail: action, e.g. raise_to_min)",
}

MANIFEST_FILE = "manifest.json"
LOCK_FILE = "experiment.lock.yaml"
REPORT_FILE = "report.html"

RunStatus = Literal["complete", "incomplete", "failed"]

"""Reasons not to trust the numbers, found before the numbers are shown.

Each finding names what it concerns (the run, a variant or a trial), says what is wrong and
what to do about it. Trials that measured something else than the experiment asked for
(failed, interrupted, load generator fell short) are left out of the comparison, and said so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from hpalab.analysis.metrics import LOAD_SHORTFALL_PCT
from hpalab.analysis.statistics import smallest_p_value

Severity = Literal["error", "warning", "info"]
GAPS_PCT = 5.0
"""More missing core samples than this (%) makes a trial's metrics doubtful."""


@dataclass(frozen=True)
class Finding:
    """One reliability warning."""

    severity: Severity
    subject: str
    message: str
    advice: str
    kind: str = ""
    """What sort of finding this is, in words ("too few repetitions"); findings of one kind
    are shown as one group. Empty: shown on its own."""


@dataclass(frozen=True)
class FindingGroup:
    """Findings of one kind and severity, shown as one line ("3 variants: ...")."""

    severity: Severity
    headline: str
    advice: str
    findings: tuple[Finding, ...]


def group_findings(findings: Sequence[Finding]) -> list[FindingGroup]:
    """Findings of the same kind and severity as one group each, in first-seen order, so a
    report's first screen says "5 variants: too few repetitions" once, not five times.
    A finding without a kind, or alone of its kind, is a group of one headed by its subject.
    """
    groups: dict[tuple[str, str], list[Finding]] = {}
    for index, finding in enumerate(findings):
        key = (finding.severity, finding.kind or f"#{index}")
        groups.setdefault(key, []).append(finding)
    out = []
    for members in groups.values():
        first = members[0]
        if len(members) == 1:
            headline = f"{first.subject}: {first.message}"
        else:
            # trial ids are '<variant>#<repetition>'; variant names cannot contain '#'
            noun = "trials" if all("#" in f.subject for f in members) else "variants"
            headline = f"{len(members)} {noun}: {first.kind}"
        out.append(FindingGroup(first.severity, headline, first.advice, tuple(members)))
    return out


def usable(summary: pd.DataFrame) -> pd.Series:
    """Which trials enter the comparison: complete, and the load generator delivered."""
    complete = summary["status"].astype("object") == "complete"
    shortfall = summary["load_error_pct"].astype("float64") > LOAD_SHORTFALL_PCT
    return complete & ~shortfall


def reliability_findings(
    summary: pd.DataFrame,
    *,
    run_status: str | None,
    baseline: str,
    alpha: float,
    stabilization_s: Mapping[str, float] | None = None,
    incident_counts: Mapping[str, int] | None = None,
) -> list[Finding]:
    """Every finding about a run, errors first.

    ``stabilization_s`` maps a variant to its longest stabilization window (s);
    ``incident_counts`` maps a trial to its number of fault / collector_error / warning events.
    """
    findings = _run_findings(run_status)
    findings += _trial_findings(summary, incident_counts or {})
    findings += _variant_findings(summary, baseline=baseline, alpha=alpha)
    findings += _window_findings(summary, stabilization_s or {})
    rank = {"error": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda f: rank[f.severity])


def _run_findings(run_status: str | None) -> list[Finding]:
    if run_status is None:
        return [
            Finding(
                "error",
                "run",
                "the run has no manifest.json: it was stopped before it could finish",
                "treat the results as partial; resume or repeat the run",
            )
        ]
    if run_status != "complete":
        return [
            Finding(
                "error",
                "run",
                f"the run is {run_status}",
                "read the manifest's reasons; repeat the run before drawing conclusions",
            )
        ]
    return []


def _trial_findings(summary: pd.DataFrame, incidents: Mapping[str, int]) -> list[Finding]:
    out: list[Finding] = []
    for trial_id, status, load_error, gaps in zip(
        summary["trial_id"].astype(str),
        summary["status"].astype(str),
        summary["load_error_pct"].astype("float64"),
        summary["gaps_pct"].astype("float64"),
        strict=True,
    ):
        trial = str(trial_id)
        if status != "complete":
            out.append(
                Finding(
                    "warning",
                    trial,
                    f"trial is {status}: left out of the comparison",
                    "repeat the trial (hpalab run resumes missing trials)",
                    "left out of the comparison",
                )
            )
        elif load_error > LOAD_SHORTFALL_PCT:
            out.append(
                Finding(
                    "warning",
                    trial,
                    f"load shortfall: achieved load {load_error:.1f}% below offered; "
                    "left out of the comparison",
                    "add load workers or lower the load; the system under test was not "
                    "given the load the experiment asked for",
                    "load shortfall",
                )
            )
        if gaps > GAPS_PCT:
            out.append(
                Finding(
                    "warning",
                    trial,
                    f"metric gaps: {gaps:.0f}% of core samples missing",
                    "check collector_error events; metrics of this trial may be biased",
                    "metric gaps",
                )
            )
        if incidents.get(trial, 0):
            out.append(
                Finding(
                    "info",
                    trial,
                    f"{incidents[trial]} fault/collector/warning events",
                    "see events.csv for what happened",
                    "fault, collector or warning events",
                )
            )
    return out


def _variant_findings(summary: pd.DataFrame, *, baseline: str, alpha: float) -> list[Finding]:
    ok = summary[usable(summary)] if not summary.empty else summary
    counts = ok.groupby("variant", sort=False).size().to_dict()
    base_n = int(counts.get(baseline, 0))
    out: list[Finding] = []
    for variant in dict.fromkeys(summary["variant"]):
        n = int(counts.get(variant, 0))
        if n < 2:
            out.append(
                Finding(
                    "error",
                    str(variant),
                    f"only {n} usable repetition(s)",
                    "run at least 5 repetitions per variant",
                    "fewer than 2 usable repetitions",
                )
            )
        elif variant != baseline and smallest_p_value(n, base_n) > alpha:
            best = smallest_p_value(n, base_n)
            out.append(
                Finding(
                    "warning",
                    str(variant),
                    f"too few repetitions: with {n} against {base_n} the rank test cannot "
                    f"reach p ≤ {alpha:g} (best possible p = {best:.2f}), so every verdict "
                    "is inconclusive",
                    "run at least 5 repetitions per variant (spec.repetitions)",
                    "too few repetitions",
                )
            )
    return out


def _window_findings(summary: pd.DataFrame, windows: Mapping[str, float]) -> list[Finding]:
    out: list[Finding] = []
    durations = summary.groupby("variant", sort=False)["duration_s"].min()
    for variant, shortest in durations.items():
        window = windows.get(str(variant), 0.0)
        if not math.isnan(shortest) and window > 0 and shortest < window:
            out.append(
                Finding(
                    "warning",
                    str(variant),
                    f"a trial ({shortest:.0f} s) is shorter than the stabilization window "
                    f"({window:.0f} s): scale-down behaviour is not fully observed",
                    "lengthen the load profile or the cool-down phase",
                    "trial shorter than the stabilization window",
                )
            )
    return out


def format_findings(findings: Sequence[Finding]) -> list[str]:
    """Plain-text lines, one per finding."""
    return [f"{f.severity}: {f.subject}: {f.message} ({f.advice})" for f in findings]

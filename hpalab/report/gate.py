"""``hpalab compare NEW --against OLD --gate RULES``: the gate over two run directories, and its
outputs for people (a table), CI systems (JUnit XML) and pull requests (Markdown)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hpalab.analysis.comparison import DEFAULT_ALPHA
from hpalab.analysis.gate import ALIASES, GateCheck, gate_failed, gateable_metrics, run_gate
from hpalab.analysis.reliability import usable
from hpalab.report.analysed import analyse_run
from hpalab.report.rundata import load_run
from hpalab.specs.gate import LoadedRule, load_gate_rules

GATE_FORMATS = ("table", "junit", "markdown")
OUTCOME_MARK = {"pass": "✅ pass", "fail": "❌ FAIL", "inconclusive": "⚠️ inconclusive"}


@dataclass
class GateResult:
    """The checks of one gate and what they add up to."""

    new: str
    old: str
    checks: list[GateCheck]
    strict: bool

    @property
    def failed(self) -> bool:
        return gate_failed(self.checks, strict=self.strict)

    @property
    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "fail": 0, "inconclusive": 0}
        for check in self.checks:
            out[check.outcome] += 1
        return out

    def summary(self) -> str:
        """One line: the verdict and the counts."""
        c = self.counts
        verdict = "FAILED" if self.failed else "passed"
        line = f"gate {verdict}: {c['fail']} failed, {c['inconclusive']} inconclusive, "
        line += f"{c['pass']} passed ({self.new} against {self.old})"
        if c["inconclusive"] and not self.strict:
            line += "; inconclusive checks do not fail the gate without --strict"
        return line


def load_rules(rules: str) -> list[LoadedRule]:
    """The gate rules of ``rules`` (a file or inline YAML), checked against the metrics."""
    return load_gate_rules(rules, known=gateable_metrics(), aliases=ALIASES)


def gate_runs(
    new: Path,
    old: Path,
    rules: Sequence[LoadedRule],
    *,
    alpha: float = DEFAULT_ALPHA,
    strict: bool = False,
) -> GateResult:
    """Gate the variants of run ``new`` against the same variants of run ``old``."""
    summaries = []
    for path in (new, old):
        summary = analyse_run(load_run(path), alpha=alpha).summary
        summaries.append(summary[usable(summary)])
    checks = run_gate(summaries[0], summaries[1], rules, alpha=alpha)
    return GateResult(new.resolve().name, old.resolve().name, checks, strict)


def _num(value: float) -> str:
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "never" if value > 0 else "−∞"
    return f"{value:.4g}"


def rows(result: GateResult) -> list[dict[str, str]]:
    """The checks as display strings (numbers in the metric's unit), one dict per check."""
    out = []
    for c in result.checks:
        unit = "" if c.unit in ("count", "") else f" [{c.unit}]"
        out.append(
            {
                "variant": c.variant,
                "metric": c.rule.written + unit,
                "allowed": f"≤ {c.rule.text}",
                "old": f"{_num(c.old_median)} (n={c.n_old})",
                "new": f"{_num(c.new_median)} (n={c.n_new})",
                "worse_by": _num(c.worsening),
                "ci": f"{_num(c.ci_low)} … {_num(c.ci_high)}",
                "p": "–" if math.isnan(c.p_value) else f"{c.p_value:.3f}",
                "outcome": c.outcome,
                "reason": c.reason,
            }
        )
    return out


COLUMNS = (
    ("variant", "variant"),
    ("metric", "metric"),
    ("allowed", "allowed"),
    ("old", "old median"),
    ("new", "new median"),
    ("worse_by", "worse by"),
    ("ci", "95 % interval"),
    ("p", "p"),
    ("outcome", "outcome"),
)


def markdown(result: GateResult) -> str:
    """A pull-request comment: verdict, a table, and how to read it (user strings escaped)."""
    head = "| " + " | ".join(label for _, label in COLUMNS) + " |"
    lines = [f"### hpalab gate: {'❌ failed' if result.failed else '✅ passed'}", "", head]
    lines.append("|" + "---|" * len(COLUMNS))
    for row in rows(result):
        cells = {**row, "outcome": OUTCOME_MARK[row["outcome"]]}
        lines.append("| " + " | ".join(_md(cells[key]) for key, _ in COLUMNS) + " |")
    lines += [
        "",
        _md(result.summary()) + ".",
        "",
        "A check fails when the rank test calls the new run worse at the chosen level and the "
        "whole bootstrap interval of the worsening exceeds the rule's allowance.",
    ]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return escaped.replace(">", "&gt;").replace("\n", " ")


def junit(result: GateResult) -> str:
    """JUnit XML: one test case per variant × rule; a failure for each failed check (and for
    each inconclusive one when strict), a skip for an inconclusive one otherwise."""
    counts = result.counts
    failures = counts["fail"] + (counts["inconclusive"] if result.strict else 0)
    skipped = 0 if result.strict else counts["inconclusive"]
    suites = ET.Element("testsuites", name="hpalab gate")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"hpalab gate: {result.new} against {result.old}",
        tests=str(len(result.checks)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
    )
    for check, row in zip(result.checks, rows(result), strict=True):
        case = ET.SubElement(
            suite, "testcase", classname=f"gate.{check.variant}", name=check.rule.written
        )
        message = (
            f"{row['reason']}: worse by {row['worse_by']} (interval {row['ci']}, "
            f"p = {row['p']}), allowed {check.rule.text}"
        )
        if check.outcome == "fail" or (check.outcome == "inconclusive" and result.strict):
            failure = ET.SubElement(case, "failure", message=message, type=check.outcome)
            failure.text = f"old {row['old']}, new {row['new']}"
        elif check.outcome == "inconclusive":
            ET.SubElement(case, "skipped", message=message)
        ET.SubElement(case, "system-out").text = message
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"

"""``hpalab report`` and ``hpalab compare``: from run directories to CSV, JSON and HTML."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from hpalab.analysis.comparison import DEFAULT_ALPHA, compare
from hpalab.analysis.reliability import Finding, reliability_findings, usable
from hpalab.errors import UsageError
from hpalab.report.analysed import AnalysedRun, analyse_run
from hpalab.report.rendering import render_html
from hpalab.report.rundata import RunData, load_run
from hpalab.report.viewmodel import build_view, json_view
from hpalab.results.schema import COMPARISON, LOCK_FILE, REPORT_FILE, SUMMARY
from hpalab.results.store import RunWriter

Format = Literal["html", "csv", "json"]
FORMATS: tuple[str, ...] = ("html", "csv", "json")


@dataclass
class Output:
    """What a command produced: text for stdout and the files it wrote."""

    text: str
    files: list[Path] = field(default_factory=list)


def check_format(fmt: str) -> Format:
    """``fmt`` if it is a known format, else :class:`UsageError`."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    return fmt  # type: ignore[return-value]


def report_run(
    path: Path, *, fmt: str = "html", baseline: str | None = None, alpha: float = DEFAULT_ALPHA
) -> Output:
    """Re-render a run's reports from its files alone.

    ``html`` writes summary.csv, comparison.csv and report.html into the run directory and
    returns their paths; ``csv`` writes the two CSV files and returns comparison.csv as text;
    ``json`` writes nothing and returns findings, summary, comparison and bands as JSON.
    """
    chosen = check_format(fmt)
    analysed = analyse_run(load_run(path), baseline=baseline, alpha=alpha)
    if chosen == "json":
        return Output(json_view(analysed))
    writer = RunWriter(path)
    writer.replace_table(SUMMARY, rounded(analysed.summary))
    writer.replace_table(COMPARISON, rounded(analysed.comparison))
    files = [path / SUMMARY.filename, path / COMPARISON.filename]
    if chosen == "csv":
        return Output(rounded(analysed.comparison).to_csv(index=False, na_rep=""), files)
    writer.write_text(REPORT_FILE, render_html(build_view(analysed, lock_text=_lock_text(path))))
    files.append(path / REPORT_FILE)
    return Output("\n".join(str(f) for f in files), files)


def compare_runs(
    paths: Sequence[Path],
    *,
    fmt: str = "csv",
    baseline: str | None = None,
    alpha: float = DEFAULT_ALPHA,
) -> Output:
    """Compare variants across runs, e.g. before and after a change; writes no file.

    Variants are named ``<run>/<variant>``, ``<run>`` being the run directory name (or a
    numbered one when two runs share a name). ``baseline`` may name a variant of the first run
    or a ``<run>/<variant>``; default: the first run's baseline.
    """
    chosen = check_format(fmt)
    if len(paths) < 1:
        raise UsageError("no run directory given", hint="pass one or more run directories")
    merged = merge_runs([analyse_run(load_run(p), alpha=alpha) for p in paths], baseline, alpha)
    if chosen == "json":
        return Output(json_view(merged))
    if chosen == "csv":
        return Output(rounded(merged.comparison).to_csv(index=False, na_rep=""))
    view = build_view(merged, lock_text="", timelines_on=False)
    view["title"] = "hpalab compare: " + " vs ".join(dict.fromkeys(a for a in _labels(paths)))
    return Output(render_html(view))


def rounded(frame: pd.DataFrame, *, decimals: int = 4) -> pd.DataFrame:
    """``frame`` with float columns rounded: CSV cells without binary-fraction noise."""
    floats = frame.select_dtypes("float").columns
    return frame.assign(**{c: frame[c].round(decimals) for c in floats})


def _labels(paths: Sequence[Path]) -> list[str]:
    labels: list[str] = []
    for path in paths:
        label = path.resolve().name
        labels.append(label if label not in labels else f"{label}-{len(labels) + 1}")
    return labels


def merge_runs(runs: list[AnalysedRun], baseline: str | None, alpha: float) -> AnalysedRun:
    """One analysed run holding every variant of ``runs``, labelled by run."""
    labels = _labels([a.run.path for a in runs])
    summaries, variants, info, findings = [], [], {}, []
    for label, a in zip(labels, runs, strict=True):
        s = a.summary.copy()
        s["variant"] = label + "/" + s["variant"].astype(str)
        s["trial_id"] = label + "/" + s["trial_id"].astype(str)
        summaries.append(s)
        for v in a.variants:
            variants.append(f"{label}/{v}")
            info[f"{label}/{v}"] = a.info[v]
        findings += [
            Finding(f.severity, f"{label}/{f.subject}", f.message, f.advice)
            for f in a.findings
            if f.subject == "run" or "too few repetitions" not in f.message
        ]
    summary = pd.concat(summaries, ignore_index=True)
    chosen = _merged_baseline(baseline, labels, runs, variants)
    comparison = compare(summary[usable(summary)], baseline=chosen, variants=variants, alpha=alpha)
    findings += [
        f
        for f in reliability_findings(summary, run_status="complete", baseline=chosen, alpha=alpha)
        if "repetition" in f.message
    ]
    first = runs[0]
    return AnalysedRun(
        run=RunData(
            first.run.path,
            first.run.manifest,
            None,
            None,
            pd.DataFrame(),
            pd.DataFrame(),
            pd.DataFrame(),
        ),
        variants=variants,
        baseline=chosen,
        alpha=alpha,
        info=info,
        traces={},
        episodes={},
        summary=summary,
        comparison=comparison,
        findings=findings,
        bands=[],
    )


def _merged_baseline(
    baseline: str | None, labels: list[str], runs: list[AnalysedRun], variants: list[str]
) -> str:
    if baseline is None:
        return f"{labels[0]}/{runs[0].baseline}"
    for candidate in (baseline, f"{labels[0]}/{baseline}"):
        if candidate in variants:
            return candidate
    raise UsageError(
        f"unknown baseline variant {baseline!r}", hint=f"choose one of: {', '.join(variants)}"
    )


def _lock_text(path: Path) -> str:
    lock = path / LOCK_FILE
    return lock.read_text(encoding="utf-8") if lock.is_file() else "(no experiment.lock.yaml)"

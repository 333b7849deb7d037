import pandas as pd

from hpalab.analysis.reliability import (
    format_findings,
    group_findings,
    reliability_findings,
    usable,
)


def _summary(rows):
    base = {"status": "complete", "load_error_pct": 0.0, "gaps_pct": 0.0, "duration_s": 600.0}
    return pd.DataFrame([{**base, **r} for r in rows])


def _trials(variant, n, **extra):
    return [{"trial_id": f"{variant}#{i}", "variant": variant, **extra} for i in range(1, n + 1)]


def test_a_clean_run_with_enough_repetitions_has_no_findings():
    summary = _summary(_trials("a", 5) + _trials("b", 5))
    assert reliability_findings(summary, run_status="complete", baseline="a", alpha=0.05) == []


def test_every_reason_is_reported_errors_first():
    rows = _trials("a", 3) + _trials("b", 3)
    rows[1]["load_error_pct"] = 30.0
    rows[2]["gaps_pct"] = 20.0
    rows[4]["status"] = "failed"
    rows[5]["duration_s"] = 120.0
    summary = _summary(rows)
    findings = reliability_findings(
        summary,
        run_status=None,
        baseline="a",
        alpha=0.05,
        stabilization_s={"b": 300.0},
        incident_counts={"a#3": 2},
    )
    text = "\n".join(format_findings(findings))
    assert findings[0].severity == "error" and "manifest" in findings[0].message
    assert "load shortfall" in text and "a#2" in text
    assert "metric gaps" in text
    assert "b#2: trial is failed" in text
    assert "b: too few repetitions: with 2 against 2" in text  # a#2 and b#2 left out
    assert "shorter than the stabilization window" in text
    assert "2 fault/collector/warning events" in text
    assert list(usable(summary)) == [True, False, True, True, False, True]


def test_too_few_repetitions_explains_the_rank_test_limit():
    summary = _summary(_trials("a", 3) + _trials("b", 3))
    [finding] = reliability_findings(summary, run_status="complete", baseline="a", alpha=0.05)
    assert finding.subject == "b" and "best possible p = 0.10" in finding.message


def test_repeated_findings_are_grouped_by_kind():
    rows = _trials("a", 2) + _trials("b", 2) + _trials("c", 2) + _trials("d", 2)
    rows[0]["load_error_pct"] = 30.0
    rows[1]["load_error_pct"] = 30.0
    summary = _summary(rows)
    windows = {"a": 900.0, "b": 900.0, "c": 900.0, "d": 900.0}
    findings = reliability_findings(
        summary, run_status="complete", baseline="b", alpha=0.05, stabilization_s=windows
    )
    groups = group_findings(findings)
    headlines = [g.headline for g in groups]
    assert "2 trials: load shortfall" in headlines
    assert "2 variants: too few repetitions" in headlines  # c and d against b
    assert "4 variants: trial shorter than the stabilization window" in headlines
    # the variant with no usable trial is alone of its kind: shown with its subject
    assert "a: only 0 usable repetition(s)" in headlines
    assert sum(len(g.findings) for g in groups) == len(findings)
    assert groups[0].severity == "error"

import pandas as pd

from hpalab.analysis.reliability import format_findings, reliability_findings, usable


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

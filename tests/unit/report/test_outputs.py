import json
import re

import pandas as pd
import pytest

from hpalab.errors import BadInput, UsageError
from hpalab.report.outputs import compare_runs, report_run
from hpalab.results.schema import COMPARISON, SUMMARY
from hpalab.results.store import read_table

from .conftest import XSS


def test_html_report_writes_every_file_and_is_self_contained(run_dir):
    output = report_run(run_dir)
    assert [f.name for f in output.files] == ["summary.csv", "comparison.csv", "report.html"]
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    for section in ("warnings", "verdict", "waterfall", "timelines", "all-metrics", "spec"):
        assert f'id="{section}"' in html
    assert html.index('id="warnings"') < html.index('id="verdict"') < html.index('id="timelines"')
    # Offline: no external resources of any kind.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html
    assert html.count('<svg class="chart timeline"') == 6
    assert "Which tuning is better?" in html


def test_user_strings_are_escaped(run_dir):
    report_run(run_dir)
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script") == 1  # only the report's own script


def test_summary_and_comparison_follow_the_contract(run_dir):
    report_run(run_dir, fmt="csv")
    summary = read_table(run_dir, SUMMARY)
    comparison = read_table(run_dir, COMPARISON)
    assert list(summary.columns[:4]) == list(SUMMARY.names)
    assert len(summary) == 6 and "time_to_capacity_s" in summary.columns
    assert list(comparison.columns) == list(COMPARISON.names)
    assert set(comparison["verdict"]) <= {"better", "worse", "inconclusive", "baseline"}
    assert set(comparison[comparison["variant"] == "baseline"]["verdict"]) == {"baseline"}


def test_csv_and_json_formats(run_dir):
    csv_text = report_run(run_dir, fmt="csv").text
    assert csv_text.splitlines()[0] == ",".join(COMPARISON.names)
    assert not (run_dir / "report.html").exists()
    doc = json.loads(report_run(run_dir, fmt="json").text)
    assert doc["baseline"] == "baseline"
    assert {"findings", "summary", "comparison", "bands"} <= set(doc)
    assert any("too few repetitions" in f["message"] for f in doc["findings"])
    assert (
        doc["bands"]
        and doc["bands"][0]["predicted_detection_s"][0]
        <= doc["bands"][0]["predicted_detection_s"][2]
    )


def test_report_is_reproducible_from_the_files_alone(run_dir):
    report_run(run_dir, fmt="csv")
    first = (run_dir / "comparison.csv").read_text()
    report_run(run_dir, fmt="csv")
    assert (run_dir / "comparison.csv").read_text() == first


def test_a_killed_run_without_manifest_or_lock_still_reports_with_warnings(run_dir):
    (run_dir / "manifest.json").unlink()
    (run_dir / "experiment.lock.yaml").unlink()
    doc = json.loads(report_run(run_dir, fmt="json").text)
    messages = [f["message"] for f in doc["findings"]]
    assert doc["findings"][0]["severity"] == "error"
    assert any("manifest.json" in m for m in messages)
    assert any("experiment.lock.yaml is missing" in m for m in messages)
    assert doc["bands"] == []


def test_load_shortfall_trial_is_left_out(run_dir):
    ts = pd.read_csv(run_dir / "timeseries.csv")
    achieved = (ts["trial_id"] == "baseline#1") & (ts["signal"] == "achieved_rps")
    ts.loc[achieved, "value"] = ts.loc[achieved, "value"] * 0.5
    ts.to_csv(run_dir / "timeseries.csv", index=False)
    doc = json.loads(report_run(run_dir, fmt="json").text)
    assert any(
        f["subject"] == "baseline#1" and "load shortfall" in f["message"] for f in doc["findings"]
    )
    row = next(
        r
        for r in doc["comparison"]
        if r["variant"] == "baseline" and r["metric"] == "cost_replica_s"
    )
    assert row["n"] == 1


def test_bad_inputs(tmp_path, run_dir):
    with pytest.raises(BadInput, match="does not exist"):
        report_run(tmp_path / "nope")
    with pytest.raises(BadInput, match="not a run directory"):
        report_run(tmp_path)
    with pytest.raises(UsageError, match="unknown format"):
        report_run(run_dir, fmt="pdf")
    with pytest.raises(UsageError, match="unknown baseline"):
        report_run(run_dir, baseline="nope")
    trials = run_dir / "trials.csv"
    trials.write_text(trials.read_text().splitlines()[0] + "\n")
    with pytest.raises(UsageError, match="no trials yet"):
        report_run(run_dir)


def test_compare_across_runs(run_dir, synthetic_run_dir):
    text = compare_runs([synthetic_run_dir, run_dir], fmt="csv").text
    table = pd.read_csv(pd.io.common.StringIO(text))
    labels = set(table["variant"])
    assert f"{run_dir.name}/baseline" in labels
    assert f"{run_dir.name}-2/baseline" in labels
    first = table[table["variant"] == f"{run_dir.name}/baseline"]
    assert set(first["verdict"]) == {"baseline"}
    html = compare_runs([synthetic_run_dir, run_dir], fmt="html", baseline="fast-sync").text
    assert "hpalab compare" in html and XSS not in html
    assert f"{run_dir.name}/fast-sync" in html
    with pytest.raises(UsageError, match="unknown baseline"):
        compare_runs([run_dir], baseline="nope")


def test_ramp_profile_gets_a_band_that_contains_the_measured_detection(tmp_path):
    from hpalab.report.synthetic import SyntheticVariant, write_synthetic_run

    run = write_synthetic_run(
        tmp_path, variants=(SyntheticVariant("baseline"),), repetitions=2, duration_s=300, ramp=True
    )
    doc = json.loads(report_run(run, fmt="json").text)
    [band] = doc["bands"]
    low, typical, high = band["predicted_detection_s"]
    assert 0 < low <= typical <= high != "inf"
    assert all(low - 1 <= d <= high + 1 for d in band["detection_s"])
    assert "detection" not in band["outside"]


def test_ten_variants_three_repetitions_ten_minutes_fit_in_five_megabytes(tmp_path):
    from hpalab.report.synthetic import SyntheticVariant, write_synthetic_run

    variants = tuple(SyntheticVariant(f"v{i}", sync_period_s=5 + i) for i in range(10))
    run = write_synthetic_run(tmp_path, variants=variants, repetitions=3, duration_s=600)
    report_run(run)
    html = (run / "report.html").read_text(encoding="utf-8")
    assert html.count('<svg class="chart timeline"') == 30
    assert len(html.encode()) <= 5 * 1024 * 1024

"""``hpalab load`` end to end: a real Locust against the sample app, output on stdout."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

HPALAB = [sys.executable, "-m", "hpalab.cli.main"]
REQUIRED = (
    "t_s",
    "offered_rps",
    "achieved_rps",
    "failures",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
)


def write_profile(path: Path, stages: str) -> Path:
    path.write_text(
        "apiVersion: hpalab/v1\nkind: LoadProfile\nmetadata: {name: t}\n"
        f"spec:\n  arrivals: {{process: uniform}}\n  stages:\n{stages}"
    )
    return path


def test_json_prints_one_object_per_second_from_zero(tmp_path, sample_app):
    port = sample_app()
    profile = write_profile(
        tmp_path / "p.yaml", "    - {type: ramp, from: 10, to: 50, duration: 10s}\n"
    )
    args = ["load", str(profile), "--url", f"http://127.0.0.1:{port}", "--json", "--duration", "3s"]
    done = subprocess.run([*HPALAB, *args], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["t_s"] for r in rows] == [0, 1, 2]
    for row in rows:
        assert set(REQUIRED) <= row.keys()
        assert row["achieved_rps"] == pytest.approx(row["offered_rps"], abs=2)
    assert rows[0]["offered_rps"] < rows[2]["offered_rps"]  # the ramp, cut at 3 s
    assert "complete" in done.stderr


def test_overloaded_app_exits_3_with_the_reason(tmp_path, sample_app):
    port = sample_app("--cpu-per-request", "50ms")  # about 20 requests/s
    profile = write_profile(tmp_path / "p.yaml", "    - {type: hold, rps: 60, duration: 5s}\n")
    done = subprocess.run(
        [*HPALAB, "load", str(profile), "--url", f"http://127.0.0.1:{port}"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    assert "t_s" in done.stdout.splitlines()[0]  # the table header
    assert len(done.stdout.splitlines()) == 1 + 5
    assert "load_shortfall" in done.stderr and "app_overloaded" in done.stderr

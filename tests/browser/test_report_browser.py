"""The report opened in a real headless Chromium (Debian's ``chromium``).

Checks that the page runs without console messages, that every chart rendered and the report
script wired them, that a hostile variant name stays text, and keeps a screenshot in
test-artifacts/report.png.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hpalab.report.outputs import report_run
from hpalab.report.synthetic import SyntheticVariant, write_synthetic_run

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
XSS = "<script>alert(1)</script>"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=5000",
)


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "Debian's chromium is not installed; install it with "
            "`apt-get install -y --no-install-recommends chromium` (scripts/setup installs it)",
            pytrace=False,
        )
    return path


def _open(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [_chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _console(stderr: str) -> list[str]:
    """Every message the page wrote to its console (errors, uncaught exceptions, logs)."""
    return [line for line in stderr.splitlines() if re.search(r":CONSOLE(\(|:|\])", line)]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    variants = (
        SyntheticVariant("baseline"),
        SyntheticVariant("fast-sync", sync_period_s=5),
        SyntheticVariant(XSS, rate_window_s=30),
    )
    run = write_synthetic_run(
        tmp_path_factory.mktemp("browser"), variants=variants, repetitions=3, duration_s=600
    )
    report_run(run)
    return run / "report.html"


def test_the_console_check_catches_a_broken_page(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>noSuchFunction();</script></body></html>")
    result = _open(page.as_uri(), tmp_path, "--dump-dom")
    assert any("noSuchFunction" in line for line in _console(result.stderr))


def test_report_runs_clean_and_every_chart_renders(report, tmp_path):
    result = _open(report.as_uri(), tmp_path, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert _console(result.stderr) == []
    dom = result.stdout
    timelines = dom.count('class="chart timeline"')
    assert timelines == 9
    # The report script ran to its end and wired every timeline.
    assert f'data-charts-ready="{timelines}"' in dom
    assert dom.count("<polyline") > 9 * 8
    assert dom.count('class="chart bars"') == 1
    assert 'class="verdict"' in dom


def test_hover_zoom_and_reset_work(report, tmp_path):
    result = _open(report.as_uri() + "#selftest", tmp_path, "--window-size=1280,2400", "--dump-dom")
    assert _console(result.stderr) == []
    assert 'data-selftest="hover zoom reset"' in result.stdout


def test_hostile_variant_name_stays_text(report, tmp_path):
    dom = _open(report.as_uri(), tmp_path, "--dump-dom").stdout
    assert dom.count("<script") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom


def test_screenshot_is_kept(report, tmp_path):
    target = ROOT / "test-artifacts" / "report.png"
    target.parent.mkdir(exist_ok=True)
    target.unlink(missing_ok=True)
    result = _open(
        report.as_uri(),
        tmp_path,
        "--hide-scrollbars",
        "--window-size=1280,2400",
        f"--screenshot={target}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000

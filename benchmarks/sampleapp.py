"""Requests per second one sample-app replica serves on this machine, measured with wrk.

Runs the replica as its own process (as the local platform does) and drives it with
``wrk`` (Debian package ``wrk``) for a few seconds per scenario: trivial requests, and
requests that burn CPU, whose ideal rate is 1 / CPU per request. Prints one line per
scenario and the ratio against that ideal.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hpalab.platforms.local.ports import free_port, wait_http_ok  # noqa: E402

DURATION_S = 5
SCENARIOS = (("trivial", "0"), ("cpu 1ms", "1ms"), ("cpu 2ms", "2ms"))


def wrk_rps(url: str, *, connections: int, duration_s: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration_s}s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return float(match.group(1))


def run_scenario(cpu: str) -> float:
    port = free_port()
    app = subprocess.Popen(
        [sys.executable, "-m", "hpalab.sampleapp", "--port", str(port), "--cpu-per-request", cpu],
        cwd=ROOT,
    )
    try:
        if not wait_http_ok(f"http://127.0.0.1:{port}/readyz", timeout_s=10):
            raise RuntimeError("the sample app did not become ready")
        return wrk_rps(f"http://127.0.0.1:{port}/", connections=16, duration_s=DURATION_S)
    finally:
        app.terminate()
        app.wait(timeout=10)


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    print(f"sample app, one replica, wrk -t1 -c16 -d{DURATION_S}s")
    for name, cpu in SCENARIOS:
        rps = run_scenario(cpu)
        seconds = float(cpu.removesuffix("ms")) / 1000 if cpu != "0" else 0.0
        ideal = f"  ({rps * seconds:.2f} of the ideal {1 / seconds:.0f}/s)" if seconds else ""
        print(f"  {name:8s} {rps:9.0f} requests/s{ideal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

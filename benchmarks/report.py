"""How long ``hpalab report`` takes on a run of 10 variants × 3 repetitions × 10 minutes.

Builds a synthetic run (realistic signals and events: 13 signals per second, HPA syncs, pod
lifecycles) in a temporary directory, then times ``hpalab report RUN_DIR`` as a user runs it
(a fresh process, so interpreter start and imports count) and in-process (analysis and
rendering only). Prints the seconds, the report size, and the ratio against the budget
(3 s, 5 MB).

    .venv/bin/python benchmarks/report.py [--repeat N]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hpalab.report.outputs import report_run  # noqa: E402
from hpalab.report.synthetic import SyntheticVariant, write_synthetic_run  # noqa: E402

BUDGET_S = 3.0
BUDGET_BYTES = 5 * 1024 * 1024

VARIANTS = (
    SyntheticVariant("baseline"),
    SyntheticVariant("sync-5s", sync_period_s=5),
    SyntheticVariant("sync-30s", sync_period_s=30),
    SyntheticVariant("window-30s", rate_window_s=30),
    SyntheticVariant("window-2m", rate_window_s=120),
    SyntheticVariant("target-20", target_rps=20),
    SyntheticVariant("target-5", target_rps=5),
    SyntheticVariant("startup-15s", startup_delay_s=15),
    SyntheticVariant("stabilize-up-60s", stabilization_up_s=60),
    SyntheticVariant("fast-everything", sync_period_s=5, rate_window_s=30),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (median is shown)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        run = write_synthetic_run(Path(tmp), variants=VARIANTS, repetitions=3, duration_s=600)
        print(
            f"synthetic run: 10 variants × 3 repetitions × 600 s, "
            f"built in {time.perf_counter() - started:.1f} s"
        )
        cli, cpu, inproc = [], [], []
        for _ in range(args.repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(
                [str(ROOT / ".venv/bin/hpalab"), "report", str(run)],
                check=True,
                capture_output=True,
            )
            cli.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            started = time.perf_counter()
            report_run(run)
            inproc.append(time.perf_counter() - started)
        size = (run / "report.html").stat().st_size
    cli_s, inproc_s = statistics.median(cli), statistics.median(inproc)
    print(f"hpalab report (new process): {cli_s:.2f} s  ({cli_s / BUDGET_S:.0%} of {BUDGET_S:g} s)")
    print(f"  CPU time of that process:  {statistics.median(cpu):.2f} s (less sensitive to load)")
    print(f"report_run (in process):     {inproc_s:.2f} s")
    print(f"report.html: {size / 1024 / 1024:.2f} MB  ({size / BUDGET_BYTES:.0%} of 5 MB)")


if __name__ == "__main__":
    main()

"""How accurate and how fast hpalab's load driver is, each figure against a same-run baseline.

(a) Accuracy: a uniform ramp from 10 to 1,000 requests/s over 60 s against one sample-app
    replica. Requests are counted at the server (``http_requests_total`` scraped at every 5 s
    boundary of the profile) and in the driver; every 5 s window's achieved/offered ratio must
    stay within ±3%. Prints the worst window of each count.
(b) Throughput: the highest rate hpalab's driver delivers within 3% of the offered rate (the
    offered rate ramps up past what the generator can do) against plain ``locust`` with a
    FastHttpUser and no wait, in alternating rounds; the saturated peak is printed too. The
    target is haproxy answering a static 200 (much faster than either generator, so the
    generator is what is measured); requests are counted at the server. Ratio ≥ 0.9.
(c) Workers: the same highest rate with ``workers: 2`` against ``workers: 1``.

Usage: ``.venv/bin/python benchmarks/load.py [--quick]`` (``--quick``: one round, 30 s ramp).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hpalab.load.driver import LoadRun  # noqa: E402
from hpalab.load.job import LoadJob  # noqa: E402
from hpalab.load.processes import free_port  # noqa: E402
from hpalab.load.samples import LoadSample  # noqa: E402
from hpalab.platforms.local.ports import wait_http_ok  # noqa: E402
from hpalab.specs.profiles import ProfileSpec  # noqa: E402

WINDOW_S = 5
QUIET = ("--only-summary", "--loglevel", "WARNING")
PLAIN_USERS = 64
PLAIN_LOCUSTFILE = """
from locust import FastHttpUser, constant, task

class Plain(FastHttpUser):
    wait_time = constant(0)

    @task
    def root(self):
        self.client.get("/")
"""
HAPROXY_CFG = """
global
    nbthread 1
defaults
    mode http
    timeout client 10s
    timeout connect 5s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    http-request use-service prometheus-exporter if {{ path /metrics }}
    http-request return status 200 content-type text/plain string ok
"""


def profile(stages: list[dict[str, object]]) -> ProfileSpec:
    data = {"stages": stages, "arrivals": {"process": "uniform"}}
    return ProfileSpec.model_validate_json(json.dumps(data))


def scrape_total(url: str, metric: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(float(v) for v in re.findall(rf"^{metric}(?:{{.*}})? (\S+)$", text, re.M))


def start(argv: list[str], workdir: Path) -> subprocess.Popen[bytes]:
    log = (workdir / f"{Path(argv[0]).name}-{time.monotonic_ns()}.log").open("wb")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# (a) accuracy ---------------------------------------------------------------------------------


def accuracy(workdir: Path, *, ramp_s: int) -> bool:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = start([sys.executable, "-m", "hpalab.sampleapp", "--port", str(port)], workdir)
    try:
        if not wait_http_ok(f"{url}/readyz", timeout_s=15):
            raise RuntimeError("the sample app did not start")
        spec = profile([{"type": "ramp", "from": 10, "to": 1000, "duration": f"{ramp_s}s"}])
        job = LoadJob(url=url, profile=spec)
        served, samples = _run_counting_at_server(job, workdir / "accuracy", url)
    finally:
        stop(app)
    curve = job.curve()
    print(f"(a) accuracy: uniform ramp 10 → 1000 requests/s over {ramp_s} s, one sample app")
    print(f"    {'window':>9} {'offered':>8} {'server':>8} {'ratio':>7} {'driver':>8} {'ratio':>7}")
    worst_server = worst_driver = 0.0
    for k in range(ramp_s // WINDOW_S):
        a, b = k * WINDOW_S, (k + 1) * WINDOW_S
        offered = curve.requests_between(a, b, step_s=0.01)
        at_server = served[k + 1] - served[k]
        in_driver = sum(s.achieved_rps for s in samples[a:b])
        r_server, r_driver = at_server / offered, in_driver / offered
        worst_server = max(worst_server, abs(r_server - 1))
        worst_driver = max(worst_driver, abs(r_driver - 1))
        print(
            f"    {a:>3}-{b:<3} s {offered:8.0f} {at_server:8.0f} {r_server:7.4f} "
            f"{in_driver:8d} {r_driver:7.4f}"
        )
    ok = worst_server <= 0.03 and worst_driver <= 0.03
    print(
        f"    worst 5 s window: server {worst_server:.2%}, driver {worst_driver:.2%} "
        f"(limit 3%): {'PASS' if ok else 'FAIL'}"
    )
    return ok


def _run_counting_at_server(
    job: LoadJob, workdir: Path, url: str
) -> tuple[list[float], list[LoadSample]]:
    """Run ``job``; scrape the server's request counter at each 5 s boundary of the profile."""
    windows = int(job.curve().duration_s) // WINDOW_S
    served: list[float] = []
    with LoadRun(job, workdir=workdir) as run:

        def scraper() -> None:
            while run.t0_epoch is None:
                time.sleep(0.01)
            for k in range(windows + 1):
                # 10 ms after each boundary: requests end ~1 ms after they start.
                time.sleep(max(0.0, run.t0_epoch + k * WINDOW_S + 0.01 - time.time()))
                served.append(scrape_total(url, "http_requests_total"))

        thread = threading.Thread(target=scraper, daemon=True)
        thread.start()
        samples = list(run.samples())
        thread.join(timeout=10)
    if run.outcome.status not in ("complete", "load_shortfall"):
        raise RuntimeError(f"the load failed: {run.outcome.reason}")
    return served, samples


# (b), (c) throughput ---------------------------------------------------------------------------


def rate_at_server(url: str, metric: str, *, warmup_s: float, measure_s: float) -> float:
    """Requests/s the server counts over ``measure_s``, once traffic flows plus ``warmup_s``."""
    deadline = time.monotonic() + 60
    first = scrape_total(url, metric)
    while scrape_total(url, metric) - first < 50:
        if time.monotonic() > deadline:
            raise RuntimeError("no traffic reached the server")
        time.sleep(0.1)
    time.sleep(warmup_s)
    a, t_a = scrape_total(url, metric), time.monotonic()
    time.sleep(measure_s)
    b, t_b = scrape_total(url, metric), time.monotonic()
    return (b - a - 1) / (t_b - t_a)  # minus the scrape itself


def plain_locust_rps(url: str, metric: str, workdir: Path, *, seconds: int) -> float:
    locustfile = workdir / "plain_locustfile.py"
    locustfile.write_text(PLAIN_LOCUSTFILE)
    args = ["-u", str(PLAIN_USERS), "-r", str(PLAIN_USERS), "-t", f"{seconds}s", "--host", url]
    proc = start(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", *args, *QUIET],
        workdir,
    )
    try:
        return rate_at_server(url, metric, warmup_s=3, measure_s=seconds - 6)
    finally:
        stop(proc)


def hpalab_max_rps(
    url: str, metric: str, workdir: Path, *, top_rps: float, workers: int, seconds: int = 30
) -> tuple[float, float]:
    """Ramp the offered rate up to ``top_rps``; return (highest rate delivered within 3% over
    3 s, highest rate delivered at all over 3 s), both counted at the server."""
    stages = [{"type": "ramp", "from": top_rps / 5, "to": top_rps, "duration": f"{seconds}s"}]
    job = LoadJob(url=url, profile=profile(stages), workers=workers)
    per_second: list[float] = []
    with LoadRun(job, workdir=workdir / f"hpalab-{workers}-{time.monotonic_ns()}") as run:

        def scraper() -> None:
            while run.t0_epoch is None:
                time.sleep(0.01)
            for k in range(seconds + 1):
                time.sleep(max(0.0, run.t0_epoch + k + 0.01 - time.time()))
                per_second.append(scrape_total(url, metric))

        thread = threading.Thread(target=scraper, daemon=True)
        thread.start()
        samples = list(run.samples())
        thread.join(timeout=10)
    served = [b - a for a, b in itertools.pairwise(per_second)]
    accurate = peak = 0.0
    for start in range(len(served) - 2):
        rate = sum(served[start : start + 3]) / 3
        offered = sum(s.offered_rps for s in samples[start : start + 3]) / 3
        peak = max(peak, rate)
        if abs(rate / offered - 1) <= 0.03:
            accurate = max(accurate, rate)
    return accurate, peak


def fast_target(workdir: Path) -> tuple[subprocess.Popen[bytes], str, str, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if shutil.which("haproxy"):
        cfg = workdir / "haproxy.cfg"
        cfg.write_text(HAPROXY_CFG.format(port=port))
        proc = start(["haproxy", "-f", str(cfg), "-db"], workdir)
        metric, name = "haproxy_frontend_http_requests_total", "haproxy (static 200, one thread)"
    else:
        proc = start([sys.executable, "-m", "hpalab.sampleapp", "--port", str(port)], workdir)
        metric, name = "http_requests_total", "the sample app (haproxy missing)"
    if not wait_http_ok(f"{url}/", timeout_s=15):
        stop(proc)
        raise RuntimeError(f"{name} did not start")
    return proc, url, metric, name


def throughput(workdir: Path, *, rounds: int) -> bool:
    proc, url, metric, name = fast_target(workdir)
    try:
        plain, ours, saturated, one, two = [], [], [], [], []
        for _ in range(rounds):
            plain.append(plain_locust_rps(url, metric, workdir, seconds=16))
            top = 1.6 * plain[-1]
            accurate, peak = hpalab_max_rps(
                url, metric, workdir, top_rps=top, seconds=30, workers=0
            )
            ours.append(accurate)
            saturated.append(peak)
            one.append(hpalab_max_rps(url, metric, workdir, top_rps=top, seconds=30, workers=1)[0])
            two.append(
                hpalab_max_rps(url, metric, workdir, top_rps=2 * top, seconds=30, workers=2)[0]
            )
    finally:
        stop(proc)
    ratio = statistics.median(ours) / statistics.median(plain)
    verdict = "PASS" if ratio >= 0.9 else "FAIL"
    print(f"(b) throughput against {name}, counted at the server, {rounds} alternating rounds")
    print(f"    plain locust FastHttpUser, {PLAIN_USERS} users, no wait: {_fmt(plain)}")
    print("    hpalab driver, one process, offered rate ramped up to 1.6× plain:")
    print(f"      highest rate delivered within 3% (3 s windows): {_fmt(ours)}")
    print(f"      highest rate delivered at all (saturated):        {_fmt(saturated)}")
    print(f"    ratio of medians hpalab (within 3%) / plain: {ratio:.3f} (≥ 0.9): {verdict}")
    scale = statistics.median(two) / statistics.median(one)
    print("(c) workers (a master and N worker processes), highest rate delivered within 3%")
    print(f"    workers: 1  {_fmt(one)}")
    print(f"    workers: 2  {_fmt(two)}")
    print(f"    ratio of medians 2 workers / 1 worker: {scale:.3f}")
    return ratio >= 0.9


def _fmt(values: list[float]) -> str:
    return (
        ", ".join(f"{v:,.0f}" for v in values)
        + f" requests/s (median {statistics.median(values):,.0f})"
    )


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    print(f"machine: {_cpus()} CPUs, load average {_load()} at start")
    with tempfile.TemporaryDirectory(prefix="hpalab-bench-load-") as tmp:
        workdir = Path(tmp)
        ok = accuracy(workdir, ramp_s=30 if quick else 60)
        ok = throughput(workdir, rounds=1 if quick else 3) and ok
    print(f"load average at the end {_load()}")
    return 0 if ok else 1


def _cpus() -> int:
    return os.cpu_count() or 0


def _load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())

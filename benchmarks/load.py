"""How accurate and how fast hpalab's load driver is, each figure against a same-run baseline.

(a) Accuracy: a uniform ramp from 10 to 1,000 requests/s over 60 s against one sample-app
    replica. Requests are counted at the server (``http_requests_total`` scraped at every 5 s
    boundary of the profile) and in the driver; every 5 s window's achieved/offered ratio must
    stay within ±3%. Prints the worst window of each count.
(b) Throughput: the maximum rate of hpalab's driver (one process offered twice what plain
    Locust reached, so it is saturated) against plain ``locust`` with a FastHttpUser and no
    wait, in alternating rounds. The target is haproxy answering a static 200 (much faster
    than either generator, so the generator is what is measured); requests are counted at the
    server and the generator's CPU is measured over the same seconds. The machine is shared,
    so a process rarely gets a whole core: the figure held to ≥ 0.9 is the rate per generator
    core (requests per CPU-second), with the raw rates printed beside it, and the highest rate
    delivered within 3% of a rising offered rate (3 s windows).
(c) Workers: the saturated rate with ``workers: 2`` against ``workers: 1``.

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
from dataclasses import dataclass
from pathlib import Path

import psutil

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


@dataclass(frozen=True)
class Rate:
    """Requests/s counted at the server, and the generator's CPU over the same seconds."""

    rps: float
    cores: float

    @property
    def per_core(self) -> float:
        """Requests per CPU-second of the generator: its rate were it given one whole core."""
        return self.rps / self.cores if self.cores else 0.0


def rate_at_server(
    url: str, metric: str, pids: list[int], *, warmup_s: float, measure_s: float
) -> Rate:
    """The server's rate over ``measure_s`` once traffic flows plus ``warmup_s``, with the CPU
    that the processes ``pids`` used meanwhile."""
    deadline = time.monotonic() + 60
    first = scrape_total(url, metric)
    while scrape_total(url, metric) - first < 50:
        if time.monotonic() > deadline:
            raise RuntimeError("no traffic reached the server")
        time.sleep(0.1)
    time.sleep(warmup_s)
    procs = [psutil.Process(pid) for pid in pids]
    cpu_a, a, t_a = _cpu(procs), scrape_total(url, metric), time.monotonic()
    time.sleep(measure_s)
    cpu_b, b, t_b = _cpu(procs), scrape_total(url, metric), time.monotonic()
    return Rate((b - a - 1) / (t_b - t_a), (cpu_b - cpu_a) / (t_b - t_a))  # minus the scrape


def _cpu(procs: list[psutil.Process]) -> float:
    return float(sum(p.cpu_times().user + p.cpu_times().system for p in procs))


def plain_locust(url: str, metric: str, workdir: Path, *, seconds: int) -> Rate:
    locustfile = workdir / "plain_locustfile.py"
    locustfile.write_text(PLAIN_LOCUSTFILE)
    args = ["-u", str(PLAIN_USERS), "-r", str(PLAIN_USERS), "-t", f"{seconds}s", "--host", url]
    proc = start(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", *args, *QUIET],
        workdir,
    )
    try:
        return rate_at_server(url, metric, [proc.pid], warmup_s=3, measure_s=seconds - 6)
    finally:
        stop(proc)


def hpalab_saturated(
    url: str, metric: str, workdir: Path, *, rps: float, workers: int, seconds: int = 16
) -> Rate:
    """The driver offered ``rps`` (more than it can send) for ``seconds``."""
    hold = profile([{"type": "hold", "rps": rps, "duration": f"{seconds}s"}])
    job = LoadJob(url=url, profile=hold, workers=workers)
    result: list[Rate] = []
    with LoadRun(job, workdir=workdir / f"hpalab-{workers}-{time.monotonic_ns()}") as run:
        pids = [p.proc.pid for p in run.processes]
        thread = threading.Thread(
            target=lambda: result.append(
                rate_at_server(url, metric, pids, warmup_s=3, measure_s=seconds - 6)
            ),
            daemon=True,
        )
        thread.start()
        for _ in run.samples():
            pass
        thread.join(timeout=30)
    if not result:
        raise RuntimeError(f"no rate measured: {run.outcome.status} {run.outcome.reason}")
    return result[0]


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
        plain, ours, accurate, one, two = [], [], [], [], []
        for _ in range(rounds):
            plain.append(plain_locust(url, metric, workdir, seconds=16))
            offered = 2 * plain[-1].rps
            ours.append(hpalab_saturated(url, metric, workdir, rps=offered, workers=0))
            top = 1.6 * plain[-1].rps
            accurate.append(hpalab_max_rps(url, metric, workdir, top_rps=top, workers=0)[0])
            one.append(hpalab_saturated(url, metric, workdir, rps=offered, workers=1))
            two.append(hpalab_saturated(url, metric, workdir, rps=2 * offered, workers=2))
    finally:
        stop(proc)
    med = statistics.median
    raw = med(r.rps for r in ours) / med(r.rps for r in plain)
    per_core = med(r.per_core for r in ours) / med(r.per_core for r in plain)
    within = med(accurate) / med(r.rps for r in plain)
    print(f"(b) throughput against {name}, counted at the server, {rounds} alternating rounds")
    print(f"    plain locust FastHttpUser, {PLAIN_USERS} users, no wait: {_fmt(plain)}")
    print(f"    hpalab driver, one process, offered 2× plain:      {_fmt(ours)}")
    print(f"    hpalab, highest rate within 3% of a rising offered rate: {_fmt_rps(accurate)}")
    print(
        f"    ratios of medians hpalab / plain: saturated {raw:.3f}; per generator core "
        f"{per_core:.3f}; within 3% {within:.3f}"
    )
    verdict = "PASS" if per_core >= 0.9 else "FAIL"
    print(f"    maximum rate per generator core, hpalab / plain: {per_core:.3f} (≥ 0.9): {verdict}")
    scale = med(r.rps for r in two) / med(r.rps for r in one)
    print("(c) workers (a master and N worker processes), saturated, counted at the server")
    print(f"    workers: 1  {_fmt(one)}")
    print(f"    workers: 2  {_fmt(two)}")
    print(f"    ratio of medians 2 workers / 1 worker: {scale:.3f}")
    return per_core >= 0.9


def _fmt_rps(values: list[float]) -> str:
    median = statistics.median(values)
    return ", ".join(f"{v:,.0f}" for v in values) + f" requests/s (median {median:,.0f})"


def _fmt(rates: list[Rate]) -> str:
    cores = ", ".join(f"{r.cores:.2f}" for r in rates)
    per_core = statistics.median(r.per_core for r in rates)
    return f"{_fmt_rps([r.rps for r in rates])}; CPU {cores} cores; {per_core:,.0f} per core"


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

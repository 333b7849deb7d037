"""Figures of the local platform on this machine.

- cold ``hpalab up`` (detached, one replica) until everything is Ready, and ``hpalab down``;
- resident memory of 10 replicas plus Prometheus (and of the whole lab);
- the front door's overhead: wrk against one replica directly and through HAProxy, same run;
- routing delay: from a new replica turning Ready to the first response it serves through
  the front door.

Needs ``prometheus``, ``haproxy`` and ``wrk`` (Debian packages of those names).
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hpalab.platforms.local.lab import stop_lab  # noqa: E402
from hpalab.platforms.local.platform import LocalPlatform  # noqa: E402
from hpalab.platforms.local.replicas import ProbeSettings, ReplicaTemplate  # noqa: E402
from hpalab.platforms.local.settings import LabSettings  # noqa: E402

HPALAB = [sys.executable, "-m", "hpalab.cli.main"]
ROUNDS = 3
MIB = 1024 * 1024


def time_up_down(work: Path) -> tuple[list[float], list[float]]:
    ups, downs = [], []
    for i in range(ROUNDS):
        lab = work / f"lab{i}"
        try:
            begin = time.monotonic()
            subprocess.run([*HPALAB, "up", "--lab-dir", str(lab)], check=True, capture_output=True)
            ups.append(time.monotonic() - begin)
            begin = time.monotonic()
            subprocess.run(
                [*HPALAB, "down", "--lab-dir", str(lab)], check=True, capture_output=True
            )
            downs.append(time.monotonic() - begin)
        finally:
            stop_lab(lab)  # a no-op after a successful `down`
    return ups, downs


def rss_mib(pids: dict[str, int]) -> dict[str, float]:
    out = {}
    for name, pid in pids.items():
        try:
            out[name] = psutil.Process(pid).memory_info().rss / MIB
        except psutil.Error:
            continue
    return out


def wrk(url: str) -> tuple[float, str]:
    text = subprocess.run(
        ["wrk", "-t1", "-c16", "-d5s", url], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    latency = re.search(r"Latency\s+(\S+)", text).group(1)  # type: ignore[union-attr]
    return rps, latency


def first_served_by(url: str, pod: str, *, timeout_s: float = 10.0) -> float:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        with urllib.request.urlopen(url, timeout=2) as response:
            if response.read().decode().strip() == f"ok {pod}":
                return time.time()
    raise RuntimeError(f"{pod} served nothing within {timeout_s} s")


def with_platform(work: Path) -> None:
    settings = LabSettings(
        template=ReplicaTemplate(), probe=ProbeSettings(period_s=1.0), initial_replicas=10
    )
    with LocalPlatform(work / "rss", settings) as platform:
        time.sleep(3)  # let Prometheus scrape all ten
        pids = platform.pids()
        rss = rss_mib(pids)
        replicas = sum(v for k, v in rss.items() if k.startswith("sample-app-"))
        lab = rss_mib({"lab": psutil.Process().pid})["lab"]
        print(f"memory, 10 replicas + Prometheus: {replicas + rss['prometheus']:.0f} MiB RSS")
        print(
            f"  replicas {replicas:.0f} MiB ({replicas / 10:.0f} each), prometheus "
            f"{rss['prometheus']:.0f}, haproxy {rss['haproxy']:.0f}, this process {lab:.0f}; "
            f"whole lab {sum(rss.values()) + lab:.0f} MiB"
        )
        assert platform.supervisor is not None
        platform._call(_scale(platform, 1))
        one = next(iter(platform.supervisor.replicas.values()))
        direct, direct_lat = wrk(f"http://127.0.0.1:{one.port}/")
        routed, routed_lat = wrk(platform.load_url + "/")
        print("front door (HAProxy), one replica, trivial requests, wrk -t1 -c16 -d5s:")
        print(f"  direct       {direct:8.0f} requests/s  mean latency {direct_lat}")
        print(f"  via HAProxy  {routed:8.0f} requests/s  mean latency {routed_lat}")
        print(f"  ratio        {routed / direct:.2f}")
        platform._call(_scale(platform, 2))
        new = next(r for r in platform.supervisor.replicas.values() if r.name != one.name)
        served = first_served_by(platform.load_url + "/", new.name)
        assert new.ready_at is not None
        print(
            f"routing delay, Ready → first response through the front door: "
            f"{(served - new.ready_at) * 1000:.0f} ms"
        )


async def _scale(platform: LocalPlatform, n: int) -> None:
    import asyncio

    assert platform.supervisor is not None
    platform.supervisor.scale(n)
    while not platform.supervisor.all_ready():
        await asyncio.sleep(0.02)


def main() -> int:
    missing = [b for b in ("prometheus", "haproxy", "wrk") if shutil.which(b) is None]
    if missing:
        print(f"missing: {', '.join(missing)} (apt-get install {' '.join(missing)})")
        return 2
    with tempfile.TemporaryDirectory(prefix="hpalab-bench-") as tmp:
        work = Path(tmp)
        ups, downs = time_up_down(work)
        print(
            f"cold `hpalab up` to all Ready, 1 replica: median {statistics.median(ups):.2f} s "
            f"(runs: {', '.join(f'{u:.2f}' for u in ups)})"
        )
        print(
            f"`hpalab down`: median {statistics.median(downs):.2f} s "
            f"(runs: {', '.join(f'{d:.2f}' for d in downs)})"
        )
        with_platform(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())

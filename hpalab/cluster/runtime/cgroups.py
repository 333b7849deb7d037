"""Container cgroups (v1, cgroupfs layout): made below the pod cgroup the kubelet created."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
# The hierarchies a container joins; cpuset and devices stay the pod's (none are set).
HIERARCHIES = ("cpu", "cpuacct", "memory", "pids", "freezer", "blkio")
CFS_PERIOD_US = 100_000


def container_paths(parent: str, container_id: str) -> list[Path]:
    """The container's cgroup directory in each hierarchy that is mounted."""
    rel = parent.strip("/")
    return [ROOT / h / rel / container_id for h in HIERARCHIES if (ROOT / h).is_dir()]


def create(paths: list[Path], resources: dict[str, int]) -> None:
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
    apply(paths, resources)


def _write(path: Path, value: int) -> None:
    with contextlib.suppress(OSError):
        path.write_text(str(value))


def apply(paths: list[Path], resources: dict[str, int]) -> None:
    """Write the CRI's LinuxContainerResources into the cgroup files."""
    for path in paths:
        hierarchy = path.relative_to(ROOT).parts[0]
        if hierarchy == "cpu":
            if resources.get("cpu_shares"):
                _write(path / "cpu.shares", resources["cpu_shares"])
            period = resources.get("cpu_period") or CFS_PERIOD_US
            _write(path / "cpu.cfs_period_us", period)
            quota = resources.get("cpu_quota") or -1
            _write(path / "cpu.cfs_quota_us", quota if quota > 0 else -1)
        elif hierarchy == "memory" and resources.get("memory_limit_in_bytes"):
            _write(path / "memory.limit_in_bytes", resources["memory_limit_in_bytes"])


def remove(paths: list[Path]) -> None:
    for path in paths:
        for _ in range(20):
            try:
                path.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _memory_stat(path: Path) -> dict[str, int]:
    stats: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in (path / "memory.stat").read_text().splitlines():
            key, _, value = line.partition(" ")
            with contextlib.suppress(ValueError):
                stats[key] = int(value)
    return stats


def usage(paths: list[Path]) -> dict[str, int]:
    """CPU nanoseconds used, and memory usage, working set and RSS in bytes."""
    out: dict[str, int] = {}
    for path in paths:
        hierarchy = path.relative_to(ROOT).parts[0]
        if hierarchy == "cpuacct":
            value = _read_int(path / "cpuacct.usage")
            if value is not None:
                out["cpu_ns"] = value
        elif hierarchy == "memory":
            used = _read_int(path / "memory.usage_in_bytes")
            stat = _memory_stat(path)
            if used is not None:
                inactive = stat.get("total_inactive_file", 0)
                out["memory_usage"] = used
                out["working_set"] = max(used - inactive, 0)
                out["rss"] = stat.get("total_rss", 0)
                out["page_faults"] = stat.get("total_pgfault", 0)
                out["major_page_faults"] = stat.get("total_pgmajfault", 0)
    return out


def oom_killed(paths: list[Path]) -> bool:
    """True when the kernel's OOM killer killed something in the container's memory cgroup."""
    for path in paths:
        if path.relative_to(ROOT).parts[0] == "memory":
            with contextlib.suppress(OSError):
                for line in (path / "memory.oom_control").read_text().splitlines():
                    if line.startswith("oom_kill ") and int(line.split()[1]) > 0:
                        return True
    return False

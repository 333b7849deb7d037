"""The cluster's long-running processes: started in the node namespace, found again by anyone.

Each component runs detached (its own session) so that it outlives ``hpalab cluster up``; its
PID is in ``<state>/run/<name>.pid`` and its output in ``<state>/logs/<name>.log``. A later
command that finds no PID file still finds every process of the cluster by the network
namespace it runs in, which is how ``down`` cleans up after a ``kill -9`` of ``up``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from hpalab.cluster.config import ClusterConfig
from hpalab.cluster.network import in_netns, netns_inodes


@dataclass(frozen=True)
class Daemon:
    """One component process of one cluster."""

    config: ClusterConfig
    name: str

    @property
    def pidfile(self) -> Path:
        return self.config.path("run", f"{self.name}.pid")

    @property
    def log(self) -> Path:
        return self.config.path("logs", f"{self.name}.log")

    def pid(self) -> int | None:
        """The PID of the running component, or ``None`` when it is not running."""
        try:
            pid = int(self.pidfile.read_text())
        except (OSError, ValueError):
            return None
        return pid if alive(pid) else None

    def start(self, argv: list[str], *, env: dict[str, str] | None = None) -> int:
        """Start ``argv`` in the node's network namespace, detached; return its PID."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            proc = subprocess.Popen(
                in_netns(self.config.netns, argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
                cwd=self.config.state_dir,
            )
        self.pidfile.write_text(f"{proc.pid}\n")
        return proc.pid

    def stop(self, *, grace_s: float = 5.0) -> None:
        pid = self.pid()
        if pid is not None:
            terminate([pid], grace_s=grace_s)
        self.pidfile.unlink(missing_ok=True)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def terminate(pids: list[int], *, grace_s: float) -> list[int]:
    """SIGTERM ``pids``, SIGKILL what is left after ``grace_s``; return any still alive."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if alive(p)]
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = [p for p in left if alive(p)]
    return left


def cluster_pids(config: ClusterConfig) -> list[int]:
    """Every process of the cluster: those in its namespaces or its cgroups, or under its state.

    The network namespaces catch the components, the runtime and every container; the
    cgroups catch a container whose namespace is already gone; the state directory in the
    command line catches a runtime shim between its start and its ``setns``.
    """
    inodes = netns_inodes(config)
    marker = str(config.state_dir)
    own = os.getpid()
    found = set(cgroup_pids(config))
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        pid = int(entry.name)
        try:
            if inodes and (entry / "ns" / "net").stat().st_ino in inodes:
                found.add(pid)
                continue
            if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.add(pid)
        except OSError:
            continue
    found.discard(own)
    return sorted(p for p in found if alive(p))


CGROUP_FS = Path("/sys/fs/cgroup")


def cgroup_dirs(config: ClusterConfig) -> list[Path]:
    """The cluster's cgroup root in each mounted v1 hierarchy (those that exist)."""
    if not CGROUP_FS.is_dir():
        return []
    root = config.cgroup_root.strip("/")
    return [h / root for h in sorted(CGROUP_FS.iterdir()) if (h / root).is_dir()]


def cgroup_pids(config: ClusterConfig) -> list[int]:
    pids: set[int] = set()
    for top in cgroup_dirs(config):
        for procs in top.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                pids.update(int(line) for line in procs.read_text().split())
    return sorted(pids)


def remove_cgroups(config: ClusterConfig) -> list[Path]:
    """rmdir the cluster's cgroups, deepest first; return those that would not go."""
    stuck = []
    for top in cgroup_dirs(config):
        dirs = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
        for directory in [*dirs, top]:
            try:
                directory.rmdir()
            except OSError:
                stuck.append(directory)
    return stuck


def mounts_under(directory: Path) -> list[str]:
    """Mount points at or below ``directory`` (kubelet volumes), deepest first."""
    prefix = str(directory)
    points = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                points.append(point)
    return sorted(set(points), key=lambda p: -p.count("/"))


def unmount_under(directory: Path) -> list[str]:
    """Unmount everything below ``directory``; return what is still mounted."""
    for point in mounts_under(directory):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    return mounts_under(directory)

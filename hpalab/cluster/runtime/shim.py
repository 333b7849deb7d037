"""One container's shim: ``python -m hpalab.cluster.runtime.shim CONTAINER_DIR``.

The runtime starts it already inside the pod's network namespace and in new mount and UTS
namespaces (``nsenter`` + ``unshare``). The shim then

1. sets the pod's hostname and bind-mounts every mount the kubelet asked for at its
   container path (private to this container);
2. forks the container's process, which joins the container's cgroups, takes its user, and
   execs the program;
3. copies the process's stdout and stderr into the CRI log file, one line per entry
   (``<RFC 3339 time> <stream> F <line>``), reopening it on SIGUSR1 (log rotation);
4. when the process exits, kills whatever it left in its cgroups (as a PID namespace would)
   and writes ``exit.json``.

It imports nothing but the standard library, so it starts fast, and it outlives a runtime
restart: the runtime finds the container again from ``pid`` and ``exit.json``.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import json
import os
import selectors
import signal
import socket
import stat
import sys
import time
from pathlib import Path
from typing import Any

MS_RDONLY = 1
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384

TERMINATING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source: str, target: str, flags: int) -> None:
    if _libc.mount(source.encode(), target.encode(), None, flags, None) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def _mount_point(target: Path, *, is_dir: bool, created: list[str]) -> None:
    """Make ``target`` exist (what it lacks is recorded, for the runtime to remove later)."""
    missing = []
    parent = target.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        directory.mkdir()
        created.append(str(directory))
    if not target.exists() and not target.is_symlink():
        if is_dir:
            target.mkdir()
        else:
            target.touch()
        created.append(str(target))


def bind_mounts(spec: dict[str, object], directory: Path) -> None:
    """Bind every mount the kubelet gives at its container path.

    Every source is opened before the first mount: a mount at ``/tmp`` (an emptyDir) would
    otherwise hide sources that live below the host's ``/tmp``, as the kubelet's volumes do
    when the cluster's state directory is there. Shallower targets are mounted first, so a
    mount inside another one's path is not hidden by it.
    """
    created: list[str] = []
    given: list[dict[str, Any]] = list(spec["mounts"])  # type: ignore[call-overload]
    mounts = sorted(given, key=lambda m: len(Path(m["container"]).parts))
    sources = [os.open(m["host"], os.O_PATH | os.O_CLOEXEC) for m in mounts]
    try:
        for mount, fd in zip(mounts, sources, strict=True):
            source, target = f"/proc/self/fd/{fd}", Path(mount["container"])
            is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
            _mount_point(target, is_dir=is_dir, created=created)
            _mount(source, str(target), MS_BIND | MS_REC)
            if mount.get("readonly"):
                _mount(source, str(target), MS_BIND | MS_REMOUNT | MS_RDONLY)
    finally:
        for fd in sources:
            os.close(fd)
        (directory / "created.json").write_text(json.dumps(created))


PR_SET_KEEPCAPS = 8
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
CAP_DAC_READ_SEARCH = 2
LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def become_user_who_can_read(uid: int) -> None:
    """setuid(``uid``), keeping only CAP_DAC_READ_SEARCH, also across exec (ambient).

    Containers are programs of this machine: the interpreter hpalab runs on, or a binary in
    root's build cache, may sit below a directory only root may enter. With this capability
    the process reads and searches every file, as it could read its own image, while all it
    writes is still checked against ``uid``.
    """
    _check(_libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)")
    os.setuid(uid)
    bit = 1 << CAP_DAC_READ_SEARCH
    data = (_CapData * 2)(_CapData(bit, bit, bit), _CapData(0, 0, 0))
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    _check(_libc.capset(ctypes.byref(header), data), "capset")
    raise_ambient = _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_DAC_READ_SEARCH, 0, 0)
    _check(raise_ambient, "prctl(PR_CAP_AMBIENT_RAISE)")


def _child(spec: dict[str, object], out_w: int, err_w: int) -> None:
    """In the forked child: cgroups, user, directory, streams, then exec (never returns)."""
    try:
        # Ignored signals stay ignored across exec: give the program the defaults (Python
        # itself ignores SIGPIPE and SIGXFSZ; the shim ignores the terminating ones).
        for sig in (*TERMINATING, signal.SIGPIPE, signal.SIGXFSZ, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL)
        for cgroup in spec["cgroups"]:  # type: ignore[attr-defined]
            Path(cgroup, "cgroup.procs").write_text(str(os.getpid()))
        os.setsid()
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        gid, uid = spec.get("gid"), spec.get("uid")
        if gid is not None:
            os.setgroups(list(spec.get("groups") or []))  # type: ignore[call-overload]
            os.setgid(int(gid))  # type: ignore[call-overload]
        if uid is not None and int(uid) != 0:  # type: ignore[call-overload]
            become_user_who_can_read(int(uid))  # type: ignore[call-overload]
        os.chdir(str(spec.get("cwd") or "/"))
        argv = [str(a) for a in spec["argv"]]  # type: ignore[attr-defined]
        env: dict[str, str] = spec["env"]  # type: ignore[assignment]
        os.execve(argv[0], argv, env)  # noqa: S606 - the container is the point  # type: ignore[call-overload]
    except BaseException as e:
        os.write(2, f"hpalab runtime: cannot start the container: {e}\n".encode())
    os._exit(127)


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LogWriter:
    """CRI-format log lines; a partial last line is written when its stream closes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.open("ab")
        self.pending = {"stdout": b"", "stderr": b""}
        self.reopen_wanted = False

    def write(self, stream: str, data: bytes) -> None:
        if self.reopen_wanted:
            self.file.close()
            self.file = self.path.open("ab")
            self.reopen_wanted = False
        *lines, self.pending[stream] = (self.pending[stream] + data).split(b"\n")
        for line in lines:
            self.file.write(f"{_stamp()} {stream} F ".encode() + line + b"\n")
        self.file.flush()

    def close(self, stream: str) -> None:
        if self.pending[stream]:
            self.file.write(f"{_stamp()} {stream} F ".encode() + self.pending[stream] + b"\n")
            self.pending[stream] = b""
            self.file.flush()


def _kill_leftovers(spec: dict[str, object]) -> None:
    for _ in range(50):
        pids: set[int] = set()
        for cgroup in spec["cgroups"]:  # type: ignore[attr-defined]
            try:
                pids.update(int(p) for p in Path(cgroup, "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                continue
        pids.discard(os.getpid())
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        time.sleep(0.02)


def _exit_status(status: int) -> tuple[int, str]:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return 128 + sig, signal.Signals(sig).name
    code = os.waitstatus_to_exitcode(status)
    return code, ""


def main(directory: Path) -> int:
    spec = json.loads((directory / "spec.json").read_text())
    for sig in TERMINATING:
        signal.signal(sig, signal.SIG_IGN)
    if spec.get("hostname"):
        socket.sethostname(spec["hostname"])
    bind_mounts(spec, directory)
    log = LogWriter(Path(spec["log_path"]))
    signal.signal(signal.SIGUSR1, lambda *_: setattr(log, "reopen_wanted", True))
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        _child(spec, out_w, err_w)
    os.close(out_w)
    os.close(err_w)
    # Written whole or not at all: the runtime reports the container running once it exists,
    # and a half-written file read as "not started yet" made the kubelet restart it.
    started = json.dumps({"pid": pid, "shim": os.getpid(), "started_at": time.time_ns()})
    (directory / "pid.partial").write_text(started)
    (directory / "pid.partial").replace(directory / "pid")
    selector = selectors.DefaultSelector()
    selector.register(out_r, selectors.EVENT_READ, "stdout")
    selector.register(err_r, selectors.EVENT_READ, "stderr")
    status: int | None = None
    finished = 0
    while selector.get_map():
        for key, _ in selector.select(timeout=0.2):
            data = os.read(key.fd, 65536)
            if data:
                log.write(key.data, data)
            else:
                log.close(key.data)
                selector.unregister(key.fd)
                os.close(key.fd)
        if status is None:
            done, waited = os.waitpid(pid, os.WNOHANG)
            if done:
                status, finished = waited, time.time_ns()
                # A child the process left behind may hold its streams open.
                _kill_leftovers(spec)
    if status is None:
        _, status = os.waitpid(pid, 0)
        finished = time.time_ns()
    _kill_leftovers(spec)
    code, killed_by = _exit_status(status)
    result = {"exit_code": code, "finished_at": finished, "signal": killed_by}
    partial = directory / "exit.json.partial"
    partial.write_text(json.dumps(result))
    partial.replace(directory / "exit.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))

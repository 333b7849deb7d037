"""``hpalab up / status / down`` for the local platform: one lab per state directory.

``run_foreground`` is the lab process: it runs a :class:`LocalPlatform`, records itself in
``lab.json``, rewrites ``status.json`` every second, and stops everything on SIGINT, SIGTERM or
SIGHUP. ``start_detached`` starts that process in its own session and returns once the lab is
ready; ``stop_lab`` signals it, waits, and kills whatever it left behind.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from hpalab.errors import HpalabError, PlatformError, PrerequisiteError, UsageError
from hpalab.lifetime import process_identity
from hpalab.platforms.local import registry
from hpalab.platforms.local.labstate import (
    ERROR_FILE,
    LAB_FILE,
    LOG_FILE,
    STATUS_FILE,
    LabRecord,
    clean_stale,
    clear_state,
    ensure_lab_dir,
    kill_leftovers,
    read_json,
    read_lab,
    start_record,
    state_dir,
    write_json,
)
from hpalab.platforms.local.platform import LocalPlatform
from hpalab.platforms.local.registry import register, unregister
from hpalab.platforms.local.settings import LabSettings

STATUS_PERIOD_S = 1.0


class _StopLab(BaseException):
    """Raised in the lab's main thread by the first SIGINT/SIGTERM/SIGHUP."""


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    fired = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal fired
        if not fired:  # later signals must not interrupt the cleanup of the first
            fired = True
            raise _StopLab(signal.Signals(signum).name)

    watched = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, handler) for s in watched}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _refuse_running(lab_dir: Path) -> None:
    stale = read_lab(lab_dir)
    if clean_stale(lab_dir) is not None and stale is not None:
        unregister(str(stale.data.get("lab_id")))
    record = read_lab(lab_dir)
    if record is not None and record.alive:
        raise UsageError(
            f"a lab is already running in {lab_dir} (PID {record.data['lab_process'][0]})",
            hint=f"stop it with `hpalab down --lab-dir {lab_dir}`, or start another with "
            "--lab-dir DIR",
        )


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_foreground(
    lab_dir: Path,
    settings: LabSettings,
    *,
    experiment: str | None = None,
    port: int | None = None,
    prometheus_port: int | None = None,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Run a lab until a signal; every process it started is gone when this returns.

    Raises:
        UsageError: a lab already runs in ``lab_dir``.
        PrerequisiteError, PlatformError: the stack could not start (also written to
            ``error.json`` for the process that started this one).
    """
    ensure_lab_dir(lab_dir)
    _refuse_running(lab_dir)
    (lab_dir / ERROR_FILE).unlink(missing_ok=True)
    record = start_record(lab_dir, experiment=experiment)
    register(lab_dir, record, kind="up")
    platform = LocalPlatform(lab_dir, settings, port=port, prometheus_port=prometheus_port)
    try:
        with _stop_on_signals(), platform:
            record.update(
                state="ready",
                ready_at=_now_iso(),
                load_url=platform.load_url,
                prometheus_url=platform.prometheus_url,
                fingerprint=platform.fingerprint(),
            )
            _record_pids(lab_dir, record, platform)
            if on_ready is not None:
                on_ready(record)
            _serve(lab_dir, record, platform)
    except _StopLab:
        pass
    except HpalabError as error:
        error_record = {"message": error.message, "hint": error.hint, "exit_code": error.exit_code}
        write_json(lab_dir / ERROR_FILE, error_record)
        raise
    finally:
        # error.json stays for the process that started this one; it is cleared on next start
        for name in (LAB_FILE, STATUS_FILE):
            (lab_dir / name).unlink(missing_ok=True)
        unregister(record["lab_id"])


def _serve(lab_dir: Path, record: dict[str, Any], platform: LocalPlatform) -> None:
    """Rewrite ``status.json`` every second until a signal (or a vanished lab directory)."""
    while True:
        try:
            _write_status(lab_dir, record, platform)
        except OSError as error:
            raise PlatformError(
                f"cannot write the lab's status in {lab_dir}: {error.strerror}; stopping",
                hint="keep the lab directory while the lab runs; `hpalab down` stops it",
            ) from error
        time.sleep(STATUS_PERIOD_S)


def _record_pids(lab_dir: Path, record: dict[str, Any], platform: LocalPlatform) -> None:
    pids = {name: process_identity(pid) for name, pid in platform.pids().items()}
    record["pids"] = {name: ident for name, ident in pids.items() if ident is not None}
    write_json(lab_dir / LAB_FILE, record)


def _write_status(lab_dir: Path, record: dict[str, Any], platform: LocalPlatform) -> None:
    if {n: i[0] for n, i in record["pids"].items()} != platform.pids():
        _record_pids(lab_dir, record, platform)
    snapshot = platform.observe()
    status = dataclasses.asdict(snapshot)
    status["routes"] = platform.frontdoor.routed() if platform.frontdoor else {}
    status["pids"] = platform.pids()
    write_json(lab_dir / STATUS_FILE, status)


def start_detached(argv: list[str], lab_dir: Path, *, timeout_s: float = 60.0) -> dict[str, Any]:
    """Start ``argv`` (a command running :func:`run_foreground`) detached; wait until ready.

    Returns the lab record (URLs, PIDs). Raises the error the lab process reported, or
    ``PlatformError`` when it exited or did not get ready within ``timeout_s`` seconds.
    """
    ensure_lab_dir(lab_dir)
    _refuse_running(lab_dir)
    for name in (ERROR_FILE, LAB_FILE):
        (lab_dir / name).unlink(missing_ok=True)
    log = lab_dir / LOG_FILE
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        return _wait_ready(proc, lab_dir, timeout_s=timeout_s)
    except BaseException:
        _terminate_lab(proc)
        raise


def _wait_ready(
    proc: subprocess.Popen[bytes], lab_dir: Path, *, timeout_s: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        error = read_json(lab_dir / ERROR_FILE)
        if error is not None:
            cls = PrerequisiteError if error.get("exit_code") == 2 else PlatformError
            raise cls(str(error.get("message")), hint=error.get("hint"))
        record = read_lab(lab_dir)
        if record is not None and record.state == "ready":
            return record.data
        if proc.poll() is not None:
            raise PlatformError(
                f"the lab process exited with code {proc.returncode} before it was ready",
                hint=f"read its log: {lab_dir / LOG_FILE}",
            )
        time.sleep(0.05)
    raise PlatformError(
        f"the lab was not ready within {timeout_s:.0f} s",
        hint=f"read its log: {lab_dir / LOG_FILE}",
    )


def _terminate_lab(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stop_lab(
    lab_dir: Path, *, record: LabRecord | None = None, timeout_s: float = 15.0
) -> dict[str, Any]:
    """Stop the lab in ``lab_dir`` (or of ``record``): SIGTERM, wait, then SIGKILL the rest.

    Returns ``{"running": bool, "stale": bool, "killed": [pids]}``; no lab is not an error.
    """
    record = record or read_lab(lab_dir)
    if record is None:
        return {"running": False, "stale": False, "killed": []}
    was_alive = record.alive
    if was_alive:
        os.kill(int(record.data["lab_process"][0]), signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while record.alive and time.monotonic() < deadline:
            time.sleep(0.02)
    killed = kill_leftovers(record)
    clear_state(lab_dir)
    unregister(str(record.data.get("lab_id")))
    return {"running": was_alive, "stale": not was_alive, "killed": killed}


def stop_all_labs(*, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """Stop every registered lab, runs' included, and every lab in the default labs directory.

    A run gets SIGTERM like Ctrl-C: it saves what it has and stops; ``timeout_s`` seconds
    later whatever is left is killed. Returns one :func:`stop_lab` result per lab, with its
    ``lab_dir`` and ``kind``.
    """
    results, seen = [], set()
    for entry in registry.entries():
        result = stop_lab(entry.lab_dir, record=entry.record(), timeout_s=timeout_s)
        registry.forget(entry)
        results.append({"lab_dir": str(entry.lab_dir), "kind": entry.kind, **result})
        seen.add(entry.lab_dir)
    # labs started before the registry existed live only in their directory
    for lab_file in sorted((state_dir() / "labs").glob(f"*/{LAB_FILE}")):
        if lab_file.parent not in seen:
            result = stop_lab(lab_file.parent, timeout_s=timeout_s)
            results.append({"lab_dir": str(lab_file.parent), "kind": "up", **result})
    return results


def lab_status(lab_dir: Path) -> dict[str, Any]:
    """The lab's record, its latest ``status.json`` and Prometheus' scrape targets."""
    record: LabRecord | None = read_lab(lab_dir)
    if record is None:
        return {"lab_dir": str(lab_dir), "state": "absent"}
    if not record.alive:
        return {"lab_dir": str(lab_dir), "state": "stale", "record": record.data}
    result: dict[str, Any] = {
        "lab_dir": str(lab_dir),
        "state": record.state,
        "record": record.data,
        "status": read_json(lab_dir / STATUS_FILE) or {},
    }
    url = record.data.get("prometheus_url")
    result["targets"] = prometheus_targets(str(url)) if url else []
    return result


def prometheus_targets(url: str) -> list[dict[str, Any]]:
    """Active scrape targets: pod, health, last error, last scrape (empty when unreachable)."""
    try:
        with urllib.request.urlopen(f"{url}/api/v1/targets?state=active", timeout=2) as r:  # noqa: S310
            data = json.load(r)["data"]["activeTargets"]
    except (OSError, ValueError, KeyError):
        return []
    return [
        {
            "pod": t.get("labels", {}).get("pod", ""),
            "address": t.get("scrapeUrl", ""),
            "health": t.get("health", ""),
            "last_error": t.get("lastError", ""),
            "last_scrape": t.get("lastScrape", ""),
        }
        for t in data
    ]

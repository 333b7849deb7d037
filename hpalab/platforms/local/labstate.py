"""A lab's state directory: where it is, what runs in it, and cleaning up after a killed lab.

One directory per lab holds everything: ``lab.json`` (the lab process, its URLs and the PID of
every process it started), ``status.json`` (rewritten every second while it runs), the logs,
and Prometheus' data. Every process of a lab carries ``HPALAB_LAB_ID`` in its environment, so
a lab whose supervisor was killed can still be cleaned up completely.

Every lab, the one ``hpalab run`` starts included, is also registered in the well-known state
directory (``$HPALAB_STATE_DIR``, else ``$XDG_STATE_HOME/hpalab``, else
``~/.local/state/hpalab``) under ``registry/<lab id>.json``, wherever its own directory is.
``hpalab down --all`` and the next ``hpalab run`` or ``hpalab up`` read the registry and clean
up after labs whose process is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from hpalab.errors import PrerequisiteError
from hpalab.lifetime import identity_alive, process_identity
from hpalab.platforms.local.processes import signal_group, wait_gone

ENV_LAB_DIR = "HPALAB_LAB_DIR"
ENV_STATE_DIR = "HPALAB_STATE_DIR"
REGISTRY = "registry"
ENV_LAB_ID = "HPALAB_LAB_ID"
LAB_FILE = "lab.json"
STATUS_FILE = "status.json"
ERROR_FILE = "error.json"
LOG_FILE = "lab.log"


def state_dir() -> Path:
    """``$HPALAB_STATE_DIR``, else ``$XDG_STATE_HOME/hpalab``, else ``~/.local/state/hpalab``."""
    explicit = os.environ.get(ENV_STATE_DIR)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "hpalab"


def default_lab_dir(name: str = "default") -> Path:
    """``$HPALAB_LAB_DIR``, else ``<state dir>/labs/<name>``."""
    explicit = os.environ.get(ENV_LAB_DIR)
    if explicit:
        return Path(explicit)
    return state_dir() / "labs" / name


def registry_dir() -> Path:
    """Where every running lab has an entry: ``<state dir>/registry``."""
    return state_dir() / REGISTRY


def ensure_lab_dir(path: Path) -> Path:
    """Create the lab directory; a path that cannot be written is a ``PrerequisiteError``."""
    return ensure_writable(
        path,
        what="as the lab directory",
        hint=f"pass --lab-dir with a writable directory or set {ENV_LAB_DIR}",
    )


def ensure_writable(path: Path, *, what: str, hint: str) -> Path:
    """Create the directory ``path``; one that cannot be written is a ``PrerequisiteError``."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".writable"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise PrerequisiteError(f"cannot use {path} {what}: {error.strerror}", hint=hint) from error
    return path


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` atomically, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; ``None`` when missing or unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def start_record(lab_dir: Path, *, experiment: str | None) -> dict[str, Any]:
    """A new lab's record, written to ``lab.json``; this process becomes the lab process.

    Sets ``HPALAB_LAB_ID`` in this process's environment, so every child inherits it and is
    found even if this process is killed.
    """
    lab_id = uuid.uuid4().hex
    os.environ[ENV_LAB_ID] = lab_id
    record: dict[str, Any] = {
        "lab_id": lab_id,
        "lab_process": process_identity(os.getpid()),
        "state": "starting",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "experiment": experiment,
        "pids": {},
    }
    write_json(lab_dir / LAB_FILE, record)
    return record


@dataclass(frozen=True, slots=True)
class LabRecord:
    """What ``lab.json`` says about a lab, and whether its lab process still runs."""

    path: Path
    data: dict[str, Any]

    @property
    def alive(self) -> bool:
        return identity_alive(self.data.get("lab_process"))

    @property
    def state(self) -> str:
        return str(self.data.get("state", "unknown"))


def read_lab(path: Path) -> LabRecord | None:
    """The lab recorded in ``path``; ``None`` when no lab was ever started there."""
    data = read_json(path / LAB_FILE)
    return LabRecord(path, data) if data is not None else None


def lab_processes(lab_id: str) -> list[psutil.Process]:
    """Every process whose environment carries ``HPALAB_LAB_ID=<lab_id>``."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.pid != os.getpid() and proc.environ().get(ENV_LAB_ID) == lab_id:
                found.append(proc)
    return found


def kill_leftovers(record: LabRecord, *, timeout_s: float = 5.0) -> list[int]:
    """SIGKILL every process of the lab still alive; return the PIDs that were killed."""
    identities = list((record.data.get("pids") or {}).values())
    identities.append(record.data.get("lab_process"))
    pids = {int(i[0]) for i in identities if identity_alive(i)}
    lab_id = record.data.get("lab_id")
    if lab_id:
        pids.update(p.pid for p in lab_processes(str(lab_id)))
    for pid in pids:
        signal_group(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    wait_gone(sorted(pids), timeout_s=timeout_s)
    return sorted(pids)


def clear_state(path: Path) -> None:
    """Remove the files that say a lab runs here (logs and Prometheus data stay)."""
    for name in (LAB_FILE, STATUS_FILE, ERROR_FILE):
        (path / name).unlink(missing_ok=True)


def clean_stale(path: Path) -> list[int] | None:
    """Clean up after a lab whose lab process is gone; ``None`` when there was none.

    Returns the PIDs of the leftover processes that were killed (possibly none).
    """
    record = read_lab(path)
    if record is None or record.alive:
        return None
    killed = kill_leftovers(record)
    clear_state(path)
    return killed

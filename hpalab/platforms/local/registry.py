"""The registry of labs: one entry per running lab, in the well-known state directory.

A lab's own directory can be anywhere (``--lab-dir``, a run's temporary directory), so each
lab also writes ``<state dir>/registry/<lab id>.json`` when it starts and removes it when it
stops. An entry whose lab process is gone marks a lab that was killed: :func:`clean_stale`
kills what it left behind (by PID and by the ``HPALAB_LAB_ID`` every process of the lab
carries) and removes its state; ``hpalab down --all`` and the next ``hpalab run`` or
``hpalab up`` call it.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpalab.lifetime import identity_alive
from hpalab.platforms.local.labstate import (
    ENV_STATE_DIR,
    LabRecord,
    clear_state,
    ensure_writable,
    kill_leftovers,
    read_json,
    read_lab,
    registry_dir,
    write_json,
)

RUN_DIR_PREFIX = "hpalab-run-"
"""A run's working directory is a temporary directory named so; only those are removed."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One registered lab: its directory, id, process and kind (``up`` or ``run``)."""

    file: Path
    data: dict[str, Any]

    @property
    def lab_dir(self) -> Path:
        return Path(str(self.data.get("lab_dir", "")))

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", "up"))

    @property
    def alive(self) -> bool:
        return identity_alive(self.data.get("lab_process"))

    def own_record(self) -> LabRecord | None:
        """The lab's ``lab.json`` if it is still this lab's (a new lab may use the directory)."""
        own = read_lab(self.lab_dir)
        return own if own is not None and own.data.get("lab_id") == self.data["lab_id"] else None

    def record(self) -> LabRecord:
        """The lab's ``lab.json`` (PIDs of what it started) or, when gone, this entry."""
        own = self.own_record()
        return LabRecord(self.lab_dir, {**self.data, **(own.data if own else {})})


@dataclass(frozen=True, slots=True)
class Cleaned:
    """A killed lab that was cleaned up: where it was and the leftover PIDs killed."""

    lab_dir: Path
    kind: str
    killed: list[int]


def check_writable() -> Path:
    """The registry directory, created; a ``PrerequisiteError`` when it cannot be written."""
    return ensure_writable(
        registry_dir(),
        what="to record labs",
        hint=f"set {ENV_STATE_DIR} to a writable directory",
    )


def register(lab_dir: Path, record: dict[str, Any], *, kind: str) -> None:
    """Record the lab of ``record`` (``lab_id``, ``lab_process``) living in ``lab_dir``."""
    entry = {
        "lab_id": record["lab_id"],
        "lab_dir": str(lab_dir.absolute()),
        "lab_process": record["lab_process"],
        "kind": kind,
        "started_at": record.get("started_at"),
    }
    write_json(check_writable() / f"{record['lab_id']}.json", entry)


def unregister(lab_id: str) -> None:
    """Forget the lab ``lab_id`` (it stopped, or was cleaned up)."""
    (registry_dir() / f"{lab_id}.json").unlink(missing_ok=True)


def entries() -> list[Entry]:
    """Every registered lab, oldest file name first (unreadable entries are skipped)."""
    directory = registry_dir()
    if not directory.is_dir():
        return []
    found = []
    for file in sorted(directory.glob("*.json")):
        data = read_json(file)
        if data is not None and data.get("lab_id"):
            found.append(Entry(file, data))
    return found


def forget(entry: Entry) -> None:
    """Remove the entry, and a run's working directory (a lab's directory is kept)."""
    # a new lab may have taken the directory since: then it is not ours to clear
    ours = read_lab(entry.lab_dir) is None or entry.own_record() is not None
    if ours and entry.kind == "run" and entry.lab_dir.name.startswith(RUN_DIR_PREFIX):
        with contextlib.suppress(OSError):
            shutil.rmtree(entry.lab_dir)
    elif ours:
        clear_state(entry.lab_dir)
    entry.file.unlink(missing_ok=True)


def clean_stale() -> list[Cleaned]:
    """Clean up after every registered lab whose lab process is gone."""
    cleaned = []
    for entry in entries():
        if entry.alive:
            continue
        killed = kill_leftovers(entry.record())
        forget(entry)
        cleaned.append(Cleaned(entry.lab_dir, entry.kind, killed))
    return cleaned

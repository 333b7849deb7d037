"""What the runtime remembers of sandboxes and containers: one JSON file each, under its state.

The records survive a restart of the runtime. A container's live state is not recorded but
read from what its shim writes (``pid``, ``exit.json``), so it is never stale.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class SandboxRecord:
    id: str
    name: str
    namespace: str
    uid: str
    attempt: int
    labels: dict[str, str]
    annotations: dict[str, str]
    hostname: str
    log_directory: str
    cgroup_parent: str
    runtime_handler: str
    host_network: bool
    netns: str
    """The ``ip netns`` name of the pod's network namespace."""
    ip: str = ""
    ready: bool = True
    created_at: int = field(default_factory=time.time_ns)


@dataclass
class ContainerRecord:
    id: str
    sandbox_id: str
    name: str
    attempt: int
    image: str
    image_id: str
    labels: dict[str, str]
    annotations: dict[str, str]
    log_path: str
    argv: list[str]
    env: dict[str, str]
    cwd: str
    uid: int | None
    gid: int | None
    groups: list[int]
    mounts: list[dict[str, Any]]
    cgroups: list[str]
    resources: dict[str, int]
    hostname: str
    created_at: int = field(default_factory=time.time_ns)
    start_error: str = ""


def save(record: SandboxRecord | ContainerRecord, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / "record.json.partial"
    partial.write_text(json.dumps(asdict(record)))
    partial.replace(directory / "record.json")


def load_all(root: Path, kind: type[Any]) -> dict[str, Any]:
    """Every record of ``kind`` under ``root/<id>/record.json`` (unreadable ones skipped)."""
    found: dict[str, Any] = {}
    if root.is_dir():
        for directory in root.iterdir():
            try:
                record = kind(**json.loads((directory / "record.json").read_text()))
            except (OSError, ValueError, TypeError):
                continue
            found[record.id] = record
    return found

"""A user's locustfile seen from the main process: imported in a child process (Locust must
not enter this one), its User class, tasks and mean wait time, or the problem at its line."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from hpalab.errors import BadInput
from hpalab.load.processes import locust_environment

INSPECT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class LocustfileInfo:
    """What hpalab uses of a locustfile."""

    user_class: str
    tasks: tuple[tuple[str, int], ...]
    """(task name, weight) in the class's order."""
    mean_wait_s: float | None
    """Mean of the class's ``wait_time``; ``None`` when it depends on a running user."""


@dataclass(frozen=True)
class LocustfileProblem:
    """Why a locustfile cannot be used, at ``line`` of ``file`` when known."""

    message: str
    file: str
    line: int | None


def inspect_locustfile(path: str, user_class: str | None) -> LocustfileInfo | LocustfileProblem:
    """Import ``path`` in a child Python, as the load processes will, and describe it.

    Raises:
        BadInput: the child failed for a reason other than the locustfile (its stderr).
    """
    argv = [sys.executable, "-m", "hpalab.load.worker.inspect", path]
    argv += [user_class] if user_class else []
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=INSPECT_TIMEOUT_S,
        check=False,
        env=locust_environment(),
        cwd=Path(path).parent if Path(path).parent.is_dir() else None,
    )
    lines = done.stdout.strip().splitlines()
    try:
        data = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise BadInput(
            f"could not import the locustfile {path}: {done.stderr.strip()[-2000:]}",
            hint="run `python -c 'import locust'` to check the Python environment",
        ) from None
    if not data["ok"]:
        return LocustfileProblem(data["message"], data["file"], data["line"])
    tasks = tuple((str(n), int(w)) for n, w in data["tasks"])
    return LocustfileInfo(data["user_class"], tasks, data["mean_wait_s"])

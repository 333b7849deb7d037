"""The local platform of one ``hpalab run``: registered while it runs, removed when it stops.

Its working directory (Prometheus data, logs) is temporary, but it is a lab like the one
``hpalab up`` starts: ``lab.json`` names its processes, and an entry in the registry lets
``hpalab down --all`` or the next ``hpalab run`` clean up after a run that was killed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hpalab.lifetime import process_identity
from hpalab.platforms.local.labstate import (
    ENV_LAB_ID,
    LAB_FILE,
    start_record,
    write_json,
)
from hpalab.platforms.local.platform import LocalPlatform
from hpalab.platforms.local.registry import RUN_DIR_PREFIX, register, unregister
from hpalab.platforms.local.settings import LabSettings


class RunPlatform(LocalPlatform):
    """A :class:`LocalPlatform` in a fresh temporary directory, registered as a lab."""

    def __init__(self, settings: LabSettings, *, experiment: str | None = None) -> None:
        super().__init__(Path(tempfile.mkdtemp(prefix=RUN_DIR_PREFIX)), settings)
        self.experiment = experiment
        self.record: dict[str, Any] | None = None
        self._previous_id: str | None = None

    def start(self) -> None:
        self._previous_id = os.environ.get(ENV_LAB_ID)
        self.record = start_record(self.workdir, experiment=self.experiment)
        register(self.workdir, self.record, kind="run")
        super().start()
        pids = {name: process_identity(pid) for name, pid in self.pids().items()}
        self.record.update(state="ready", pids={k: v for k, v in pids.items() if v})
        write_json(self.workdir / LAB_FILE, self.record)

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            if self.record is not None:
                unregister(str(self.record["lab_id"]))
            shutil.rmtree(self.workdir, ignore_errors=True)
            if self._previous_id is None:
                os.environ.pop(ENV_LAB_ID, None)
            else:
                os.environ[ENV_LAB_ID] = self._previous_id

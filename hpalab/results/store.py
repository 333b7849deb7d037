"""Writing and reading run directories.

The writer never overwrites a run directory, appends the per-second tables as data arrives (so
an interrupted run keeps what it collected), replaces small files atomically, and writes
``manifest.json`` last: a directory without a manifest is a run that was killed before it could
say how it ended.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hpalab.errors import BadInput, HpalabError
from hpalab.results.schema import (
    LOCK_FILE,
    MANIFEST_FILE,
    SCHEMA_VERSION,
    TABLES,
    RunStatus,
    Table,
)

if TYPE_CHECKING:
    import pandas as pd

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


class Manifest(BaseModel):
    """``manifest.json``: how the run went and what it ran on."""

    model_config = ConfigDict(extra="allow")

    schema_version: str = Field(SCHEMA_VERSION, description="run directory format version")
    hpalab_version: str = Field(description="version of hpalab that wrote the run")
    experiment: str = Field(description="experiment name (metadata.name)")
    started_at: datetime = Field(description="UTC start of the run")
    ended_at: datetime | None = Field(None, description="UTC end of the run")
    status: RunStatus = Field(description="complete, incomplete (interrupted) or failed")
    platform: dict[str, Any] = Field(
        default_factory=dict,
        description="fingerprint: versions of Kubernetes/Prometheus/Python/Locust, controller "
        "flags in force, host",
    )
    spec_hash: str = Field(description="sha256 of the resolved experiment (lock file)")
    seed: int = Field(description="seed of the trial order and of random arrivals")
    reasons: list[str] = Field(
        default_factory=list, description="why the run is incomplete or failed"
    )


def run_dir_name(experiment: str, started_at: datetime) -> str:
    """``<UTC time>-<experiment name>``, safe as one path component."""
    stamp = started_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{_SAFE_NAME.sub('-', experiment).strip('-') or 'experiment'}"


class RunWriter:
    """Writes one run directory. Use :meth:`create` for a new run, :meth:`reopen` to resume."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._files: dict[str, tuple[IO[str], Any]] = {}

    @classmethod
    def create(cls, out_dir: Path, *, experiment: str, started_at: datetime) -> RunWriter:
        """Make a new, empty run directory under ``out_dir``; never reuses an existing one.

        A second run started in the same second gets a ``-2``, ``-3``... suffix.
        """
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise BadInput(
                f"cannot create the output directory {out_dir}: {error.strerror}",
                hint="pass a writable directory with --out",
            ) from error
        base = run_dir_name(experiment, started_at)
        for attempt in range(1, 1000):
            path = out_dir / (base if attempt == 1 else f"{base}-{attempt}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return cls(path)
        raise HpalabError(f"too many runs named {base} in {out_dir}", hint="use another --out")

    @classmethod
    def reopen(cls, path: Path) -> RunWriter:
        """Open an existing run directory to append the trials it is missing."""
        if not (path / LOCK_FILE).is_file():
            raise BadInput(
                f"{path} is not a run directory: it has no {LOCK_FILE}",
                hint="pass a directory written by `hpalab run`",
            )
        return cls(path)

    def write_text(self, filename: str, text: str) -> None:
        """Replace ``filename`` atomically with ``text``."""
        target = self.path / filename
        temporary = target.with_name(f".{target.name}.tmp")
        try:
            temporary.write_text(text, encoding="utf-8")
            temporary.replace(target)
        finally:
            temporary.unlink(missing_ok=True)

    def append(self, table: Table, rows: Iterable[Mapping[str, Any]]) -> int:
        """Append rows to an append-only table, flushing so an interrupt loses nothing.

        Every row must have exactly the table's columns. Returns the number of rows written.
        """
        handle, writer = self._open(table)
        count = 0
        for row in rows:
            if set(row) != set(table.names):
                missing = sorted(set(table.names) - set(row))
                extra = sorted(set(row) - set(table.names))
                raise ValueError(f"{table.filename}: missing {missing}, unexpected {extra}")
            writer.writerow([_cell(row[name]) for name in table.names])
            count += 1
        handle.flush()
        return count

    def append_rows(self, table: Table, rows: Iterable[Sequence[Any]]) -> int:
        """Append rows given as plain values (str, int, float) in the table's column order.

        The fast path for writers that build rows from the schema themselves (the simulator
        writes millions): no per-row key check, no conversion. Returns the rows written.
        """
        handle, writer = self._open(table)
        count = 0
        width = len(table.columns)
        for row in rows:
            if len(row) != width:
                raise ValueError(f"{table.filename}: a row of {len(row)} values, not {width}")
            writer.writerow(row)
            count += 1
        handle.flush()
        return count

    def replace_table(self, table: Table, frame: pd.DataFrame) -> None:
        """Write a whole table at once (trials, summary, comparison), atomically.

        The table's declared columns come first, in order; extra columns (the metrics of
        summary.csv) follow.
        """
        missing = [name for name in table.names if name not in frame.columns]
        if missing:
            raise ValueError(f"{table.filename}: missing columns {missing}")
        extra = [c for c in frame.columns if c not in table.names]
        self.write_text(
            table.filename, frame[list(table.names) + extra].to_csv(index=False, na_rep="")
        )

    def write_manifest(self, manifest: Manifest) -> None:
        """Write ``manifest.json``; call it last, after every other file is complete."""
        self.close()
        self.write_text(MANIFEST_FILE, manifest.model_dump_json(indent=2) + "\n")

    def close(self) -> None:
        for handle, _ in self._files.values():
            handle.close()
        self._files.clear()

    def _open(self, table: Table) -> tuple[IO[str], Any]:
        if table.filename not in self._files:
            target = self.path / table.filename
            fresh = not target.exists() or target.stat().st_size == 0
            handle = target.open("a", encoding="utf-8", newline="")
            writer = csv.writer(handle)
            if fresh:
                writer.writerow(table.names)
            self._files[table.filename] = (handle, writer)
        return self._files[table.filename]

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value


def read_manifest(run_dir: Path) -> Manifest | None:
    """The run's manifest, or ``None`` when the run never wrote one (it was killed)."""
    path = run_dir / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        manifest = Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValidationError) as error:
        raise BadInput(
            f"{path}: not a readable manifest",
            hint="the file is damaged; delete it and run `hpalab report` for a report "
            "without the fingerprint",
        ) from error
    major = manifest.schema_version.split(".")[0]
    if major != SCHEMA_VERSION.split(".")[0]:
        raise BadInput(
            f"{path}: schema_version {manifest.schema_version} is not readable by this hpalab "
            f"(reads {SCHEMA_VERSION})",
            hint="use the hpalab version that wrote the run",
        )
    return manifest


def read_table(run_dir: Path, table: Table) -> pd.DataFrame:
    """Read one table with its declared dtypes; a missing file reads as an empty table."""
    import pandas as pd  # pandas takes ~0.2 s to import: only commands that read tables pay

    path = run_dir / table.filename
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame({c.name: pd.Series(dtype=_PANDAS[c.dtype]) for c in table.columns})
    try:
        frame = pd.read_csv(
            path,
            dtype={c.name: _PANDAS[c.dtype] for c in table.columns if c.dtype in ("str", "int")},
            keep_default_na=False,
            na_values={c.name: [""] for c in table.columns if c.dtype != "str"},
        )
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError) as error:
        raise BadInput(
            f"{path}: not a readable {table.filename} ({error})",
            hint=f"the file is damaged; {table.filename} is written by `hpalab run`",
        ) from error
    missing = [name for name in table.names if name not in frame.columns]
    if missing:
        raise BadInput(
            f"{path}: columns missing: {', '.join(missing)}",
            hint=f"the file is damaged; {table.filename} is written by `hpalab run`",
        )
    for column in table.columns:
        if column.dtype == "datetime" and column.name in frame:
            frame[column.name] = pd.to_datetime(frame[column.name], utc=True, format="ISO8601")
        elif column.dtype == "float" and column.name in frame:
            frame[column.name] = frame[column.name].astype("float64")
    return frame


_PANDAS = {"str": "string", "int": "Int64", "float": "float64", "datetime": "datetime64[ns, UTC]"}

__all__ = [
    "TABLES",
    "Manifest",
    "RunWriter",
    "read_manifest",
    "read_table",
    "run_dir_name",
]

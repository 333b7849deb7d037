"""The run directory: its schema (columns, units, versions) and the store that writes it."""

from hpalab.results.schema import (
    COMPARISON,
    EVENT_KINDS,
    EVENTS,
    PROMETHEUS,
    SCHEMA_VERSION,
    SUMMARY,
    TABLES,
    TIMESERIES,
    TIMESERIES_SIGNALS,
    TRIALS,
    Column,
    Table,
)
from hpalab.results.store import Manifest, RunWriter, read_manifest, read_table, run_dir_name

__all__ = [
    "COMPARISON",
    "EVENTS",
    "EVENT_KINDS",
    "PROMETHEUS",
    "SCHEMA_VERSION",
    "SUMMARY",
    "TABLES",
    "TIMESERIES",
    "TIMESERIES_SIGNALS",
    "TRIALS",
    "Column",
    "Manifest",
    "RunWriter",
    "Table",
    "read_manifest",
    "read_table",
    "run_dir_name",
]

"""Load generation: open-model arrival rates from a LoadProfile, delivered by Locust.

Main-process API (never imports Locust or gevent; they run in child processes):
:class:`LoadJob` (what to send), :class:`LoadRun` (start, stream per-second
:class:`LoadSample` records, stop), :func:`run_load`, and the pure
:func:`~hpalab.load.shortfall.find_shortfalls`. The Locust side lives in
:mod:`hpalab.load.worker`, only ever imported inside a Locust process.
"""

from hpalab.load.driver import LoadEvent, LoadOutcome, LoadRun, run_load
from hpalab.load.job import LoadJob, job_from_experiment, job_from_profile
from hpalab.load.samples import LoadSample
from hpalab.load.shortfall import Shortfall, find_shortfalls

__all__ = [
    "LoadEvent",
    "LoadJob",
    "LoadOutcome",
    "LoadRun",
    "LoadSample",
    "Shortfall",
    "find_shortfalls",
    "job_from_experiment",
    "job_from_profile",
    "run_load",
]

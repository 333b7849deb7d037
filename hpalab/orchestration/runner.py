"""``hpalab run``: every trial of an experiment, into one run directory.

The runner owns the run directory and the order of things: the lock file first, then the
trials (each appended as it runs), the report, and ``manifest.json`` last. One Ctrl-C (or
SIGTERM) lets the current second finish, starts nothing new, keeps what was collected and
marks the run incomplete; a second one stops at once, and the platform is still torn down.
"""

from __future__ import annotations

import hashlib
import platform as host
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from hpalab import __version__
from hpalab.errors import HpalabError, RunInterrupted, UsageError
from hpalab.orchestration.seams import Clock, LoadStarter, PlatformFactory, SystemClock
from hpalab.orchestration.trial import Progress, TrialOutcome, TrialRun, run_trial
from hpalab.platforms.base import Platform
from hpalab.results import TRIALS, Manifest, RunWriter, read_table
from hpalab.results.schema import LOCK_FILE
from hpalab.specs import LoadedExperiment
from hpalab.specs.variants import TrialPlan

DONE = ("complete", "failed")


@dataclass
class RunOptions:
    """What the user asked for on the command line."""

    out_dir: Path = Path("reports")
    repetitions: int | None = None
    only: list[str] = field(default_factory=list)
    resume: Path | None = None


@dataclass
class RunResult:
    """Where the run went and how it ended."""

    path: Path
    status: str
    trials: dict[str, str]
    reasons: list[str]


def lock_text(loaded: LoadedExperiment, *, repetitions: int, only: list[str]) -> str:
    """The resolved experiment: profile inlined, variants explicit; reruns the same trials."""
    data = loaded.experiment.to_yaml_dict()
    spec = data["spec"]
    spec["load"].pop("profile", None)
    spec["load"]["stages"] = [s.to_yaml_dict() for s in loaded.profile.stages]
    spec["load"]["arrivals"] = loaded.profile.arrivals.to_yaml_dict()
    spec["repetitions"] = repetitions
    spec.pop("matrix", None)
    kept = [v for v in loaded.variants if not only or v.name in only]
    spec["variants"] = [{"name": v.name, **({"patch": v.patch} if v.patch else {})} for v in kept]
    # with --only the baseline may not be among the variants run; the first kept one is then
    # the reference, as it would be for an experiment that lists only these variants
    names = [v.name for v in kept]
    spec["baseline"] = loaded.baseline if loaded.baseline in names else names[0]
    header = f"# Resolved by hpalab {__version__}; `hpalab run` on this file reruns the trials.\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def trial_seconds(loaded: LoadedExperiment) -> float:
    """Planned length of one trial: warm-up, the profile and cool-down (resets not counted)."""
    phases = loaded.experiment.spec.phases
    return phases.warmup + loaded.curve().duration_s + phases.cooldown


def select_trials(loaded: LoadedExperiment, options: RunOptions) -> list[TrialPlan]:
    """The trials to run, honouring ``--only`` and ``--repetitions``."""
    names = [v.name for v in loaded.variants]
    unknown = [name for name in options.only if name not in names]
    if unknown:
        raise UsageError(
            f"--only names unknown variants: {', '.join(unknown)}",
            hint=f"the variants are: {', '.join(names)}",
        )
    trials = loaded.trials(repetitions=options.repetitions)
    return [t for t in trials if not options.only or t.variant in options.only]


class _Interrupts:
    """First signal: stop after this second. Second signal: stop now."""

    def __init__(self, note: Callable[[str], None]) -> None:
        self.flag = threading.Event()
        self.note = note
        self.platform: Platform | None = None

    def handle(self, signum: int, frame: object) -> None:
        if self.flag.is_set():
            raise RunInterrupted("interrupted twice: stopping now", hint="data so far is kept")
        self.flag.set()
        if self.platform is not None:
            self.platform.interrupt()  # a reset in progress gives up instead of waiting
        name = signal.Signals(signum).name
        self.note(
            f"{name}: finishing this second, then saving and tearing down "
            "(press Ctrl-C again to stop at once)"
        )

    @contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self.handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


def run_experiment(
    loaded: LoadedExperiment,
    *,
    options: RunOptions,
    platform_factory: PlatformFactory,
    start_load: LoadStarter,
    progress: Progress,
    platform_name: str,
    clock: Clock | None = None,
    after_trials: Callable[[Path], None] | None = None,
) -> RunResult:
    """Run the selected trials and write the run directory; returns how it ended."""
    clock = clock or SystemClock()
    trials = select_trials(loaded, options)
    # constructing the platform checks its prerequisites (binaries, ports) before anything
    # is written or started
    platform = platform_factory(loaded)
    writer, statuses = _open_run(loaded, options, trials)
    platform.use_run_dir(writer.path)
    interrupts = _Interrupts(progress.note)
    interrupts.platform = platform
    progress.run_started(trials=trials, per_trial_s=trial_seconds(loaded), path=str(writer.path))
    started = datetime.now(UTC)
    reasons: list[str] = []
    fingerprint: dict[str, Any] = {"platform": platform_name}
    try:
        with interrupts.installed():
            try:
                with platform:
                    fingerprint.update(platform.fingerprint())
                    for plan in trials:
                        if interrupts.flag.is_set():
                            break
                        if statuses[plan.trial_id][0] in DONE:
                            continue
                        outcome = _one_trial(
                            plan,
                            loaded,
                            platform=platform,
                            writer=writer,
                            clock=clock,
                            interrupts=interrupts,
                            progress=progress,
                            start_load=start_load,
                        )
                        statuses[plan.trial_id] = (outcome.status, outcome)
                        progress.trial_finished(plan, outcome.status)
                        _write_trials(writer, trials, statuses)
                        reasons.extend(f"{plan.trial_id}: {r}" for r in outcome.reasons)
            except RunInterrupted:
                interrupts.flag.set()
            except HpalabError as error:
                if not interrupts.flag.is_set():
                    reasons.append(str(error))
                    raise
                # the platform gave up starting or resetting because it was interrupted
    finally:
        if interrupts.flag.is_set():
            reasons.insert(0, "interrupted")
        status = _run_status(statuses, interrupted=interrupts.flag.is_set())
        _write_trials(writer, trials, statuses)
        manifest = _manifest(
            loaded, writer, started=started, status=status, fingerprint=fingerprint, reasons=reasons
        )
        if after_trials is not None and any(s == "complete" for s, _ in statuses.values()):
            # the report shows the manifest's fingerprint, so a first manifest comes before it
            writer.write_manifest(manifest)
            try:
                after_trials(writer.path)
            except HpalabError as error:
                reasons.append(f"report: {error}")
                manifest.reasons = reasons
        writer.write_manifest(manifest)
    return RunResult(writer.path, status, {k: v[0] for k, v in statuses.items()}, reasons)


def _one_trial(
    plan: TrialPlan,
    loaded: LoadedExperiment,
    *,
    platform: Any,
    writer: RunWriter,
    clock: Clock,
    interrupts: _Interrupts,
    progress: Progress,
    start_load: LoadStarter,
) -> TrialOutcome:
    work_dir = Path(tempfile.mkdtemp(prefix="hpalab-load-"))
    run = TrialRun(
        plan=plan,
        variant=loaded.variant(plan.variant),
        profile=loaded.profile,
        platform=platform,
        start_load=start_load,
        writer=writer,
        clock=clock,
        stop=interrupts.flag,
        progress=progress,
        work_dir=work_dir,
    )
    started = datetime.now(UTC)
    try:
        return run_trial(run)
    except RunInterrupted:
        raise
    except HpalabError as error:
        if interrupts.flag.is_set():  # the platform gave up because we asked it to
            return TrialOutcome("incomplete", started, datetime.now(UTC), ["interrupted"])
        # a failed trial is recorded and the next one runs
        progress.note(f"trial {plan.trial_id} failed: {error}")
        return TrialOutcome("failed", started, datetime.now(UTC), [str(error)])
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _open_run(
    loaded: LoadedExperiment, options: RunOptions, trials: list[TrialPlan]
) -> tuple[RunWriter, dict[str, tuple[str, TrialOutcome | None]]]:
    statuses: dict[str, tuple[str, TrialOutcome | None]] = {
        t.trial_id: ("pending", None) for t in trials
    }
    if options.resume is None:
        writer = RunWriter.create(
            options.out_dir, experiment=loaded.name, started_at=datetime.now(UTC)
        )
        repetitions = options.repetitions or loaded.experiment.spec.repetitions
        writer.write_text(LOCK_FILE, lock_text(loaded, repetitions=repetitions, only=options.only))
        return writer, statuses
    writer = RunWriter.reopen(options.resume)
    previous = read_table(writer.path, TRIALS)
    for row in previous.to_dict("records"):
        trial_id, status = str(row["trial_id"]), str(row["status"])
        if trial_id in statuses and status in DONE:
            outcome = TrialOutcome(status, _when(row["started_at"]), _when(row["ended_at"]))
            statuses[trial_id] = (status, outcome)
    _drop_partial_rows(writer, {k for k, v in statuses.items() if v[0] not in DONE})
    return writer, statuses


def _when(value: Any) -> datetime:
    stamp = pd.Timestamp(value)
    return datetime.now(UTC) if pd.isna(stamp) else stamp.to_pydatetime()


def _drop_partial_rows(writer: RunWriter, trial_ids: set[str]) -> None:
    """Remove what interrupted trials left behind, before they run again."""
    from hpalab.results import EVENTS, PROMETHEUS, TIMESERIES

    for table in (TIMESERIES, EVENTS, PROMETHEUS):
        frame = read_table(writer.path, table)
        if frame.empty:
            continue
        writer.replace_table(table, frame[~frame["trial_id"].isin(trial_ids)])


def _write_trials(
    writer: RunWriter, trials: list[TrialPlan], statuses: dict[str, tuple[str, TrialOutcome | None]]
) -> None:
    rows = []
    for plan in trials:
        status, outcome = statuses[plan.trial_id]
        rows.append(
            {
                "trial_id": plan.trial_id,
                "variant": plan.variant,
                "repetition": plan.repetition,
                "order": plan.order,
                "started_at": outcome.started_at.isoformat() if outcome else "",
                "ended_at": outcome.ended_at.isoformat() if outcome else "",
                "status": status,
            }
        )
    writer.replace_table(TRIALS, pd.DataFrame(rows, columns=list(TRIALS.names)))


def _run_status(statuses: dict[str, tuple[str, TrialOutcome | None]], *, interrupted: bool) -> str:
    values = [s for s, _ in statuses.values()]
    if interrupted or any(s in ("pending", "incomplete") for s in values):
        return "incomplete"
    if values and all(s == "failed" for s in values):
        return "failed"
    return "complete"


def _manifest(
    loaded: LoadedExperiment,
    writer: RunWriter,
    *,
    started: datetime,
    status: str,
    fingerprint: dict[str, Any],
    reasons: list[str],
) -> Manifest:
    lock = (writer.path / LOCK_FILE).read_bytes()
    fingerprint.setdefault(
        "host",
        {"hostname": host.node(), "system": host.platform(), "python": host.python_version()},
    )
    return Manifest(
        hpalab_version=__version__,
        experiment=loaded.name,
        started_at=started,
        ended_at=datetime.now(UTC),
        status=status,
        platform=fingerprint,
        spec_hash=hashlib.sha256(lock).hexdigest(),
        seed=loaded.experiment.spec.seed,
        reasons=reasons,
    )

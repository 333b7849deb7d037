"""``hpalab run``: every trial of an experiment, then the report."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from hpalab.analysis.comparison import DEFAULT_ALPHA
from hpalab.cli.gate import finish_gate, gate_request
from hpalab.errors import EXIT_CHECKS_FAILED, UsageError

if TYPE_CHECKING:
    from hpalab.cli.gate import GateRequest
    from hpalab.orchestration.runner import RunOptions, RunResult
from hpalab.cli.specfiles import check_own_program_platform, load_checked_experiment
from hpalab.orchestration.progress import (
    JsonProgress,
    PlainProgress,
    QuietProgress,
    RichProgress,
)
from hpalab.results.schema import LOCK_FILE
from hpalab.specs import ExperimentSpec, LoadedExperiment
from hpalab.specs.eventchecks import check_platform
from hpalab.specs.phases import sync_offset_s
from hpalab.specs.target import Resolver
from hpalab.specs.units import format_duration
from hpalab.specs.yamlsafe import check_kubeconfigs

PLATFORMS = ("local", "kubernetes")


def register(app: typer.Typer) -> None:
    app.command("run")(run)


def run(
    experiment: Annotated[
        Path | None, typer.Argument(help="Experiment file (or a run's experiment.lock.yaml).")
    ] = None,
    platform: Annotated[str, typer.Option(help="local or kubernetes.")] = "local",
    out: Annotated[Path, typer.Option("--out", help="Directory for run directories.")] = Path(
        "reports"
    ),
    repetitions: Annotated[
        int | None, typer.Option(min=1, help="Override spec.repetitions.")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Run only this variant (repeatable).")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the plan; start nothing.")] = False,
    resume: Annotated[
        Path | None, typer.Option(help="Run the trials missing from this run directory.")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="Only warnings and trial results.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON event per line.")] = False,
    context: Annotated[str | None, typer.Option(help="kubeconfig context (kubernetes).")] = None,
    namespace: Annotated[str, typer.Option(help="Namespace (kubernetes).")] = "hpalab",
    gate: Annotated[
        str | None, typer.Option(help="Gate rules (file or inline YAML) checked after the run.")
    ] = None,
    against: Annotated[
        Path | None, typer.Option(help="Gate: the old run to hold this one against.")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Gate: inconclusive checks fail too.")] = False,
    gate_format: Annotated[
        str, typer.Option(help="Gate output: table, junit or markdown.")
    ] = "table",
    gate_out: Annotated[
        Path | None, typer.Option(help="Gate: write the junit/markdown output to this file.")
    ] = None,
) -> None:
    """Run every trial (variant × repetition) of an experiment and write a run directory;
    with --gate and --against, exit 3 when a variant is significantly worse than in that run."""
    if platform not in PLATFORMS:
        raise UsageError(
            f"--platform {platform!r} is not one of {', '.join(PLATFORMS)}",
            hint="use --platform local (the default) or --platform kubernetes",
        )
    from hpalab.orchestration.runner import RunOptions, run_experiment
    from hpalab.orchestration.wiring import load_starter, platform_factory, write_report

    request = gate_request(
        rules=gate, against=against, fmt=gate_format, strict=strict, out=gate_out
    )
    from hpalab.cli.targets import changes, check_target, resolver

    loaded = _load(experiment, resume, resolve=resolver(platform, context))
    check_target(loaded, platform)
    from hpalab.orchestration.clusters import fault_platform

    check_platform(loaded, fault_platform(platform, context))
    options = RunOptions(out_dir=out, repetitions=repetitions, only=list(only or []), resume=resume)
    _check_keda_platform(loaded, platform, only=options.only)
    check_own_program_platform(loaded, platform)
    if dry_run:
        _print_plan(loaded, options, platform)
    _check_can_run(loaded, options, platform)  # every argument, before anything starts
    target_changes = changes(loaded, context) if loaded.experiment.spec.target else []
    if dry_run:
        typer.echo("\n".join(target_changes), nl=bool(target_changes))
        return
    if target_changes and not (quiet or as_json):
        typer.echo("\n".join(target_changes), err=True)
    if platform == "local":
        from hpalab.cli.cleanup import clean_stale_labs

        clean_stale_labs()
    factory = platform_factory(platform, context=context, namespace=namespace)
    progress = (
        JsonProgress()
        if as_json
        else QuietProgress()
        if quiet
        else PlainProgress()
        if not sys.stderr.isatty()
        else RichProgress()
    )
    try:
        result = run_experiment(
            loaded,
            options=options,
            platform_factory=factory,
            start_load=load_starter(),
            progress=progress,
            platform_name=platform,
            after_trials=write_report,
        )
    finally:
        progress.close()
    _finish(result, progress, gate=request)


def _load(
    experiment: Path | None, resume: Path | None, *, resolve: Resolver | None
) -> LoadedExperiment:
    if resume is not None:
        if experiment is not None:
            raise UsageError(
                "give either an experiment file or --resume RUN_DIR, not both",
                hint="--resume reads the run's own experiment.lock.yaml",
            )
        if not (resume / LOCK_FILE).is_file():
            raise UsageError(
                f"{resume} is not a run directory (no {LOCK_FILE})",
                hint="pass a directory written by `hpalab run`",
            )
        return load_checked_experiment(resume / LOCK_FILE, resolve=resolve)
    if experiment is None:
        raise UsageError("missing the experiment file", hint="hpalab run experiments/ramp.yaml")
    return load_checked_experiment(experiment, resolve=resolve)


def _print_plan(loaded: LoadedExperiment, options: RunOptions, platform: str) -> None:
    from hpalab.orchestration.runner import select_trials, trial_seconds

    console = Console(highlight=False, soft_wrap=True)
    trials = select_trials(loaded, options)
    per_trial = trial_seconds(loaded)
    console.print(
        f"[bold]{loaded.name}[/]: {len(trials)} trials on the {platform} platform, "
        f"{format_duration(per_trial)} each, about "
        f"{format_duration(per_trial * len(trials))} plus resets"
    )
    table = Table("order", "trial", "variant", "repetition", "duration", "sync phase", box=None)
    for trial in trials:
        table.add_row(
            str(trial.order),
            trial.trial_id,
            trial.variant,
            str(trial.repetition),
            format_duration(per_trial),
            _sync_phase_text(loaded.variant(trial.variant).spec, trial.repetition),
        )
    console.print(table)
    console.print(f"deploys: {_deploys(loaded, platform)}")
    console.print(
        f"writes: {options.out_dir}/<UTC time>-{loaded.name}/ (nothing is started by --dry-run)"
    )


def _sync_phase_text(spec: ExperimentSpec, repetition: int) -> str:
    """Where the trial's load starts in the HPA's sync cycle (``spec.phases.syncPhase``): its
    second 0 comes that long after a sync."""
    period = spec.controller.sync_period
    offset = sync_offset_s(spec.phases, period_s=period, seed=spec.seed, repetition=repetition)
    return "free" if offset is None else f"+{offset:.1f}s"


def _check_can_run(loaded: LoadedExperiment, options: RunOptions, platform: str) -> None:
    """What would stop the real run at once: the same checks it makes, without starting."""
    from hpalab.orchestration.runner import select_trials

    if options.out_dir.exists() and not options.out_dir.is_dir():
        raise UsageError(
            f"--out {options.out_dir} is a file, not a directory",
            hint="pass a directory for the run directories, e.g. --out reports",
        )
    existing = next(
        p for p in (options.out_dir.absolute(), *options.out_dir.absolute().parents) if p.exists()
    )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(
            f"--out {options.out_dir}: {existing} is not writable",
            hint="pass a directory you can write to, e.g. --out reports",
        )
    select_trials(loaded, options)  # --only names known variants
    if platform == "kubernetes":
        check_kubeconfigs(None)
    if platform == "local":
        from hpalab.platforms.local.frontdoor import find_haproxy
        from hpalab.platforms.local.prometheus import find_prometheus
        from hpalab.platforms.local.registry import check_writable

        find_prometheus()
        find_haproxy()
        check_writable()


def _check_keda_platform(loaded: LoadedExperiment, platform: str, *, only: list[str]) -> None:
    """Refuse KEDA variants hpalab cannot run yet, before starting."""
    keda = [v.name for v in loaded.variants if v.spec.keda is not None]
    keda = [name for name in keda if not only or name in only]
    modifiers = [
        v.name
        for v in loaded.variants
        if v.name in keda
        and v.spec.keda is not None
        and v.spec.keda.advanced is not None
        and v.spec.keda.advanced.scaling_modifiers is not None
    ]
    targeted = [v.name for v in loaded.variants if v.name in keda and v.spec.target is not None]
    if targeted:
        raise UsageError(
            f"variants {', '.join(targeted)} use spec.keda with spec.target: KEDA is deployed "
            "for the sample app only, not for an existing workload yet",
            hint="drop spec.target from them, or leave them out with --only",
        )
    if modifiers:
        raise UsageError(
            f"variants {', '.join(modifiers)} use keda.advanced.scalingModifiers, whose formula "
            "hpalab does not evaluate yet",
            hint="express the arithmetic inside one PromQL query, or leave them out with --only",
        )


def _deploys(loaded: LoadedExperiment, platform: str) -> str:
    spec = loaded.experiment.spec
    if spec.target is not None:
        t = spec.target
        return f"nothing: the experiment runs on {t.kind} {t.namespace}/{t.name} (spec.target)"
    if platform != "local":
        return (
            "prometheus-operator, Prometheus, metrics-server, prometheus-adapter, the "
            "sample app, Grafana and the HPA (see `hpalab up --platform kubernetes --dry-run`)"
            + (", and KEDA v2.20.2 for the spec.keda variants" if _uses_keda(loaded) else "")
        )
    return (
        f"Prometheus (scrape {format_duration(spec.prometheus.scrape_interval)}), an "
        f"HAProxy front door, {spec.app.initial_replicas} sample-app replica(s) up to "
        f"{spec.hpa.max_replicas}, the HPA engine (sync "
        f"{format_duration(spec.controller.sync_period)}) and the adapter engine"
        + (", and KEDA's operator loop for the spec.keda variants" if _uses_keda(loaded) else "")
        + ", all on 127.0.0.1"
    )


def _uses_keda(loaded: LoadedExperiment) -> bool:
    return any(v.spec.keda is not None for v in loaded.variants)


def _finish(result: RunResult, progress: QuietProgress, *, gate: GateRequest | None) -> None:
    counts: dict[str, int] = {}
    for status in result.trials.values():
        counts[status] = counts.get(status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    progress.note(f"run {result.status}: {summary}; results in {result.path}")
    for reason in result.reasons:
        progress.note(f"  {reason}")
    if result.status == "incomplete":
        progress.note(f"resume with: hpalab run --resume {result.path}")
        raise typer.Exit(130)
    if result.status == "failed":
        raise typer.Exit(1)
    if gate is not None:
        finish_gate(gate, result.path, alpha=DEFAULT_ALPHA)
    if any(s != "complete" for s in result.trials.values()):
        raise typer.Exit(EXIT_CHECKS_FAILED)

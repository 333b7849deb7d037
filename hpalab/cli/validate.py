"""``hpalab validate`` and ``hpalab schema``: check spec files before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from hpalab.cli.specfiles import check_own_program_platform, load_checked
from hpalab.errors import SpecError, UsageError
from hpalab.specs import Experiment, LoadedExperiment, LoadProfile, RateCurve, compile_profile
from hpalab.specs.eventchecks import check_platform
from hpalab.specs.events import PLATFORM_SUPPORT, AnyEvent, event_end
from hpalab.specs.loader import spec_warnings
from hpalab.specs.units import format_duration
from hpalab.specs.variants import spec_diff

CHART_WIDTH = 60
CHART_HEIGHT = 6
_BLOCKS = " ▁▂▃▄▅▆▇█"


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("schema")(schema)


def validate(
    files: list[Path] = typer.Argument(..., help="Experiment and LoadProfile files."),
    as_json: bool = typer.Option(False, "--json", help="Print the resolved specs as JSON."),
    platform: str | None = typer.Option(
        None,
        help="Also check that this platform can inject spec.events: local, kubernetes, or "
        "hpalab-cluster (the kubernetes platform on a cluster `hpalab cluster` made). With "
        "kubernetes, spec.target and fromCluster are read from the cluster of --context.",
    ),
    context: str | None = typer.Option(None, help="kubeconfig context (--platform kubernetes)."),
) -> None:
    """Check experiment and load-profile files; print what they would run."""
    if platform is not None and platform not in PLATFORM_SUPPORT:
        raise UsageError(
            f"--platform {platform!r} is not one of {', '.join(PLATFORM_SUPPORT)}",
            hint="use --platform local, kubernetes or hpalab-cluster",
        )
    from hpalab.cli.targets import resolver

    resolve = resolver(platform or "local", context)
    loaded, problems = [], []
    for path in files:
        try:
            loaded.append(load_checked(path, resolve=resolve))
            if platform is not None and isinstance(loaded[-1], LoadedExperiment):
                check_platform(loaded[-1], platform)
                check_own_program_platform(loaded[-1], platform)
        except SpecError as error:
            problems.extend(error.problems)
    if problems:
        raise SpecError(problems)
    warnings = [spec_warnings(path, item) for path, item in zip(files, loaded, strict=True)]
    if as_json:
        resolved = [
            {**_resolved(item), "warnings": [w.render() for w in found]}
            for item, found in zip(loaded, warnings, strict=True)
        ]
        typer.echo(json.dumps(resolved, indent=2))
        return
    console = Console(highlight=False, soft_wrap=True)
    for path, item, found in zip(files, loaded, warnings, strict=True):
        if isinstance(item, LoadedExperiment):
            _print_experiment(console, path, item)
        else:
            _print_profile(console, path, item)
        for warning in found:
            console.print(f"  warning: {warning.render()}", style="yellow", markup=False)


def schema(
    kind: str = typer.Option("all", help="Experiment, LoadProfile or all."),
) -> None:
    """Print the JSON Schema of the spec files, for editor completion."""
    schemas = {
        "Experiment": Experiment.model_json_schema(by_alias=True),
        "LoadProfile": LoadProfile.model_json_schema(by_alias=True),
    }
    if kind != "all" and kind not in schemas:
        raise typer.BadParameter(f"{kind!r} is not one of Experiment, LoadProfile, all")
    typer.echo(json.dumps(schemas if kind == "all" else schemas[kind], indent=2))


def _resolved(item: LoadedExperiment | LoadProfile) -> dict[str, object]:
    if isinstance(item, LoadProfile):
        return item.to_yaml_dict()
    data = item.experiment.to_yaml_dict()
    data["spec"]["load"]["stages"] = [s.to_yaml_dict() for s in item.profile.stages]
    data["spec"]["load"]["arrivals"] = item.profile.arrivals.to_yaml_dict()
    data["spec"]["load"].pop("profile", None)
    data["resolved"] = {
        "baseline": item.baseline,
        "variants": [{"name": v.name, "spec": v.spec.to_yaml_dict()} for v in item.variants],
        "trials": [t.trial_id for t in item.trials()],
    }
    return data


def _print_experiment(console: Console, path: Path, item: LoadedExperiment) -> None:
    spec = item.experiment.spec
    curve = item.curve()
    per_trial = spec.phases.warmup + curve.duration_s + spec.phases.cooldown
    trials = item.trials()
    console.print(f"[bold]{path}[/]: Experiment [bold]{item.name}[/] is valid")
    console.print(
        f"  {len(item.variants)} variants × {spec.repetitions} repetitions = {len(trials)} "
        f"trials of {format_duration(per_trial)} (warm-up {format_duration(spec.phases.warmup)}"
        f", load {format_duration(curve.duration_s)}, cool-down "
        f"{format_duration(spec.phases.cooldown)}); planned "
        f"{format_duration(per_trial * len(trials))} without resets"
    )
    table = Table("variant", "differences from the baseline", box=None, pad_edge=False)
    baseline = item.variant(item.baseline).spec.to_yaml_dict()
    for variant in item.variants:
        if variant.name == item.baseline:
            table.add_row(variant.name, "(baseline)")
            continue
        changes = spec_diff(baseline, variant.spec.to_yaml_dict())
        text = "\n".join(_change(p, a, b) for p, a, b in changes) or "(none)"
        table.add_row(variant.name, text)
    console.print(table)
    _print_chart(console, curve, unit="users" if spec.load.model == "closed" else "requests/s")
    _print_events(console, spec.events)


def _print_events(console: Console, events: list[AnyEvent]) -> None:
    """The faults of every trial, in time order (``at`` from the start of the load phase)."""
    if not events:
        return
    console.print(f"  faults (spec.events, from the start of the load phase): {len(events)}")
    for event in sorted(events, key=lambda e: e.at):
        end = event_end(event)
        when = format_duration(event.at) + (f"–{format_duration(end)}" if end > event.at else "")
        fields = event.to_yaml_dict()
        extra = ", ".join(
            f"{k} {v}" for k, v in fields.items() if k not in ("type", "at", "duration")
        )
        console.print(
            f"    {when:>12}  {event.type}" + (f" ({extra})" if extra else ""), markup=False
        )


def _print_profile(console: Console, path: Path, item: LoadProfile) -> None:
    curve = compile_profile(item.spec.stages)
    # at most ~50,000 slices: a profile of weeks is summed as fast as one of minutes
    step_s = max(0.1, curve.duration_s / 50_000)
    console.print(
        f"[bold]{path}[/]: LoadProfile [bold]{item.metadata.name}[/] is valid: "
        f"{len(item.spec.stages)} stages, {format_duration(curve.duration_s)}, "
        f"{item.spec.arrivals.process} arrivals, "
        f"{curve.requests_between(0, curve.duration_s, step_s=step_s):,.0f} requests"
    )
    _print_chart(console, curve)


def _print_chart(console: Console, curve: RateCurve, *, unit: str = "requests/s") -> None:
    """The offered rate (or users) over time as a block chart, one column per slice of time."""
    rates = [curve.rate_at((i + 0.5) * curve.duration_s / CHART_WIDTH) for i in range(CHART_WIDTH)]
    peak = max(rates) or 1.0
    levels = [r / peak * CHART_HEIGHT * (len(_BLOCKS) - 1) for r in rates]
    console.print(f"  offered load (peak {peak:.0f} {unit})")
    for row in range(CHART_HEIGHT - 1, -1, -1):
        base = row * (len(_BLOCKS) - 1)
        line = "".join(_BLOCKS[int(min(max(v - base, 0), len(_BLOCKS) - 1))] for v in levels)
        label = {CHART_HEIGHT - 1: f"{peak:6.0f} │", 0: "     0 │"}.get(row, "       │")
        console.print(f"  {label}{line}", markup=False)
    console.print(f"         └{'─' * CHART_WIDTH}", markup=False)
    console.print(
        f"          0{format_duration(curve.duration_s):>{CHART_WIDTH - 1}}", markup=False
    )


def _change(path: str, old: object, new: object) -> str:
    """One difference; for two long strings only the part that differs, with context."""
    if isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) > 40:
        prefix = _shared_prefix(old, new)
        suffix = _shared_prefix(old[prefix:][::-1], new[prefix:][::-1])
        start = max(prefix - 12, 0)
        old, new = (f"…{text[start : len(text) - suffix + 6]}…" for text in (old, new))
    return f"{path}: {_short(old)} → {_short(new)}"


def _shared_prefix(a: str, b: str) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def _short(value: object) -> str:
    if value is None:
        return "(unset)"
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."

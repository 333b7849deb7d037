"""`hpalab explain SPEC`: one HPA sync step by step, or a replayed metric trace."""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hpalab.autoscaling.hpa import ControllerConfig, parse_hpa_spec
from hpalab.autoscaling.hpa.explain import Scenario, explain, replay
from hpalab.autoscaling.hpa.spec import milli_value
from hpalab.autoscaling.hpa.versions import differences, features
from hpalab.cli.explain_versions import print_versions
from hpalab.errors import BadInput, EngineError, UsageError
from hpalab.specs.kubeversions import KUBERNETES_VERSIONS, NEWEST_VERSION
from hpalab.specs.sources import parse_yaml, read_text

_SPEC_HINT = (
    "pass a HorizontalPodAutoscaler YAML, a bare HorizontalPodAutoscalerSpec (with maxReplicas) "
    "or an experiment file (kind: Experiment)"
)


def _load_spec(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The HPA spec dict and the controller flags (seconds) the file sets, if any."""
    # the shared reader: missing files, directories, size, UTF-8 and YAML errors with places
    data = parse_yaml(read_text(path), file=str(path)).data
    if not isinstance(data, dict):
        raise BadInput(f"{path}: not a YAML mapping", hint=_SPEC_HINT)
    if data.get("kind") == "Experiment":
        from hpalab.specs import load_experiment

        loaded = load_experiment(path)
        flags = loaded.experiment.spec.controller
        settings = {
            "tolerance": flags.tolerance,
            "sync_period_s": flags.sync_period,
            "downscale_stabilization_window_s": flags.downscale_stabilization,
            "initial_readiness_delay_s": flags.initial_readiness_delay,
            "cpu_initialization_period_s": flags.cpu_initialization_period,
            "kubernetes_version": flags.kubernetes_version,
            "feature_gates": flags.feature_gates,
        }
        return dict(loaded.raw["spec"]["hpa"]), settings
    if data.get("kind") == "HorizontalPodAutoscaler":
        spec = data.get("spec")
        if not isinstance(spec, dict):
            raise BadInput(f"{path}: the HorizontalPodAutoscaler has no spec", hint=_SPEC_HINT)
        return spec, {}
    if "maxReplicas" in data:
        return data, {}
    raise BadInput(f"{path}: neither an HPA, an HPA spec nor an experiment", hint=_SPEC_HINT)


def _pairs(items: list[str], option: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(
                f"{option} {item!r}: expected NAME=VALUE", hint=f"e.g. {option} rps=12"
            )
        result[name.strip()] = value.strip()
    return result


def _pod_values(items: list[str], spec: dict[str, Any]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep:
            name, values = _single_pod_metric(spec), item
        parts = [v.strip() for v in values.split(",") if v.strip()]
        if not parts:
            raise UsageError(f"--pods {item!r}: no values", hint='e.g. --pods "10,12,30"')
        result[name.strip()] = parts
    return result


def _single_pod_metric(spec: dict[str, Any]) -> str:
    names = []
    for metric in spec.get("metrics") or []:
        body = metric.get(
            {"Pods": "pods", "Resource": "resource", "ContainerResource": "containerResource"}.get(
                str(metric.get("type")), ""
            )
        )
        if isinstance(body, dict):
            names.append(str(body.get("metric", {}).get("name") or body.get("name")))
    if len(names) != 1:
        raise UsageError(
            "--pods without NAME= needs an HPA with exactly one per-pod metric",
            hint='name the metric: --pods "NAME=v1,v2,..."',
        )
    return names[0]


def _config(settings: dict[str, Any], overrides: dict[str, Any]) -> ControllerConfig:
    merged = {**settings, **{k: v for k, v in overrides.items() if v is not None}}
    version = merged.get("kubernetes_version", NEWEST_VERSION)
    try:
        switches = features(version, merged.get("feature_gates")).config_flags()
    except ValueError as error:
        raise UsageError(
            f"--kubernetes-version {version}: {error}",
            hint=f"known versions: {', '.join(KUBERNETES_VERSIONS)}; a GA gate cannot be off",
        ) from error
    return ControllerConfig(
        tolerance=merged.get("tolerance", 0.1),
        cpu_initialization_period_s=merged.get("cpu_initialization_period_s", 300.0),
        initial_readiness_delay_s=merged.get("initial_readiness_delay_s", 30.0),
        downscale_stabilization_window_s=merged.get("downscale_stabilization_window_s", 300.0),
        sync_period_s=merged.get("sync_period_s", 15.0),
        **switches,
    )


def _versions(
    spec: dict[str, Any], scenario: Scenario, settings: dict[str, Any], overrides: dict[str, Any]
) -> dict[str, Any]:
    """The version explained and, for --kubernetes-version, how it differs from the spec's."""
    version = overrides.get("kubernetes_version")
    gates = settings.get("feature_gates")
    base = settings.get("kubernetes_version", NEWEST_VERSION)
    chosen = features(version or base, gates)
    result: dict[str, Any] = {"version": chosen.version, "gates": chosen.gates}
    if version is None or version == base:
        return result
    other = explain(spec, _config(settings, {**overrides, "kubernetes_version": None}), scenario)
    result["compared_with"] = {
        "version": base,
        "differences": differences(features(base, gates), chosen),
        "desired_replicas": other["desired_replicas"],
        "conditions": other["conditions"],
    }
    return result


def _read_trace(path: Path) -> list[tuple[float, dict[str, str]]]:
    hint = "a trace CSV has a t_s column and one column per metric name"
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError as error:
        raise BadInput(f"{path}: no such trace file", hint=hint) from error
    except (OSError, csv.Error, UnicodeDecodeError) as error:
        raise BadInput(f"{path}: cannot read the trace: {error}", hint=hint) from error
    samples = []
    for number, row in enumerate(rows, start=2):
        try:
            t = float(row.pop("t_s"))
        except (KeyError, TypeError, ValueError) as error:
            raise BadInput(f"{path}:{number}: missing or bad t_s", hint=hint) from error
        samples.append((t, {k: v for k, v in row.items() if k and v not in (None, "")}))
    return samples


def _print_metrics(metrics: list[dict[str, Any]], console: Console) -> None:
    if not metrics:
        return
    table = Table(title="2. Proposal per metric", title_justify="left")
    for column in ("metric", "type", "target", "current", "ratio", "in band", "proposal", "note"):
        table.add_column(column)
    for m in metrics:
        if "error" in m:
            table.add_row(m["name"], m["type"], m["target"], "-", "-", "-", "failed", m["error"])
            continue
        table.add_row(
            m["name"],
            m["type"],
            m["target"],
            m["current"],
            f"{m['ratio']:.4f}",
            "yes" if m["within_tolerance"] else "no",
            str(m["proposal"]),
            m["note"],
        )
    console.print(table)


def _print_explanation(data: dict[str, Any], console: Console) -> None:
    print_versions(data["kubernetes"], data, console)
    console.print(
        f"[bold]HPA[/bold] min={data['min_replicas']} max={data['max_replicas']} "
        f"current={data['current_replicas']} · {data['behavior']}"
    )
    band = data["tolerance"]["band"]
    console.print(
        f"[bold]1. Tolerance band[/bold]: ratio within [{band[0]:g}, {band[1]:g}] → no change"
    )
    _print_metrics(data["metrics"], console)
    if data["metric_proposal"] is not None:
        console.print(
            f"[bold]3. Largest proposal[/bold]: {data['metric_proposal']} "
            f"({data['rescale_reason'] or 'no change'})"
        )
    norm = data["normalization"]
    rules = data["rules"]
    if norm:
        console.print(
            f"[bold]4. Stabilization[/bold] (windows: up {rules['scale_up_window_s']:g}s, "
            f"down {rules['scale_down_window_s']:g}s): {norm['proposal']} → {norm['stabilized']} "
            f"({norm['stabilization']})"
        )
        console.print(
            f"[bold]5. Policies and min/max[/bold] (up: {rules['scale_up_policy']}; "
            f"down: {rules['scale_down_policy']}): {norm['stabilized']} → {norm['desired']} "
            f"({norm['limit_reason']}: {norm['limit_message']})",
            highlight=False,
        )
    if data["error"]:
        console.print(
            f"[yellow]metrics problem[/yellow]: {data['error']}", markup=True, highlight=False
        )
    console.print(
        f"[bold]Result[/bold]: desired replicas {data['desired_replicas']} "
        f"(rescale: {data['rescale']})"
    )
    for c in data["conditions"]:
        console.print(f"  {c['type']}={c['status']} {c['reason']}: {c['message']}", highlight=False)
    for e in data["events"]:
        console.print(f"  event {e['type']} {e['reason']}: {e['message']}", highlight=False)


def _print_trace(rows: list[dict[str, Any]], console: Console) -> None:
    names = sorted({k for r in rows for k in r["values"]})
    table = Table(title="Replica timeline", title_justify="left")
    for column in ("t_s", *names, "replicas", "desired", "limited by", "stabilization"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            f"{r['t_s']:g}",
            *(r["values"].get(n, "") for n in names),
            str(r["current"]),
            str(r["desired"]),
            r["limit_reason"],
            r["stabilization"],
        )
    console.print(table)


ValueOpt = Annotated[
    list[str],
    typer.Option(
        "--value",
        help="NAME=V, one value per metric: per-pod average for Pods and Resource metrics "
        "(N% = utilization of --request), the value for Object and External metrics.",
    ),
]
PodsOpt = Annotated[
    list[str], typer.Option("--pods", help='Per-pod values "v1,v2,..." or "NAME=v1,v2,...".')
]
ReplicasOpt = Annotated[
    int | None, typer.Option("--replicas", min=0, help="Current replicas (scale.spec.replicas).")
]
RequestOpt = Annotated[
    str, typer.Option("--request", help="Per-pod resource request used for N% values.")
]
ToleranceOpt = Annotated[
    float | None, typer.Option("--tolerance", min=0.0, help="Cluster-wide tolerance flag.")
]
SyncOpt = Annotated[
    float | None, typer.Option("--sync-period", min=0.001, help="Sync period in s (--trace).")
]
DownscaleOpt = Annotated[
    float | None,
    typer.Option("--downscale-stabilization", min=0.0, help="Downscale stabilization, s."),
]
TraceOpt = Annotated[
    Path | None,
    typer.Option("--trace", help="CSV with t_s and one column per metric, to replay."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
VersionOpt = Annotated[
    str | None,
    typer.Option(
        "--kubernetes-version",
        help=f"Decide like this Kubernetes version ({', '.join(KUBERNETES_VERSIONS)}) and "
        "show how it differs from the spec's (default: the spec's, else the newest).",
    ),
]


def _run_trace(
    spec: dict[str, Any],
    config: ControllerConfig,
    trace: Path,
    *,
    start: int,
    request_milli: int,
    as_json: bool,
) -> None:
    samples = _read_trace(trace)
    timeline = replay(
        spec, config, samples=samples, initial_replicas=start, request_milli=request_milli
    )
    rows = [asdict(r) for r in timeline]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        _print_trace(rows, Console(soft_wrap=True, width=200))


@contextlib.contextmanager
def _values_are_usage_errors() -> Iterator[None]:
    """The spec is valid by now, so an engine error is about a value the user gave."""
    try:
        yield
    except EngineError as error:
        raise UsageError(
            error.message,
            hint="metric values are numbers or Kubernetes quantities such as 500m or 1.5k",
        ) from error


def explain_command(
    spec_file: Annotated[Path, typer.Argument(help="HPA YAML, HPA spec YAML or experiment file.")],
    *,
    value: ValueOpt = [],  # noqa: B006 - typer needs a list default
    pods: PodsOpt = [],  # noqa: B006
    replicas: ReplicasOpt = None,
    request: RequestOpt = "1",
    tolerance: ToleranceOpt = None,
    sync_period: SyncOpt = None,
    downscale_stabilization: DownscaleOpt = None,
    trace: TraceOpt = None,
    kubernetes_version: VersionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Explain one HPA sync step by step (or replay --trace): ratios, tolerance, windows, limits."""
    spec, settings = _load_spec(spec_file)
    try:
        parse_hpa_spec(spec)  # spec problems first, so that value problems are told apart
    except EngineError as error:
        raise BadInput(f"{spec_file}: {error.message}", hint=error.hint) from error
    overrides = {
        "tolerance": tolerance,
        "sync_period_s": sync_period,
        "downscale_stabilization_window_s": downscale_stabilization,
        "kubernetes_version": kubernetes_version,
    }
    config = _config(settings, overrides)
    try:
        request_milli = milli_value(request, where="--request")
    except EngineError as error:
        raise UsageError(error.message, hint="e.g. --request 500m") from error
    console = Console(soft_wrap=True, width=200)
    if trace is not None:
        start = replicas if replicas is not None else max(int(spec.get("minReplicas", 1)), 1)
        with _values_are_usage_errors():
            _run_trace(
                spec, config, trace, start=start, request_milli=request_milli, as_json=as_json
            )
        return
    pod_values = _pod_values(pods, spec)
    current = (
        replicas
        if replicas is not None
        else max([len(v) for v in pod_values.values()] or [max(int(spec.get("minReplicas", 1)), 1)])
    )
    scenario = Scenario(current, _pairs(value, "--value"), pod_values, request_milli)
    with _values_are_usage_errors():
        data = explain(spec, config, scenario)
        data["kubernetes"] = _versions(spec, scenario, settings, overrides)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        _print_explanation(data, console)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("explain")(explain_command)

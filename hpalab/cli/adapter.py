"""``hpalab adapter preview|render|lint``: prometheus-adapter rules, checked before a run.

Each command takes either a prometheus-adapter config file (the adapter's own ``--config``
YAML) or an experiment file (``kind: Experiment``, rules under ``spec.adapter``).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import typer
import yaml
from pydantic import ValidationError

from hpalab.autoscaling.adapter import DEFAULT_REST_MAPPER
from hpalab.autoscaling.adapter.lint import HpaMetric, LintWarning, lint_config
from hpalab.cli.specfiles import adapter_problems
from hpalab.errors import EXIT_ERROR, SpecError, UsageError
from hpalab.specs import load_experiment
from hpalab.specs.adapter import AdapterConfig, BlockDumper, parse_prometheus_duration
from hpalab.specs.hpa import MetricSpec
from hpalab.specs.sources import Source, parse_yaml, read_text

INPUT_HELP = "A prometheus-adapter config YAML, or an experiment file (rules under spec.adapter)."
VARIANT_HELP = "For experiments: the variant whose rules to use (default: the spec as written)."


def register(app: typer.Typer) -> None:
    """Add ``hpalab adapter`` and its subcommands to ``app``."""
    group = typer.Typer(
        help="Preview, render and lint prometheus-adapter rules.", no_args_is_help=True
    )
    group.command("preview")(preview)
    group.command("render")(render)
    group.command("lint")(lint)
    app.add_typer(group, name="adapter")


@dataclass
class AdapterInput:
    """What the commands need from an input file."""

    path: Path
    config: AdapterConfig
    metrics: list[MetricSpec] = field(default_factory=list)
    scrape_interval_s: float | None = None


def _validate_config(data: Any, source: Source, prefix: tuple[str | int, ...]) -> AdapterConfig:
    try:
        config = AdapterConfig.model_validate(data if data is not None else {})
    except ValidationError as error:
        problems = []
        for item in error.errors():
            loc = (*prefix, *item["loc"])
            message = "unknown field" if item["type"] == "extra_forbidden" else item["msg"]
            hint = "prometheus-adapter rejects unknown keys (strict YAML decoding)"
            problems.append(source.problem(loc, message, hint if "unknown" in message else None))
        raise SpecError(problems) from None
    problems = adapter_problems(config, source, prefix)
    if problems:
        raise SpecError(problems)
    return config


def load_input(path: Path, *, variant: str | None = None) -> AdapterInput:
    """Read an adapter config or an experiment; raise ``SpecError`` naming file, line, key."""
    source = parse_yaml(read_text(path), file=str(path))
    data = source.data
    if isinstance(data, dict) and data.get("kind") == "LoadProfile":
        raise UsageError(
            f"{path} is a LoadProfile, which has no adapter rules",
            hint="pass a prometheus-adapter config or an experiment (kind: Experiment)",
        )
    if not (isinstance(data, dict) and data.get("kind") == "Experiment"):
        if variant:
            raise UsageError("--variant only applies to experiment files")
        return AdapterInput(path, _validate_config(data, source, ()))
    loaded = load_experiment(path)
    spec = loaded.experiment.spec
    if variant:
        try:
            spec = loaded.variant(variant).spec
        except KeyError:
            names = ", ".join(v.name for v in loaded.variants)
            raise UsageError(f"no variant {variant!r} in {path}", hint=f"one of: {names}") from None
    raw: Any = spec.adapter
    config = (
        raw
        if isinstance(raw, AdapterConfig)
        else _validate_config(raw, source, ("spec", "adapter"))
    )
    return AdapterInput(path, config, list(spec.hpa.metrics), spec.prometheus.scrape_interval)


def _seconds(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    try:
        return parse_prometheus_duration(text)
    except ValueError:
        raise UsageError(f"{option}: {text!r} is not a duration", hint="use e.g. 15s, 1m") from None


def configmap(config: AdapterConfig, *, name: str, namespace: str) -> dict[str, Any]:
    """The adapter's ConfigMap (key ``config.yaml``) as a Kubernetes object."""
    body = config.to_yaml_text()
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/name": "prometheus-adapter",
                "app.kubernetes.io/managed-by": "hpalab",
            },
        },
        "data": {"config.yaml": body},
    }


def render(
    file: Path = typer.Argument(..., help=INPUT_HELP),
    *,
    name: str = typer.Option("adapter-config", "--name", help="ConfigMap name."),
    namespace: str = typer.Option("monitoring", "--namespace", help="ConfigMap namespace."),
    variant: str | None = typer.Option(None, "--variant", help=VARIANT_HELP),
) -> None:
    """Print the prometheus-adapter ConfigMap YAML for a cluster."""
    loaded = load_input(file, variant=variant)
    cm = configmap(loaded.config, name=name, namespace=namespace)
    typer.echo(yaml.dump(cm, Dumper=BlockDumper, sort_keys=False, width=1000), nl=False)


def lint(
    file: Path = typer.Argument(..., help=INPUT_HELP),
    *,
    scrape_interval: str | None = typer.Option(
        None, "--scrape-interval", help="Prometheus scrape interval (default: the experiment's)."
    ),
    relist_interval: str | None = typer.Option(
        None, "--relist-interval", help="The adapter's --metrics-relist-interval."
    ),
    metric: list[str] = typer.Option(
        [],
        "--metric",
        help="Pods metric name the HPA uses (repeatable; experiments: from spec.hpa).",
    ),
    variant: str | None = typer.Option(None, "--variant", help=VARIANT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print warnings as JSON."),
) -> None:
    """Warn about common adapter-rule mistakes; exit 1 when there are warnings."""
    loaded = load_input(file, variant=variant)
    scrape_s = _seconds(scrape_interval, "--scrape-interval") or loaded.scrape_interval_s
    wanted = [HpaMetric(m.type, m.metric_name) for m in loaded.metrics]
    wanted += [HpaMetric("Pods", name) for name in metric]
    warnings = lint_config(
        loaded.config,
        scrape_interval_s=scrape_s,
        relist_interval_s=_seconds(relist_interval, "--relist-interval"),
        hpa_metrics=wanted,
        mapper=DEFAULT_REST_MAPPER.including(loaded.config.override_resources()),
    )
    _print_warnings(warnings, file=file, as_json=as_json)
    if warnings:
        raise typer.Exit(EXIT_ERROR)


def _print_warnings(warnings: list[LintWarning], *, file: Path, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([asdict(w) for w in warnings], indent=2))
        return
    for w in warnings:
        typer.echo(f"{file}: {w.where}: warning [{w.code}] {w.message}\n    hint: {w.hint}")
    count = len(warnings)
    typer.echo(f"{count} warning{'s' if count != 1 else ''}" if count else "no warnings")


def preview(
    file: Path = typer.Argument(..., help=INPUT_HELP),
    *,
    prometheus: str = typer.Option(
        ..., "--prometheus", help="Prometheus URL, e.g. http://127.0.0.1:9090."
    ),
    namespace: str = typer.Option(
        "", "--namespace", help="Only this namespace (default: all found)."
    ),
    metric: list[str] = typer.Option(
        [], "--metric", help="Pods metric to evaluate (repeatable; experiments: from spec.hpa)."
    ),
    at: float | None = typer.Option(
        None, "--at", help="Evaluation time, Unix seconds (default: now)."
    ),
    max_age: str = typer.Option(
        "10m", "--max-age", help="Series look-back, like --metrics-max-age."
    ),
    variant: str | None = typer.Option(None, "--variant", help=VARIANT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the preview as JSON."),
) -> None:
    """Show what prometheus-adapter would serve: rules, metrics, PromQL and per-pod values."""
    from hpalab.collectors.adapter_source import PrometheusAPI
    from hpalab.collectors.adapter_source import preview as run_preview

    parts = urlsplit(prometheus)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--prometheus {prometheus!r} is not an http(s) URL",
            hint="pass the server's base URL, e.g. --prometheus http://127.0.0.1:9090",
        )
    loaded = load_input(file, variant=variant)
    metrics = list(loaded.metrics) + [_pods_metric(name) for name in metric]
    look_back = _seconds(max_age, "--max-age") or 600.0
    now = at if at is not None else time.time()
    with PrometheusAPI(prometheus) as api:
        result = run_preview(
            api,
            loaded.config,
            metrics,
            mapper=DEFAULT_REST_MAPPER.including(loaded.config.override_resources()),
            namespace=namespace,
            at=now,
            start=now - look_back,
            scrape_interval_s=loaded.scrape_interval_s,
        )
    if as_json:
        typer.echo(json.dumps(asdict(result), indent=2))
        return
    _print_preview(asdict(result))


def _pods_metric(name: str) -> MetricSpec:
    return MetricSpec.model_validate(
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": name},
                "target": {"type": "AverageValue", "averageValue": "1"},
            },
        }
    )


def _print_preview(data: dict[str, Any]) -> None:
    typer.echo(f"Prometheus {data['prometheus']}")
    for rule in data["rules"]:
        typer.echo(f"\n{rule['where']}: {rule['series_query']}")
        typer.echo(f"  series kept: {rule['series']}")
        typer.echo(f"  exposes: {', '.join(rule['metrics']) or '(nothing)'}")
    for item in data["metrics"]:
        where = f" in namespace {item['namespace']}" if item["namespace"] else ""
        typer.echo(f"\n{item['kind']} metric {item['name']}{where}")
        if item["error"]:
            typer.echo(f"  error: {item['error']}")
            continue
        typer.echo(f"  query: {item['query']}")
        for value in item["values"]:
            label = value.get("name") or json.dumps(value.get("metric_labels", {}), sort_keys=True)
            typer.echo(f"  {label}: {value['value']}")
        seen = {v.get("name") for v in item["values"]}
        for missing in (o for o in item["objects"] if o not in seen):
            typer.echo(f"  {missing}: (no value: the HPA counts this pod as missing)")
    for w in data["warnings"]:
        typer.echo(f"\nwarning [{w['code']}] {w['where']}: {w['message']}\n  hint: {w['hint']}")

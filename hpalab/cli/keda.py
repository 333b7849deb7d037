"""``hpalab keda convert``: prometheus-adapter rules + an HPA -> a KEDA ScaledObject.

The input is an experiment (``spec.hpa`` + ``spec.adapter``) or a prometheus-adapter config
with ``--hpa``. The output is a ScaledObject ready to apply, or with ``--experiment`` an
experiment that runs the adapter and the converted KEDA trigger side by side. Every place where
KEDA cannot behave exactly like the adapter path is reported as a warning (on stderr, and as
comments at the top of the output).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError

from hpalab.autoscaling.keda.convert import (
    SERVER_ADDRESS,
    Conversion,
    ConversionError,
    Workload,
    convert,
)
from hpalab.cli.adapter import load_input
from hpalab.errors import SpecError, UsageError
from hpalab.specs.hpa import HPASpec, hpa_problems
from hpalab.specs.sources import parse_yaml, read_text

INPUT_HELP = "An experiment (spec.hpa + spec.adapter), or a prometheus-adapter config with --hpa."
_HPA_HINT = "--hpa takes an autoscaling/v2 HorizontalPodAutoscaler object or its spec"
DEFAULT_STAGES = [
    {"type": "hold", "rps": 5, "duration": "30s"},
    {"type": "ramp", "from": 5, "to": 50, "duration": "2m"},
    {"type": "hold", "rps": 50, "duration": "1m"},
]


def register(app: typer.Typer) -> None:
    """Add ``hpalab keda`` and its subcommands to ``app``."""
    group = typer.Typer(help="Move from prometheus-adapter to KEDA.", no_args_is_help=True)
    group.command("convert")(convert_command)
    app.add_typer(group, name="keda")


def _hpa_file(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(HPA spec without scaleTargetRef, the object's metadata and target) from ``--hpa``."""
    source = parse_yaml(read_text(path), file=str(path))
    data = source.data
    if not isinstance(data, dict):
        raise SpecError([source.problem((), "must be an HPA object or spec", None)])
    whole = data.get("kind") == "HorizontalPodAutoscaler"
    spec = dict(data.get("spec") or {}) if whole else dict(data)
    prefix: tuple[str, ...] = ("spec",) if whole else ()
    target = spec.pop("scaleTargetRef", None) or {}
    try:
        model = HPASpec.model_validate(spec, by_alias=True)
    except ValidationError as error:
        problems = [
            source.problem((*prefix, *item["loc"]), str(item["msg"]), _HPA_HINT)
            for item in error.errors()
        ]
        raise SpecError(problems) from None
    problems = [source.problem((*prefix, *p), m, h) for p, m, h in hpa_problems(model)]
    if problems:
        raise SpecError(problems)
    meta = dict(data.get("metadata") or {}) if whole else {}
    return model.to_kubernetes(), {**meta, "target": target.get("name")}


def _experiment_output(
    path: Path, conversion: Conversion, *, hpa: dict[str, Any], adapter: dict[str, Any]
) -> dict[str, Any]:
    source = parse_yaml(read_text(path), file=str(path))
    data = source.data
    if isinstance(data, dict) and data.get("kind") == "Experiment":
        out = copy.deepcopy(data)
        spec = out["spec"]
        for key in ("variants", "matrix", "baseline"):
            spec.pop(key, None)
        spec["hpa"], spec["adapter"] = hpa, adapter
        if "profile" in spec.get("load", {}):
            # inline the profile, so that the output runs from any directory
            from hpalab.specs import load_experiment

            profile = load_experiment(path).profile
            spec["load"].pop("profile")
            spec["load"]["stages"] = [stage.to_yaml_dict() for stage in profile.stages]
    else:
        name = path.stem.lower().replace("_", "-")[:40] or "converted"
        out = {
            "apiVersion": "hpalab/v1",
            "kind": "Experiment",
            "metadata": {"name": f"{name}-adapter-vs-keda"},
            "spec": {"hpa": hpa, "adapter": adapter, "load": {"stages": DEFAULT_STAGES}},
        }
    keda = copy.deepcopy(conversion.spec)
    keda.pop("scaleTargetRef", None)  # hpalab points it at the sample app
    out["spec"]["variants"] = [
        {"name": "adapter", "description": "the prometheus-adapter rules as given"},
        {
            "name": "keda",
            "description": "the same metric as a KEDA prometheus trigger (hpalab keda convert)",
            "patch": {"hpa": None, "adapter": None, "keda": keda},
        },
    ]
    return out


def _scaled_object(conversion: Conversion, *, name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": namespace},
        "spec": conversion.spec,
    }


def convert_command(
    source: Annotated[Path, typer.Argument(help=INPUT_HELP, metavar="ADAPTER_CONFIG|EXPERIMENT")],
    hpa: Annotated[
        Path | None, typer.Option("--hpa", help="HPA YAML (object or spec) for an adapter config.")
    ] = None,
    namespace: Annotated[
        str, typer.Option("--namespace", help="Namespace of the workload's series.")
    ] = "default",
    workload: Annotated[
        str | None,
        typer.Option(
            "--workload", help="Workload name (pods <name>-*); default: the HPA's target."
        ),
    ] = None,
    server_address: Annotated[
        str, typer.Option("--server-address", help="Prometheus URL KEDA queries.")
    ] = SERVER_ADDRESS,
    experiment: Annotated[
        bool, typer.Option("--experiment", help="Write an experiment: adapter vs KEDA variants.")
    ] = False,
) -> None:
    """Turn each HPA metric the adapter serves into a KEDA trigger with the same arithmetic."""
    loaded = load_input(source)
    hpa_spec, meta = _hpa_of(source, has_hpa=bool(loaded.metrics), hpa=hpa)
    name = workload or meta.get("target") or meta.get("name")
    if not name:
        raise UsageError("the HPA names no scaleTargetRef", hint="add --workload NAME")
    adapter = loaded.config.to_yaml_dict()
    try:
        conversion = convert(hpa_spec, loaded.config, workload=Workload(str(name), namespace))
    except ConversionError as error:
        raise UsageError(str(error), hint="check the rule's seriesQuery and name.as") from None
    for trigger in conversion.spec["triggers"]:
        if "serverAddress" in trigger["metadata"]:
            trigger["metadata"]["serverAddress"] = server_address
    for warning in conversion.warnings:
        typer.echo(f"warning: {warning.metric}: {warning.code}: {warning.message}", err=True)
    if experiment:
        document = _experiment_output(source, conversion, hpa=hpa_spec, adapter=adapter)
    else:
        so_name = str(meta.get("name") or name)
        document = _scaled_object(conversion, name=so_name, namespace=namespace)
    header = "".join(f"# warning: {w.metric}: {w.message}\n" for w in conversion.warnings)
    typer.echo(header + yaml.safe_dump(document, sort_keys=False, width=100), nl=False)


def _hpa_of(
    source: Path, *, has_hpa: bool, hpa: Path | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The HPA spec and its metadata: the experiment's spec.hpa, or the --hpa file."""
    if has_hpa:
        if hpa is not None:
            raise UsageError("--hpa is for adapter configs; an experiment has spec.hpa")
        return _experiment_hpa(source), {"target": "sample-app"}
    if hpa is None:
        raise UsageError(
            f"{source} is a prometheus-adapter config: say which HPA uses it",
            hint="add --hpa my-hpa.yaml (a HorizontalPodAutoscaler object or its spec)",
        )
    return _hpa_file(hpa)


def _experiment_hpa(path: Path) -> dict[str, Any]:
    from hpalab.specs import load_experiment

    loaded = load_experiment(path)
    spec = loaded.experiment.spec
    if spec.keda is not None:
        raise UsageError(f"{path} already uses spec.keda", hint="convert an adapter experiment")
    return spec.hpa.to_kubernetes()

"""``spec.target`` in ``hpalab run``: the experiment read against the cluster, what it may do
there, and the changes of every variant shown before anything changes."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

import yaml

from hpalab.errors import Problem, SpecError
from hpalab.specs import LoadedExperiment
from hpalab.specs.sources import parse_yaml, read_text
from hpalab.specs.target import Resolver

if TYPE_CHECKING:
    from hpalab.platforms.kubernetes.client import KubeClient

TARGET_FAULTS = ("killPods",)
"""Faults a run on an existing workload may cause: the others change the cluster's monitoring
(an outage scales the adapter down), which hpalab did not save."""


def _client(context: str | None) -> KubeClient:
    from hpalab.platforms.kubernetes.client import KubeClient, load_api_client

    return KubeClient(load_api_client(context=context))


def resolver(platform: str, context: str | None) -> Resolver | None:
    """What ``fromCluster`` and ``spec.target`` are read with on ``platform``."""
    if platform != "kubernetes":
        return None
    from hpalab.platforms.kubernetes.existing import cluster_resolver

    return cluster_resolver(lambda: _client(context))


def check_target(loaded: LoadedExperiment, platform: str) -> None:
    """Refuse ``spec.target`` off the kubernetes platform, and faults it may not cause.

    Raises:
        SpecError: at ``spec.target`` or at each refused event.
    """
    spec = loaded.experiment.spec
    if spec.target is None:
        return
    source = parse_yaml(read_text(loaded.path), file=str(loaded.path))
    problems: list[Problem] = []
    if platform != "kubernetes":
        problems.append(
            source.problem(
                ("spec", "target"),
                f"spec.target names a workload on a cluster; the {platform} platform runs "
                "its own replicas",
                "use --platform kubernetes (and --context), or remove spec.target",
            )
        )
    for index, event in enumerate(spec.events):
        if event.type not in TARGET_FAULTS:
            problems.append(
                source.problem(
                    ("spec", "events", index, "type"),
                    f"{event.type} would change the cluster's monitoring, which a run on "
                    "spec.target leaves alone",
                    f"on your own workload use {', '.join(TARGET_FAULTS)}, or run the sample "
                    "app's stack (no spec.target)",
                )
            )
    if problems:
        raise SpecError(problems)


def _dump(data: Any) -> list[str]:
    return yaml.safe_dump(data, sort_keys=True, width=100).splitlines()


def _diff(before: Any, after: Any, *, name: str, variant: str) -> list[str]:
    return list(
        difflib.unified_diff(
            _dump(before),
            _dump(after),
            fromfile=f"{name} (now)",
            tofile=f"{name} ({variant})",
            lineterm="",
        )
    )


def changes(loaded: LoadedExperiment, context: str | None) -> list[str]:
    """Per variant, the diff of what it changes on the cluster against what is there now."""
    from hpalab.platforms.kubernetes.existing import path_of, target_hpa_spec

    target = loaded.experiment.spec.target
    assert target is not None
    client = _client(context)
    name = target.hpa or target.name
    hpa = client.get(path_of("HorizontalPodAutoscaler", target.namespace, name))
    hpa_now = None if hpa is None else {"spec": hpa["spec"]}
    ref = target.adapter_config_map
    rules_now: Any = None
    if ref is not None:
        found = client.get(path_of("ConfigMap", ref.namespace, ref.config_map)) or {}
        rules_now = yaml.safe_load((found.get("data") or {}).get(ref.key) or "")
    lines = [
        f"changes on {client.server} (saved first, restored after the run, "
        f"`hpalab restore RUN_DIR` after a crash):"
    ]
    for variant in loaded.variants:
        spec = variant.spec
        wanted = {"spec": target_hpa_spec(target, spec)}
        diff = _diff(hpa_now, wanted, name=f"HPA {target.namespace}/{name}", variant=variant.name)
        if ref is not None:
            diff += _diff(
                rules_now,
                spec.adapter,
                name=f"ConfigMap {ref.namespace}/{ref.config_map} {ref.key}",
                variant=variant.name,
            )
        lines.append(f"variant {variant.name}:" + ("" if diff else " no change"))
        lines += [f"  {line}" for line in diff]
    lines.append(
        f"between trials: {target.kind} {target.namespace}/{target.name} is scaled back to "
        "its replicas now, and its HPA deleted and set again"
    )
    return lines

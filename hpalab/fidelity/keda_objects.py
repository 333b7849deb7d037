"""The ScaledObjects ``hpalab fidelity keda`` runs: read, checked as KEDA admits them, and what
the engine derives from each (its HPA, its triggers' queries and activation thresholds).

A file is one ``keda.sh/v1alpha1`` ScaledObject. Its ``scaleTargetRef`` is replaced by the
stack's sample app and each prometheus trigger's ``serverAddress`` by the stack's Prometheus,
so the same file runs on any stack. The optional annotation ``hpalab.dev/fidelity-watch``
(seconds) asks for the activation and deactivation times over that long a watch.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hpalab.autoscaling.keda.hpa import GeneratedHPA, KedaRefusal, hpa_for_scaled_object
from hpalab.errors import SpecError
from hpalab.specs.keda.admission import admission_problems
from hpalab.specs.keda.model import ScaledObjectSpec
from hpalab.specs.sources import Source, parse_yaml, read_text

WATCH = "hpalab.dev/fidelity-watch"
Obj = dict[str, Any]


@dataclass
class FidelityObject:
    """One ScaledObject file, as the cluster gets it and as the engine reads it."""

    path: Path
    name: str
    spec: Obj
    """YAML spellings, target and Prometheus already replaced (see :func:`for_stack`)."""
    metadata: dict[str, dict[str, str]]
    """The file's ``labels`` and ``annotations`` (the fidelity annotation left out)."""
    watch_s: float
    """Seconds to watch activation (0: none)."""

    @property
    def labels(self) -> dict[str, str]:
        return self.metadata["labels"]

    @property
    def annotations(self) -> dict[str, str]:
        return self.metadata["annotations"]

    def body(self, namespace: str) -> Obj:
        """The ScaledObject to apply."""
        metadata: Obj = {"name": self.name, "namespace": namespace}
        if self.labels:
            metadata["labels"] = self.labels
        if self.annotations:
            metadata["annotations"] = self.annotations
        return {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": metadata,
            "spec": self.spec,
        }

    def engine_hpa(self) -> GeneratedHPA:
        return hpa_for_scaled_object(
            self.name, self.spec, labels=self.labels, annotations=self.annotations
        )

    @property
    def polling_interval_s(self) -> float:
        return float(self.spec.get("pollingInterval", 30))

    def prometheus_triggers(self) -> list[Obj]:
        return [t for t in self.spec.get("triggers", []) if t.get("type") == "prometheus"]


def for_stack(spec: Obj, *, target: str, prometheus: str) -> Obj:
    """``spec`` aimed at the stack's app and Prometheus."""
    out = copy.deepcopy(spec)
    out["scaleTargetRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": target}
    for trigger in out.get("triggers", []):
        if trigger.get("type") == "prometheus":
            trigger.setdefault("metadata", {})["serverAddress"] = prometheus
    return out


def _problem(source: Source, path: tuple[str | int, ...], message: str, hint: str) -> SpecError:
    return SpecError([source.problem(path, message, hint)])


def load(path: Path, *, target: str, prometheus: str) -> FidelityObject:
    """Read one ScaledObject file.

    Raises:
        SpecError: not a ScaledObject, or one KEDA's webhook or operator would refuse (each
            problem with file:line and a hint).
    """
    source = parse_yaml(read_text(path), file=str(path))
    data = source.data
    if not isinstance(data, dict) or data.get("kind") != "ScaledObject":
        raise _problem(source, (), "not a ScaledObject", "write kind: ScaledObject")
    metadata = data.get("metadata") or {}
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise _problem(source, ("metadata",), "metadata.name is missing", "name the object")
    try:
        model = ScaledObjectSpec.model_validate(data.get("spec") or {})
    except ValidationError as error:
        problems = [
            source.problem(("spec", *item["loc"]), item["msg"], "as KEDA's CRD defines it")
            for item in error.errors()
        ]
        raise SpecError(problems) from None
    spec = for_stack(model.to_yaml_dict(), target=target, prometheus=prometheus)
    problems = [
        source.problem(("spec", *where), message, hint)
        for where, message, hint in admission_problems(name, spec)
    ]
    if problems:
        raise SpecError(problems)
    annotations = {str(k): str(v) for k, v in (metadata.get("annotations") or {}).items()}
    labels = {str(k): str(v) for k, v in (metadata.get("labels") or {}).items()}
    try:
        watch_s = float(annotations.get(WATCH, "0"))
    except ValueError:
        raise _problem(
            source, ("metadata", "annotations", WATCH), "not a number", 'seconds, e.g. "90"'
        ) from None
    kept = {k: v for k, v in annotations.items() if k != WATCH}
    found = FidelityObject(path, name, spec, {"labels": labels, "annotations": kept}, watch_s)
    try:
        found.engine_hpa()
    except KedaRefusal as error:
        raise _problem(source, ("spec",), str(error), "KEDA would refuse it too") from None
    return found

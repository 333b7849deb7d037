"""Spec files as the commands load them: the models' checks plus the engines' start-up checks.

``load_spec`` (the specs layer) cannot know what prometheus-adapter refuses at start-up: that
knowledge lives in the adapter engine. Commands that take an experiment (``validate``,
``run``, ``up``) load it here, so a rule the adapter would refuse is a problem at its field
before anything starts, for the experiment's rules and for every variant's.
"""

from __future__ import annotations

from pathlib import Path

from hpalab.autoscaling.adapter.checks import config_problems
from hpalab.errors import Problem, SpecError
from hpalab.specs import LoadedExperiment, LoadProfile, load_experiment, load_spec
from hpalab.specs.adapter import AdapterConfig
from hpalab.specs.sources import Source, dotted, parse_yaml, read_text

ADAPTER_HINT = "prometheus-adapter would refuse to start with this rule"


def adapter_problems(
    config: AdapterConfig, source: Source, prefix: tuple[str | int, ...]
) -> list[Problem]:
    """Each start-up problem of ``config``, placed at its field under ``prefix``."""
    return [
        source.problem((*prefix, *path), message, ADAPTER_HINT)
        for path, message in config_problems(config)
    ]


def experiment_adapter_problems(path: Path, loaded: LoadedExperiment) -> list[Problem]:
    """Start-up problems of the experiment's adapter rules and of each variant's."""
    source = parse_yaml(read_text(path), file=str(path))
    base = loaded.experiment.spec.adapter
    problems = adapter_problems(AdapterConfig.model_validate(base), source, ("spec", "adapter"))
    raw_variants = (loaded.raw.get("spec") or {}).get("variants") or []
    names = [v.get("name") if isinstance(v, dict) else None for v in raw_variants]
    for variant in loaded.variants:
        if variant.spec.adapter == base:
            continue  # its problems, if any, are the experiment's own, listed above
        place: tuple[str | int, ...] = (
            ("spec", "variants", names.index(variant.name))
            if variant.name in names
            else ("spec", "matrix")
        )
        config = AdapterConfig.model_validate(variant.spec.adapter)
        for field, message in config_problems(config):
            where = dotted(("spec", "adapter", *field))
            text = f"variant {variant.name!r} makes {where} invalid: {message}"
            problems.append(source.problem(place, text, ADAPTER_HINT))
    return problems


def load_checked(path: Path) -> LoadedExperiment | LoadProfile:
    """``load_spec`` plus the adapter's start-up checks; one ``SpecError`` with everything."""
    loaded = load_spec(path)
    return _checked(path, loaded) if isinstance(loaded, LoadedExperiment) else loaded


def load_checked_experiment(path: Path) -> LoadedExperiment:
    """An experiment (a profile is an error), checked as :func:`load_checked` checks it."""
    return _checked(path, load_experiment(path))


def _checked(path: Path, loaded: LoadedExperiment) -> LoadedExperiment:
    problems = experiment_adapter_problems(path, loaded)
    if problems:
        raise SpecError(problems)
    return loaded

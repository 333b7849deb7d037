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
from hpalab.load.locustfiles import LocustfileProblem, inspect_locustfile
from hpalab.specs import LoadedExperiment, LoadProfile, load_experiment, load_spec
from hpalab.specs.adapter import AdapterConfig
from hpalab.specs.loadsettings import LoadSettings, stage_unit_problem
from hpalab.specs.profiles import AnyStage, LevelStage
from hpalab.specs.sources import Source, dotted, parse_yaml, read_text
from hpalab.specs.target import Resolver

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


def load_checked(path: Path, *, resolve: Resolver | None = None) -> LoadedExperiment | LoadProfile:
    """``load_spec`` plus the adapter's start-up checks; one ``SpecError`` with everything."""
    loaded = load_spec(path, resolve=resolve)
    return _checked(path, loaded) if isinstance(loaded, LoadedExperiment) else loaded


def load_checked_experiment(path: Path, *, resolve: Resolver | None = None) -> LoadedExperiment:
    """An experiment (a profile is an error), checked as :func:`load_checked` checks it;
    ``resolve`` reads what it takes from a cluster (``fromCluster``, ``spec.target``)."""
    return _checked(path, load_experiment(path, resolve=resolve))


def load_problems(path: Path, loaded: LoadedExperiment) -> list[Problem]:
    """Problems of ``spec.load`` that need more than its model: the stages' unit (requests/s
    or users) against the load model, at the stage, and the locustfile (imported in a child
    process) of every variant."""
    source = parse_yaml(read_text(path), file=str(path))
    problems: dict[tuple[str, str], Problem] = {}
    seen: set[tuple[str | None, str | None]] = set()
    for spec in [loaded.experiment.spec, *(v.spec for v in loaded.variants)]:
        load = spec.load
        for problem in _unit_problems(load, loaded.profile.stages, source):
            problems.setdefault((problem.path, problem.message), problem)
        if load.locustfile is None or (load.locustfile, load.user_class) in seen:
            continue
        seen.add((load.locustfile, load.user_class))
        for problem in _locustfile_problems(load, source):
            problems.setdefault((problem.path, problem.message), problem)
    return list(problems.values())


def _unit_problems(load: LoadSettings, profile: list[AnyStage], source: Source) -> list[Problem]:
    inline = load.stages is not None
    out = []
    for index, stage in enumerate(load.stages if load.stages is not None else profile):
        message = stage_unit_problem(stage, load.model)
        if message is None:
            continue
        if inline:
            unit = "users" if isinstance(stage, LevelStage) and stage.in_users else "rps"
            place: tuple[str | int, ...] = ("spec", "load", "stages", index, unit)
        else:
            place = ("spec", "load", "profile")
            message = f"{load.profile}: stages[{index}]: {message}"
        out.append(source.problem(place, message))
    return out


def _locustfile_problems(load: LoadSettings, source: Source) -> list[Problem]:
    assert load.locustfile is not None
    found = inspect_locustfile(load.locustfile, load.user_class)
    at = ("spec", "load", "locustfile")
    if isinstance(found, LocustfileProblem):
        if found.line is not None:  # an error in the locustfile itself, at its line
            hint = "fix the locustfile; hpalab imports it as Locust does"
            return [Problem(found.file, "", found.message, hint, found.line)]
        place = ("spec", "load", "userClass") if load.user_class else at
        if found.message == "file not found":
            return [source.problem(at, f"locustfile not found: {found.file}", LOCUSTFILE_HINT)]
        return [source.problem(place, f"{found.file}: {found.message}", LOCUSTFILE_HINT)]
    if load.model == "closed" and load.think_time is None and not found.mean_wait_s:
        message = (
            f"the closed model needs a think time, and {found.user_class}.wait_time gives "
            "none (or depends on a running user)"
        )
        hint = "set spec.load.thinkTime, or wait_time = between(1, 3) in the class"
        return [source.problem(("spec", "load"), message, hint)]
    return []


LOCUSTFILE_HINT = "spec.load.locustfile is relative to the experiment file"


def _checked(path: Path, loaded: LoadedExperiment) -> LoadedExperiment:
    problems = experiment_adapter_problems(path, loaded) + load_problems(path, loaded)
    if problems:
        raise SpecError(problems)
    return loaded


def check_own_program_platform(loaded: LoadedExperiment, platform: str) -> None:
    """Refuse ``spec.app.command`` off the local platform: its replicas are local processes,
    and a cluster would deploy the sample app instead.

    Raises:
        SpecError: at ``spec.app.command``, naming the variants that set it.
    """
    own = [v.name for v in loaded.variants if v.spec.app.command]
    if platform == "local" or not own:
        return
    source = parse_yaml(read_text(loaded.path), file=str(loaded.path))
    message = (
        f"variants {', '.join(own)} run your own program (spec.app.command), which the "
        f"{platform} platform cannot start: it would deploy the sample app instead"
    )
    raise SpecError([source.problem(("spec", "app", "command"), message, "use --platform local")])

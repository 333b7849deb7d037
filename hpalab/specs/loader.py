"""``load_spec()``: from a YAML file to validated models, or one SpecError listing every problem.

Every problem names the file, the line and column, the field path and, where we can tell, the
fix. Variants are validated as whole specs after their patches are applied, so a patch that
breaks the HPA spec is reported against the variant that wrote it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from hpalab.errors import Problem, SpecError
from hpalab.specs.adapter import AdapterConfig
from hpalab.specs.base import API_VERSION
from hpalab.specs.eventchecks import timeline_problems
from hpalab.specs.experiment import Experiment, ExperimentSpec, with_locustfile_under
from hpalab.specs.hpa import hpa_problems
from hpalab.specs.keda.problems import keda_problems
from hpalab.specs.profiles import (
    LoadProfile,
    ProfileSpec,
    RateCurve,
    compile_profile,
    profile_warnings,
)
from hpalab.specs.sources import Source, dotted, parse_yaml, read_text
from hpalab.specs.target import Resolver, unresolved_problems
from hpalab.specs.traces import load_trace_points
from hpalab.specs.validation import clean_loc, error_message, validate_model
from hpalab.specs.variants import PatchError, TrialPlan, apply_patch, plan_trials, plan_variants

KINDS: dict[str, type[BaseModel]] = {"Experiment": Experiment, "LoadProfile": LoadProfile}


@dataclass
class ResolvedVariant:
    """One variant's name, its patch, and its complete validated spec."""

    name: str
    patch: dict[str, Any]
    spec: ExperimentSpec


@dataclass
class LoadedExperiment:
    """An experiment file with its profile resolved and every variant validated."""

    path: Path
    experiment: Experiment
    profile: ProfileSpec
    variants: list[ResolvedVariant]
    baseline: str
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def name(self) -> str:
        return self.experiment.metadata.name

    def curve(self) -> RateCurve:
        return compile_profile(self.profile.stages)

    def trials(self, *, repetitions: int | None = None) -> list[TrialPlan]:
        spec = self.experiment.spec
        return plan_trials(
            [v.name for v in self.variants],
            repetitions=repetitions or spec.repetitions,
            seed=spec.seed,
        )

    def variant(self, name: str) -> ResolvedVariant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise KeyError(name)


def load_spec(path: Path, *, resolve: Resolver | None = None) -> LoadedExperiment | LoadProfile:
    """Load an Experiment or LoadProfile file; raise one SpecError with all its problems.
    ``resolve`` reads what the experiment takes from a cluster (``fromCluster``)."""
    source = parse_yaml(read_text(path), file=str(path))
    kind = _check_header(source)
    if kind == "LoadProfile":
        profile = validate_model(LoadProfile, source.data, source, ())
        return _with_traces(profile, source, path.parent, ("spec",))
    _resolve_from_cluster(source, resolve)
    return _load_experiment(source, path)


def _resolve_from_cluster(source: Source, resolve: Resolver | None) -> None:
    spec = source.data.get("spec")
    if not isinstance(spec, dict):
        return
    found = unresolved_problems(spec) if resolve is None else resolve(spec)
    if found:
        raise SpecError([source.problem(("spec", *p), m, h) for p, m, h in found])


def load_experiment(path: Path, *, resolve: Resolver | None = None) -> LoadedExperiment:
    """Load an Experiment file (a LoadProfile here is an error)."""
    loaded = load_spec(path, resolve=resolve)
    if not isinstance(loaded, LoadedExperiment):
        raise SpecError.single(
            str(path),
            "this is a LoadProfile, not an Experiment",
            path="kind",
            hint="pass an experiment file, e.g. experiments/ramp.yaml",
        )
    return loaded


def spec_warnings(path: Path, loaded: LoadedExperiment | LoadProfile) -> list[Problem]:
    """What a valid file asks for that hpalab changes by design, each at its place.

    Today: a sine stage whose rate would go below 0 (it is clamped to 0).
    """
    source = parse_yaml(read_text(path), file=str(path))
    at: tuple[str, ...] = ("spec", "stages")
    if isinstance(loaded, LoadedExperiment):
        stages = loaded.profile.stages
        load = loaded.experiment.spec.load
        if load.profile is not None:
            profile_path = path.parent / load.profile
            source = parse_yaml(read_text(profile_path), file=str(profile_path))
        else:
            at = ("spec", "load", "stages")
    else:
        stages = loaded.spec.stages
    return [
        source.problem((*at, index, field), message, "the run sends what the chart shows")
        for index, field, message in profile_warnings(stages)
    ]


def _check_header(source: Source) -> str:
    data = source.data
    if not isinstance(data, dict):
        raise SpecError(
            [
                source.problem(
                    (),
                    "the file must be a YAML mapping (key: value)",
                    "start from a file in experiments/ or loadprofiles/",
                )
            ]
        )
    problems = []
    if data.get("apiVersion") != API_VERSION:
        got = data.get("apiVersion")
        problems.append(
            source.problem(
                ("apiVersion",),
                f"must be {API_VERSION}" + (f", got {got!r}" if got else ""),
                f"write apiVersion: {API_VERSION}",
            )
        )
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        close = difflib.get_close_matches(str(kind), list(KINDS), n=1)
        hint = f"did you mean {close[0]}?" if close else "write kind: Experiment or LoadProfile"
        problems.append(source.problem(("kind",), f"unknown kind {kind!r}", hint))
    if problems:
        raise SpecError(problems)
    return str(kind)


def _load_experiment(source: Source, path: Path) -> LoadedExperiment:
    experiment = validate_model(Experiment, source.data, source, ())
    spec_data = source.data["spec"]
    # spec.adapter stays plain data for its consumers, but is decoded as strictly as the
    # adapter decodes its config file
    validate_model(AdapterConfig, spec_data.get("adapter", {}), source, ("spec", "adapter"))
    problems = [
        source.problem(("spec", *p), m, h) for p, m, h in _autoscaler_problems(experiment.spec)
    ]
    profile = _resolve_profile(experiment, source, path.parent, problems)
    variants = _resolve_variants(experiment, spec_data, source, problems)
    if profile is not None:
        problems += timeline_problems(experiment.spec, variants, profile, source)
    baseline = experiment.spec.baseline or (variants[0].name if variants else "default")
    if variants and baseline not in {v.name for v in variants}:
        close = difflib.get_close_matches(baseline, [v.name for v in variants], n=1)
        problems.append(
            source.problem(
                ("spec", "baseline"),
                f"no variant is named {baseline!r}",
                f"did you mean {close[0]!r}?" if close else None,
            )
        )
    if problems:
        raise SpecError(problems)
    assert profile is not None
    base = path.parent
    experiment = experiment.model_copy(
        update={"spec": with_locustfile_under(experiment.spec, base)}
    )
    variants = [replace(v, spec=with_locustfile_under(v.spec, base)) for v in variants]
    return LoadedExperiment(path, experiment, profile, variants, baseline, source.data)


def _resolve_profile(
    experiment: Experiment, source: Source, base: Path, problems: list[Problem]
) -> ProfileSpec | None:
    load = experiment.spec.load
    if load.stages is not None:
        profile = ProfileSpec(
            stages=load.stages, arrivals=load.arrivals or ProfileSpec(stages=load.stages).arrivals
        )
        try:
            return _with_traces_spec(profile, source, base, ("spec", "load"))
        except SpecError as error:
            problems.extend(error.problems)
            return None
    assert load.profile is not None
    try:
        referenced = load_spec(base / load.profile)
    except SpecError as error:
        problems.append(
            source.problem(
                ("spec", "load", "profile"),
                f"cannot load profile {load.profile!r}",
                "see the problems listed for that file below",
            )
        )
        problems.extend(error.problems)
        return None
    if not isinstance(referenced, LoadProfile):
        problems.append(
            source.problem(("spec", "load", "profile"), f"{load.profile} is not a LoadProfile")
        )
        return None
    spec = referenced.spec
    if load.arrivals is not None:
        spec = spec.model_copy(update={"arrivals": load.arrivals})
    return spec


def _with_traces(
    profile: LoadProfile, source: Source, base: Path, at: tuple[str, ...]
) -> LoadProfile:
    spec = _with_traces_spec(profile.spec, source, base, at)
    return profile.model_copy(update={"spec": spec})


def _with_traces_spec(
    spec: ProfileSpec, source: Source, base: Path, at: tuple[str, ...]
) -> ProfileSpec:
    stages, problems = list(spec.stages), []
    for index, stage in enumerate(stages):
        where: tuple[str | int, ...] = (*at, "stages", index)
        if stage.type == "trace" and not stage.points:
            try:
                points = load_trace_points(base / stage.file)
                stages[index] = stage.model_copy(update={"points": points})
            except SpecError as error:
                problems.append(
                    source.problem(
                        (*where, "file"),
                        f"bad trace {stage.file!r}",
                        "see the problems listed for that file below",
                    )
                )
                problems.extend(error.problems)
        elif stage.type == "sine" and stage.period <= 0:
            problems.append(source.problem((*where, "period"), "must be > 0"))
    if problems:
        raise SpecError(problems)
    curve = compile_profile(stages)
    if curve.duration_s <= 0:
        raise SpecError(
            [source.problem((*at, "stages"), "the profile lasts 0 s", "give the stages a duration")]
        )
    return spec.model_copy(update={"stages": stages})


def _resolve_variants(
    experiment: Experiment, spec_data: dict[str, Any], source: Source, problems: list[Problem]
) -> list[ResolvedVariant]:
    raw_variants = spec_data.get("variants") or []
    raw_matrix = spec_data.get("matrix") or []
    base = {k: v for k, v in spec_data.items() if k not in ("variants", "matrix", "baseline")}
    axis_problems = [
        source.problem(("spec", "matrix", index, "path"), str(error), "fix the path")
        for index, error in _matrix_path_errors(base, raw_matrix)
    ]
    if axis_problems:
        problems.extend(axis_problems)
        return []
    plans = plan_variants(raw_variants, raw_matrix)
    seen: dict[str, str] = {}
    resolved = []
    for plan in plans:
        at = _plan_place(plan.origin)
        if plan.name in seen:
            problems.append(
                source.problem(
                    at,
                    f"variant name {plan.name!r} is used twice",
                    "give every variant its own name",
                )
            )
            continue
        seen[plan.name] = plan.origin
        try:
            data = apply_patch(base, plan.patch)
        except PatchError as error:
            problems.append(source.problem(at, str(error), "fix the path or the patch"))
            continue
        variant_problems = _variant_problems(data, spec_data)
        if variant_problems:
            for path, message, hint in variant_problems:
                problems.append(
                    source.problem(
                        at,
                        f"variant {plan.name!r} makes {dotted(('spec', *path))} invalid: {message}",
                        hint,
                    )
                )
            continue
        resolved.append(
            ResolvedVariant(
                plan.name, plan.patch, ExperimentSpec.model_validate(data, by_alias=True)
            )
        )
    return resolved


def _matrix_path_errors(
    base: dict[str, Any], axes: list[dict[str, Any]]
) -> list[tuple[int, PatchError]]:
    errors = []
    for index, axis in enumerate(axes):
        try:
            apply_patch(base, {str(axis["path"]): axis["values"][0]})
        except PatchError as error:
            errors.append((index, error))
    return errors


def _plan_place(origin: str) -> tuple[str | int, ...]:
    if origin.startswith("variants["):
        return ("spec", "variants", int(origin[len("variants[") : origin.index("]")]))
    return ("spec", "matrix") if origin == "matrix" else ("spec",)


def _variant_problems(
    data: dict[str, Any], original: dict[str, Any]
) -> list[tuple[tuple[str | int, ...], str, str | None]]:
    try:
        spec = ExperimentSpec.model_validate(data, by_alias=True)
    except ValidationError as error:
        return [(clean_loc(e["loc"], data), error_message(e), None) for e in error.errors()]
    try:
        AdapterConfig.model_validate(data.get("adapter", {}))
    except ValidationError as error:
        return [
            (("adapter", *clean_loc(e["loc"], data.get("adapter"))), error_message(e), None)
            for e in error.errors()
        ]
    return _autoscaler_problems(spec)


def _autoscaler_problems(
    spec: ExperimentSpec,
) -> list[tuple[tuple[str | int, ...], str, str | None]]:
    """The API server's HPA rules, or with spec.keda KEDA's admission rules (paths under spec)."""
    if spec.keda is not None:
        return [(("keda", *p), m, h) for p, m, h in keda_problems(spec.keda)]
    return [(("hpa", *p), m, h) for p, m, h in hpa_problems(spec.hpa)]

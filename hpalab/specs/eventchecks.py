"""Checks of ``spec.events`` that need more than one event: against the trial's length (known
once the profile is resolved), and against the platform the experiment will run on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hpalab.errors import Problem, SpecError
from hpalab.specs.events import event_problems, platform_problems
from hpalab.specs.experiment import ExperimentSpec
from hpalab.specs.profiles import ProfileSpec, compile_profile
from hpalab.specs.sources import Source, dotted, parse_yaml, read_text

if TYPE_CHECKING:
    from hpalab.specs.loader import LoadedExperiment, ResolvedVariant


def trial_end_s(spec: ExperimentSpec, profile: ProfileSpec) -> float:
    """End of a trial's measured window (profile then cool-down), seconds since the load
    phase began."""
    return compile_profile(profile.stages).duration_s + spec.phases.cooldown


def timeline_problems(
    spec: ExperimentSpec,
    variants: Sequence[ResolvedVariant],
    profile: ProfileSpec,
    source: Source,
) -> list[Problem]:
    """Events after the trial's end or overlapping on one component: in the spec itself, and in
    every variant whose patch changed the events or the trial's length."""
    own = event_problems(spec.events, trial_end_s=trial_end_s(spec, profile))
    base = {(p, m) for p, m, _ in own}
    problems = [source.problem(("spec", *p), m, h) for p, m, h in own]
    for index, variant in enumerate(variants):
        found = event_problems(variant.spec.events, trial_end_s=trial_end_s(variant.spec, profile))
        for path, message, hint in found:
            if (path, message) in base:
                continue  # reported once, at the event itself
            problems.append(
                source.problem(
                    _variant_place(source, variant.name, index),
                    f"variant {variant.name!r} makes {dotted(('spec', *path))} invalid: {message}",
                    hint,
                )
            )
    return problems


def check_platform(loaded: LoadedExperiment, platform: str) -> None:
    """Refuse, before anything starts, an experiment with events ``platform`` cannot inject.

    Raises:
        SpecError: one problem per refused event of any variant, at the event's line.
    """
    source = parse_yaml(read_text(loaded.path), file=str(loaded.path))
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for variant in loaded.variants:
        for path, message, hint in platform_problems(variant.spec.events, platform):
            if (dotted(path), message) in seen:
                continue
            seen.add((dotted(path), message))
            problems.append(source.problem(("spec", *path), message, hint))
    if problems:
        raise SpecError(problems)


def _variant_place(source: Source, name: str, index: int) -> tuple[str | int, ...]:
    raw = source.data.get("spec", {}).get("variants") if isinstance(source.data, dict) else None
    for position, item in enumerate(raw or []):
        if isinstance(item, dict) and item.get("name") == name:
            return ("spec", "variants", position)
    return ("spec", "matrix") if index >= 0 and not raw else ("spec",)

"""``spec.phases`` and ``spec.slo``: what surrounds the load profile in a trial, and the
service level the app must keep.

``phases.syncPhase`` places the load profile in the HPA's sync cycle. The controller syncs
every sync period, from when the HPA was created; a load step that lands just after a sync
waits almost a whole period to be seen, one that lands just before it is seen at once. So the
detection latency of a step depends on that phase as much as on any tuning, and a trial whose
phase is left to chance (how long the reset and the load generator's start took) measures
the orchestration, not the autoscaler. hpalab starts the profile at a chosen phase instead:

- a duration: the profile's second 0 comes that long after an HPA sync, in every trial;
- ``random`` (the default): a phase drawn uniformly over the period from the seed and the
  repetition, so that repetition *r* has the same phase in every variant and on every platform
  (paired comparisons), and the repetitions sample the phases a production step meets;
- ``free``: no alignment; the load starts when the platform is ready.
"""

from __future__ import annotations

import random
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

from hpalab.specs.base import SpecModel
from hpalab.specs.units import DURATION_SCHEMA, Duration, format_duration, parse_duration

SYNC_PHASE_WORDS = ("random", "free")


def _sync_phase(value: Any) -> float | str:
    if isinstance(value, str) and value in SYNC_PHASE_WORDS:
        return value
    try:
        return parse_duration(value)
    except ValueError as error:
        raise ValueError(f"{error}; or write random or free") from error


def _show_sync_phase(value: float | str) -> str:
    return value if isinstance(value, str) else format_duration(value)


SyncPhase = Annotated[
    float | str,
    BeforeValidator(_sync_phase),
    PlainSerializer(_show_sync_phase, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": list(SYNC_PHASE_WORDS)},
                DURATION_SCHEMA,
                {"type": "number", "minimum": 0},
            ],
            "description": "random, free, or a duration shorter than the sync period",
        }
    ),
]


class Phases(SpecModel):
    """Phases of each trial around the load profile."""

    warmup: Duration = Field(30.0, description="low load before the profile; not measured")
    warmup_rps: float = Field(1.0, ge=0, description="offered rate during warm-up")
    cooldown: Duration = Field(60.0, description="zero load after the profile; measured")
    settle_timeout: Duration = Field(
        120.0, gt=0, description="longest wait for the baseline state before a trial"
    )
    sync_phase: SyncPhase = Field(
        "random",
        description="where the profile starts in the HPA's sync cycle: a duration (second 0 "
        "comes that long after a sync), random (drawn per repetition from the seed, the same "
        "in every variant and on every platform) or free (not aligned)",
    )


class SLO(SpecModel):
    """The service level the app must keep."""

    latency_percentile: Literal[50, 95, 99] = Field(95, description="latency percentile")
    latency: Duration = Field(0.25, description="the percentile must stay at or below this")
    error_rate: float = Field(0.01, ge=0, le=1, description="highest acceptable failure ratio")


def sync_offset_s(phases: Phases, *, period_s: float, seed: int, repetition: int) -> float | None:
    """Seconds from an HPA sync to the profile's second 0 in this repetition; ``None`` for
    ``free``. ``random`` depends on the seed and the repetition only, not on the variant."""
    chosen = phases.sync_phase
    if chosen == "free":
        return None
    if chosen == "random":
        draw = random.Random(f"hpalab/sync-phase/{seed}/{repetition}")  # noqa: S311 - a plan
        return round(draw.uniform(0.0, period_s), 3)
    return float(chosen) % period_s

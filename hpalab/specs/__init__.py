"""What users write: ``kind: Experiment`` and ``kind: LoadProfile`` files, as strict models.

Use :func:`load_spec` / :func:`load_experiment`; they raise one :class:`~hpalab.errors.SpecError`
listing every problem with its file, line, column, field path and hint.
"""

from hpalab.specs.experiment import Experiment, ExperimentSpec, capacity_rps
from hpalab.specs.hpa import HPASpec
from hpalab.specs.loader import LoadedExperiment, ResolvedVariant, load_experiment, load_spec
from hpalab.specs.profiles import LoadProfile, ProfileSpec, RateCurve, compile_profile
from hpalab.specs.units import format_duration, parse_duration, parse_quantity_value
from hpalab.specs.variants import TrialPlan

__all__ = [
    "Experiment",
    "ExperimentSpec",
    "HPASpec",
    "LoadProfile",
    "LoadedExperiment",
    "ProfileSpec",
    "RateCurve",
    "ResolvedVariant",
    "TrialPlan",
    "capacity_rps",
    "compile_profile",
    "format_duration",
    "load_experiment",
    "load_spec",
    "parse_duration",
    "parse_quantity_value",
]

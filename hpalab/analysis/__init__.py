"""Pure analysis of run data: per-trial metrics, predicted bands, comparison, reliability.

No I/O, no clocks: callers pass tables (pandas frames) and parameters; results are plain data.
"""

from hpalab.analysis.bands import Band, LoadStep, PipelineParams, ScalingPolicy, predict_band
from hpalab.analysis.comparison import choose_baseline, compare, variant_verdicts
from hpalab.analysis.elasticity import Elasticity, elasticity
from hpalab.analysis.episodes import Episode, Slo, find_episodes
from hpalab.analysis.metrics import KEY_METRICS, METRIC_INFO, METRICS, summarize, trial_metrics
from hpalab.analysis.reliability import Finding, reliability_findings, usable
from hpalab.analysis.traces import Trace, make_trace, split_trials
from hpalab.analysis.waterfall import Waterfall

__all__ = [
    "KEY_METRICS",
    "METRICS",
    "METRIC_INFO",
    "Band",
    "Elasticity",
    "Episode",
    "Finding",
    "LoadStep",
    "PipelineParams",
    "ScalingPolicy",
    "Slo",
    "Trace",
    "Waterfall",
    "choose_baseline",
    "compare",
    "elasticity",
    "find_episodes",
    "make_trace",
    "predict_band",
    "reliability_findings",
    "split_trials",
    "summarize",
    "trial_metrics",
    "usable",
    "variant_verdicts",
]

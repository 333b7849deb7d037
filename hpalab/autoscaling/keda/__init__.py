"""The embedded KEDA engine: what KEDA v2.20.2 decides, as pure functions.

- :func:`hpa_for_scaled_object`: the HPA KEDA's operator submits (or why it refuses);
- :func:`read_response` / :func:`reading`: the value, activity and metric of a prometheus
  trigger from one Prometheus response;
- :func:`poll_step`: one polling-loop step (activation, scale to zero or idle, cooldown);
- :func:`read_with_fallback`: one External-metric read with the fallback bookkeeping.

No I/O, no clock: ages and responses are inputs.
"""

from hpalab.autoscaling.keda.activation import (
    ScaledObjectState,
    Step,
    TriggerState,
    combine,
    poll_step,
)
from hpalab.autoscaling.keda.fallback import FallbackRead, Health, read_with_fallback
from hpalab.autoscaling.keda.hpa import GeneratedHPA, KedaRefusal, hpa_for_scaled_object
from hpalab.autoscaling.keda.values import (
    PrometheusReadError,
    TriggerReading,
    read_response,
    reading,
)

__all__ = [
    "FallbackRead",
    "GeneratedHPA",
    "Health",
    "KedaRefusal",
    "PrometheusReadError",
    "ScaledObjectState",
    "Step",
    "TriggerReading",
    "TriggerState",
    "combine",
    "hpa_for_scaled_object",
    "poll_step",
    "read_response",
    "read_with_fallback",
    "reading",
]

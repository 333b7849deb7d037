"""``spec.keda``: a KEDA ScaledObject spec, KEDA's admission rules and the HPA it generates.

The model (:mod:`.model`) is the CRD's schema; :func:`keda_problems` adds the admission
webhook's and controller's rules and the scaler construction errors, each with the path under
``spec.keda``; :func:`generated_hpa_spec` is the HPA spec KEDA's operator derives.
"""

from hpalab.specs.keda.admission import admission_problems, hpa_name
from hpalab.specs.keda.generated import ScalerConfigError, generated_hpa_spec, metric_specs
from hpalab.specs.keda.model import ScaledObjectSpec, ScaleTrigger
from hpalab.specs.keda.problems import SCALED_OBJECT_NAME, keda_problems, scaled_object_data

__all__ = [
    "SCALED_OBJECT_NAME",
    "ScaleTrigger",
    "ScaledObjectSpec",
    "ScalerConfigError",
    "admission_problems",
    "generated_hpa_spec",
    "hpa_name",
    "keda_problems",
    "metric_specs",
    "scaled_object_data",
]

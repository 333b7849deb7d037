"""``spec.keda``: a KEDA ScaledObject spec, KEDA's admission rules and the HPA it generates.

- :mod:`.model`: the CRD's schema as strict models;
- :mod:`.problems`: ``keda_problems`` = the admission webhook's and controller's rules and the
  scalers' configuration errors, each with its path under ``spec.keda`` and a hint;
- :mod:`.generated`: the HPA spec KEDA's operator derives;
- :mod:`.quantity`, :mod:`.metadata`, :mod:`.admission`: the pure pieces the engine in
  ``hpalab.autoscaling.keda`` also uses. Import submodules directly: this package imports
  nothing, so the engine does not pull in the pydantic models.
"""

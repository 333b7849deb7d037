"""Collectors: small, best-effort recorders, one per source. A failing collector raises
:class:`~hpalab.errors.CollectorError`; the run records it as an event and carries on."""

"""Errors of the adapter rule engine, each tagged with its conformance error class."""

from __future__ import annotations

from hpalab.errors import EngineError

ERROR_CLASSES = frozenset(
    {
        "config",
        "no_match",
        "no_label",
        "no_namespace_label",
        "not_found",
        "malformed_query",
        "values_not_supported",
        "unsupported_operator",
        "label_not_specified",
        "template",
        "template_parse",
        "empty_query",
        "unknown_field",
        "unexpected_result_type",
    }
)


class AdapterError(EngineError):
    """The adapter engine refused its input; ``kind`` is one of :data:`ERROR_CLASSES`.

    The kinds mirror the places where prometheus-adapter itself fails: ``config`` means the
    adapter would refuse to start, ``not_found`` means it would answer HTTP 404, the selector
    kinds are the adapter's query-builder errors.
    """

    def __init__(self, kind: str, message: str, *, hint: str | None = None) -> None:
        if kind not in ERROR_CLASSES:
            raise ValueError(f"unknown adapter error class {kind!r}")
        super().__init__(message, hint=hint)
        self.kind = kind

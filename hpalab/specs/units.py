"""Durations and quantities: parsed in this one place, for every spec field that carries them.

Durations use the Go / Prometheus syntax users already write in Kubernetes and Prometheus
configs (``500ms``, ``30s``, ``2m``, ``1h30m``, ``1d``); a bare number means seconds.
Quantities use the Kubernetes syntax (``500m``, ``1.5k``, ``2Gi``) and are parsed by the
official client's ``parse_quantity``.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|s|m|h|d|w)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_DURATION_HINT = "write a duration such as 500ms, 30s, 2m or 1h30m"


def parse_duration(value: Any) -> float:
    """Seconds in a duration string or number. Raises ``ValueError`` with a hint.

    Negative, NaN and infinite durations are refused; ``0`` and ``0s`` are allowed.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, got a boolean ({_DURATION_HINT})")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_duration_text(value.strip())
    else:
        raise ValueError(f"expected a duration, got {type(value).__name__} ({_DURATION_HINT})")
    if math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(f"duration must be finite ({_DURATION_HINT})")
    if seconds < 0:
        raise ValueError(f"duration must not be negative, got {value!r}")
    return seconds


def _parse_duration_text(text: str) -> float:
    if text.startswith("-"):
        raise ValueError(f"duration must not be negative, got {text!r}")
    try:
        return float(text)
    except ValueError:
        pass
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise ValueError(f"{text!r} is not a duration ({_DURATION_HINT})")
    return total


def format_duration(seconds: float) -> str:
    """The shortest exact duration string: ``90.0`` → ``1m30s``, ``0.25`` → ``250ms``."""
    if seconds == 0:
        return "0s"
    millis = round(seconds * 1000)
    if abs(millis - seconds * 1000) > 1e-6:
        return f"{seconds:g}s"
    if millis % 1000:
        return f"{millis}ms"
    whole, parts = millis // 1000, []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts)


def parse_quantity_value(value: Any) -> Decimal:
    """A Kubernetes quantity as a ``Decimal`` (``"500m"`` → 0.5). Raises ``ValueError``."""
    if isinstance(value, bool):
        raise ValueError("expected a quantity such as 500m, 10 or 1.5k, got a boolean")
    # imported here: the kubernetes package takes ~0.2 s to import, which every command
    # would pay at start-up even when it parses no quantity
    from kubernetes.utils import parse_quantity

    try:
        parsed = parse_quantity(value)  # type: ignore[no-untyped-call]
    except (ValueError, TypeError, InvalidOperation) as error:
        raise ValueError(
            f"{value!r} is not a Kubernetes quantity (write e.g. 500m, 10, 1.5k, 2Gi)"
        ) from error
    if not parsed.is_finite():
        raise ValueError(f"{value!r} is not a finite quantity")
    return Decimal(parsed)


def _check_quantity(value: Any) -> str:
    parse_quantity_value(value)
    return str(value)


DURATION_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"^(\d+(\.\d+)?(ms|us|ns|s|m|h|d|w))+$",
}
"""JSON schema of a written duration (``30s``, ``1h30m``)."""

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                DURATION_SCHEMA,
                {"type": "number", "minimum": 0},
            ],
            "description": "duration: 500ms, 30s, 2m, 1h30m, or a number of seconds",
        }
    ),
]
"""A non-negative duration in seconds, written as ``30s`` or a number of seconds."""

Quantity = Annotated[
    str,
    BeforeValidator(_check_quantity),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string"}, {"type": "number"}],
            "description": "Kubernetes quantity: 500m, 10, 1.5k, 2Gi",
        }
    ),
]
"""A Kubernetes quantity kept as written (``"500m"``); use :func:`parse_quantity_value`."""

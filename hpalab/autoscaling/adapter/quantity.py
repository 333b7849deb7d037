"""Kubernetes ``resource.Quantity`` formatting of adapter values.

The adapter turns a Prometheus sample ``v`` into ``NewMilliQuantity(int64(v*1000), DecimalSI)``:
the value is truncated toward zero to whole thousandths, then printed in canonical form
(``500m``, ``1200m``, ``1``, ``1500``, ``2k``).
"""

from __future__ import annotations

import math
from decimal import Decimal

from hpalab.specs.keda.quantity import canonical_decimal

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_BINARY_SUFFIXES = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


def milli_value(value: float, *, nan_as_zero: bool) -> int:
    """``int64(value*1000.0)`` as Go computes it on amd64.

    NaN gives 0 when ``nan_as_zero`` (the custom-metrics API checks for NaN); otherwise NaN,
    infinities and out-of-range values give the int64 minimum, which is what the conversion
    instruction yields on amd64 (the external-metrics API does not check).
    """
    if math.isnan(value) and nan_as_zero:
        return 0
    scaled = value * 1000.0
    if not math.isfinite(scaled) or not INT64_MIN <= scaled < 2.0**63:
        return INT64_MIN
    return int(scaled)


def _decimal(milli: int) -> str:
    return canonical_decimal(Decimal(milli) / 1000)


def format_milli(milli: int, *, binary: bool = False) -> str:
    """Canonical string of a quantity of ``milli`` thousandths (DecimalSI, or BinarySI)."""
    if milli == 0:
        return "0"
    if binary and abs(milli) >= 1024 * 1000 and milli % 1000 == 0:
        amount, power = milli // 1000, 0
        while power < len(_BINARY_SUFFIXES) - 1 and amount % 1024 == 0:
            amount //= 1024
            power += 1
        return f"{amount}{_BINARY_SUFFIXES[power]}"
    return _decimal(milli)


def format_value(value: float, *, nan_as_zero: bool = True, binary: bool = False) -> str:
    """Format a Prometheus sample as the metrics APIs serve it."""
    return format_milli(milli_value(value, nan_as_zero=nan_as_zero), binary=binary)

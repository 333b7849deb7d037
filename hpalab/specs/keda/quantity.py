"""Kubernetes quantities the way KEDA builds them (k8s.io/apimachinery v0.35 ``resource``).

Three paths matter and they print differently:

- :func:`float_quantity`: KEDA's ``quantityFromFloat64`` (trigger threshold -> HPA target,
  metric value -> external.metrics value): NaN, infinities and negatives become ``0``; the value
  is printed with three decimals and that text parsed, which keeps forms such as ``1.500``;
- :func:`milli_quantity`: ``NewMilliQuantity(int64(x), DecimalSI)`` (fallback values, the
  scalingModifiers composite target): truncated toward zero, always canonical (``2500m``);
- :func:`parse_quantity`: ``resource.ParseQuantity`` then ``String()`` (cpu/memory trigger
  values, behavior tolerances): ``0.5`` -> ``500m``, ``512Mi`` -> ``512Mi``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

INT64_MAX = 2**63 - 1
# MilliValue() is only defined (no int64 overflow) below this magnitude.
MILLI_LIMIT = Decimal("9.2e15")
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12}
_DECIMAL_SUFFIXES |= {"P": 15, "E": 18}
_SUFFIX_OF_EXPONENT = {v: k for k, v in _DECIMAL_SUFFIXES.items()}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_BINARY_NAMES = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
_QUANTITY = re.compile(
    r"^(?P<sign>[+-]?)(?P<num>[0-9]*)(?:\.(?P<denom>[0-9]*))?"
    r"(?P<suffix>[numkMGTPE]|[KMGTPE]i|[eE][+-]?[0-9]+)?$"
)


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity (``resource.ErrFormatWrong``)."""


@dataclass(frozen=True, slots=True)
class Quantity:
    """A parsed quantity: its exact value and the text ``String()`` prints."""

    value: Decimal
    text: str

    @property
    def milli(self) -> int | None:
        """``MilliValue()`` (rounded up like Go), or ``None`` where it overflows int64."""
        if abs(self.value) >= MILLI_LIMIT:
            return None
        return math.ceil(self.value * 1000)

    def as_float(self) -> float:
        """``AsApproximateFloat64()``: the value as the nearest double."""
        return float(self.value)


def canonical_decimal(value: Decimal) -> str:
    """``String()`` of a DecimalSI quantity in canonical form (exponent a multiple of 3).

    Precision is nanoseconds-fine: Go rounds anything finer up to ``1n``. Exponents beyond
    ``E`` print as ``e<exponent>``, as Go's suffixer does.
    """
    if value == 0:
        return "0"
    nano = int((value * Decimal(10) ** 9).to_integral_value(rounding="ROUND_CEILING"))
    amount, exponent = nano, -9
    while amount % 10 == 0:
        amount //= 10
        exponent += 1
    extra = exponent % 3
    if extra:
        exponent -= extra
        amount *= 10**extra
    suffix = _SUFFIX_OF_EXPONENT.get(exponent)
    return f"{amount}{suffix}" if suffix is not None else f"{amount}e{exponent}"


def _canonical_binary(value: Decimal) -> str:
    if -1024 < value < 1024 or value != value.to_integral_value():
        return canonical_decimal(value)
    amount, power = int(value), 0
    while power < len(_BINARY_NAMES) - 1 and amount % 1024 == 0:
        amount //= 1024
        power += 1
    return f"{amount}{_BINARY_NAMES[power]}"


def parse_quantity(text: str) -> Quantity:
    """``resource.ParseQuantity(text)`` and the string ``String()`` prints for it.

    The text is kept verbatim where Go keeps it: at most 18 digits, a DecimalSI scale that is
    a multiple of 3, digits neither starting with ``0`` nor ending with ``000`` (``1.500``,
    ``50``, ``100Mi``); otherwise the canonical form is printed (``0.5`` -> ``500m``).
    """
    match = _QUANTITY.match(text)
    if not text or match is None or (not match["num"] and not match["denom"]):
        raise QuantityError(f"quantities must match the regular expression, got {text!r}")
    num, denom, suffix = match["num"], match["denom"] or "", match["suffix"] or ""
    digits = num + denom
    sign = -1 if match["sign"] == "-" else 1
    magnitude = Decimal(f"{num or '0'}.{denom or '0'}")
    if suffix in _BINARY_SUFFIXES:
        value = sign * magnitude * 2 ** _BINARY_SUFFIXES[suffix]
        exact_int = not denom and value == value.to_integral_value()
        if len(digits) <= 18 and exact_int and int(digits) & 7:
            return Quantity(value, text)
        return Quantity(value, _canonical_binary(value))
    exponent = _DECIMAL_SUFFIXES[suffix] if suffix in _DECIMAL_SUFFIXES else int(suffix[1:])
    value = sign * magnitude * Decimal(10) ** exponent
    scale = exponent - len(denom)
    keep = (
        len(digits) <= 18
        and scale >= -9
        and scale % 3 == 0
        and not digits.endswith("000")
        and not digits.startswith("0")
        and suffix in _DECIMAL_SUFFIXES
    )
    return Quantity(value, text if keep else canonical_decimal(value))


def float_quantity(value: float) -> Quantity:
    """KEDA's ``quantityFromFloat64``: ``MustParse(fmt.Sprintf("%.3f", v))``, 0 for NaN/±Inf/<0."""
    if math.isnan(value) or math.isinf(value) or value < 0:
        return parse_quantity("0")
    # format(v, ".3f") is correctly rounded from the binary value, like Go's %.3f
    return parse_quantity(format(value, ".3f"))


def milli_quantity(value: float) -> Quantity:
    """``NewMilliQuantity(int64(value), DecimalSI)``: truncated toward zero, canonical text."""
    if math.isnan(value) or math.isinf(value) or not -(2.0**63) <= value < 2.0**63:
        # the conversion instruction yields the int64 minimum on amd64
        milli = -(2**63)
    else:
        milli = int(value)
    amount = Decimal(milli) / 1000
    return Quantity(amount, canonical_decimal(amount))

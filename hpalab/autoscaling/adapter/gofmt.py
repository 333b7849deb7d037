"""Go's value printing (``fmt.Sprint``) and string quoting (``%q``), byte for byte."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def go_quote(text: str) -> str:
    """Go ``strconv.Quote`` (what ``fmt.Sprintf("%q", s)`` prints)."""
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch == " " or (ch.isprintable() and ord(ch) != 0x7F):
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


@dataclass(frozen=True)
class GoStruct:
    """A Go struct value handed to a template: ordered fields, a type name for errors.

    ``stringer`` stands for a ``String()`` method, which ``fmt`` prefers when printing.
    """

    type_name: str
    fields: Mapping[str, Any]
    stringer: Callable[[], str] | None = field(default=None, compare=False)


class NoValue:
    """Go's invalid ``reflect.Value`` (a missing map key read by field syntax)."""

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE = NoValue()


def _go_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    if not exponent:
        exp = len(mantissa.split(".")[0].lstrip("-")) - 1 if abs(value) >= 1 else 0
        if exp < 21:
            return mantissa[:-2] if mantissa.endswith(".0") else mantissa
        return f"{value:e}"
    sign = "-" if exponent.startswith("-") else "+"
    digits = exponent.lstrip("+-").rjust(2, "0")
    mantissa = mantissa[:-2] if mantissa.endswith(".0") else mantissa
    return f"{mantissa}e{sign}{digits}"


def go_sprint(value: Any) -> str:
    """Go ``fmt.Sprint`` of a template value (maps sorted by key, slices as ``[a b]``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if value is None:
        return "<nil>"
    if isinstance(value, NoValue):
        return "<no value>"
    if isinstance(value, GoStruct):
        if value.stringer is not None:
            return value.stringer()
        return "{" + " ".join(go_sprint(v) for v in value.fields.values()) + "}"
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda kv: kv[0])
        return "map[" + " ".join(f"{go_sprint(k)}:{go_sprint(v)}" for k, v in items) + "]"
    if isinstance(value, Sequence):
        return "[" + " ".join(go_sprint(v) for v in value) + "]"
    return str(value)


def go_truth(value: Any) -> bool:
    """Go template truth: false, 0, nil, empty string/slice/map are false; structs are true."""
    if isinstance(value, GoStruct):
        return True
    if isinstance(value, NoValue) or value is None:
        return False
    return bool(value)

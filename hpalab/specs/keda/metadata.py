"""Trigger metadata decoding as KEDA's typed config does it (``scalersconfig/typed_config.go``).

Trigger metadata is ``map[string]string``. Each parameter is looked up under its exact key,
whitespace-trimmed, and an empty value counts as absent. Floats are decoded as JSON numbers
(``1e3`` is fine, ``.5`` is not), booleans with ``strconv.ParseBool``, maps as ``k=v,k=v``,
durations as Go durations or integer milliseconds. Errors carry KEDA's own texts, because that
is what users see in the operator's events and what the conformance cases check.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_GO_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_GO_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
_DURATION_UNITS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "μs": 1e-3, "ms": 1.0, "s": 1e3}
_DURATION_UNITS |= {"m": 60e3, "h": 3600e3}
_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")


class MetadataError(ValueError):
    """One parameter could not be decoded; the text is KEDA's."""


def lookup(metadata: Mapping[str, str], key: str) -> str | None:
    """The trimmed value under ``key``, or ``None`` when absent or blank."""
    value = metadata.get(key)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def go_json_error(text: str) -> str | None:
    """The ``encoding/json`` error of decoding ``text`` into a float64, ``None`` if it decodes.

    Follows the states of Go's JSON scanner for a top-level number, so the texts match.
    """
    if not text:
        return _EOF
    first = text[0]
    if first in 'tfn"[{':
        return _not_a_number(text)
    if first != "-" and not first.isdigit():
        return f"invalid character {_quote(first)} looking for beginning of value"
    error = _scan_number(text)
    if error is None and math.isinf(float(text)):
        return f"json: cannot unmarshal number {text} into Go value of type float64"
    return error


_EOF = "unexpected end of JSON input"
_JSON_SPACE = " \t\r\n"


def _scan_number(text: str) -> str | None:
    state = "begin"
    for char in text:
        state = _step(state, char)
        if state.startswith("!"):
            return f"invalid character {_quote(char)} {state[1:]}"
    return _EOF if state in ("neg", "dot", "exp", "exp_sign") else None


def _step(state: str, char: str) -> str:
    """The scanner's next state after ``char``; ``!<reason>`` for an error."""
    digit = "0" <= char <= "9"
    if state == "begin":
        return "neg" if char == "-" else ("zero" if char == "0" else "int")
    if state == "neg":
        return ("zero" if char == "0" else "int") if digit else "!in numeric literal"
    if state == "end":
        return "end" if char in _JSON_SPACE else "!after top-level value"
    if state == "dot":
        return "frac" if digit else "!after decimal point in numeric literal"
    if state in ("exp", "exp_sign"):
        if state == "exp" and char in "+-":
            return "exp_sign"
        return "exp_digits" if digit else "!in exponent of numeric literal"
    return _after_digits(state, char, digit=digit)


def _after_digits(state: str, char: str, *, digit: bool) -> str:
    if digit and state != "zero":
        return state
    if char in _JSON_SPACE:
        return "end"
    if char == "." and state in ("zero", "int"):
        return "dot"
    if char in "eE" and state != "exp_digits":
        return "exp"
    return "!after top-level value"


def _not_a_number(text: str) -> str:
    literals = {"t": "true", "f": "false", "n": "null"}
    word = literals.get(text[0])
    if word is not None:
        if text == word:
            kind = "null" if word == "null" else "bool"
            return f"json: cannot unmarshal {kind} into Go value of type float64"
        for want, got in zip(word, text, strict=False):
            if want != got:
                return (
                    f"invalid character {_quote(got)} in literal {word} (expecting {_quote(want)})"
                )
        if len(text) < len(word):
            return _EOF
        return f"invalid character {_quote(text[len(word)])} after top-level value"
    kind = {'"': "string", "[": "array", "{": "object"}[text[0]]
    return f"json: cannot unmarshal {kind} into Go value of type float64"


def _quote(char: str) -> str:
    """Go's ``quoteChar``: the character in single quotes, escaped like a Go string."""
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    if char.isprintable():
        return f"'{char}'"
    return "'" + char.encode("unicode_escape").decode("ascii") + "'"


def parse_float(key: str, value: str) -> float:
    """A float parameter, decoded as a JSON number."""
    error = go_json_error(value)
    if error is not None:
        raise MetadataError(
            f'unable to set param "{key}" value "{value}": '
            f"unable to unmarshal to field type float64: {error}"
        )
    return float(value)


def parse_bool(key: str, value: str) -> bool:
    """A bool parameter, as ``strconv.ParseBool``."""
    if value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    raise MetadataError(
        f'unable to set param "{key}" value "{value}": unable to parse boolean value "{value}": '
        f'strconv.ParseBool: parsing "{value}": invalid syntax'
    )


def parse_map(key: str, value: str) -> dict[str, str]:
    """A ``k=v,k=v`` map parameter."""
    out: dict[str, str] = {}
    for raw in value.split(","):
        element = raw.strip()
        parts = element.split("=")
        if len(parts) != 2:
            raise MetadataError(
                f'unable to set param "{key}" value "{value}": '
                f'expected format key=value, got "{element}"'
            )
        out[parts[0].strip()] = parts[1].strip()
    return out


def go_duration_ms(text: str) -> float | None:
    """``time.ParseDuration`` in milliseconds, ``None`` when the text is not a Go duration."""
    body = text.lstrip("+-")
    sign = -1.0 if text.startswith("-") else 1.0
    if body == "0":
        return 0.0
    if not body:
        return None
    total, position = 0.0, 0
    while position < len(body):
        match = _DURATION.match(body, position)
        if match is None or match.group(1) in ("", "."):
            return None
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    return sign * total


def parse_timeout_ms(key: str, value: str) -> float:
    """A duration parameter: a Go duration string, else integer milliseconds."""
    prefix = f'unable to set param "{key}" value "{value}": '
    duration = go_duration_ms(value)
    if duration is not None:
        if duration < 0:
            raise MetadataError(f'{prefix}duration cannot be negative: "{value}"')
        return duration
    if re.fullmatch(r"[+-]?[0-9]+", value) is None:
        raise MetadataError(
            f'{prefix}unable to parse duration value "{value}": must be either a duration '
            "string (e.g. '30s', '5m') or a number of milliseconds"
        )
    milliseconds = int(value)
    if milliseconds < 0:
        raise MetadataError(f"{prefix}duration cannot be negative: {milliseconds} milliseconds")
    return float(milliseconds)


def missing(key: str) -> MetadataError:
    """The typed config's error for an absent required parameter."""
    return MetadataError(f'missing required parameter "{key}" in [triggerMetadata]')


@dataclass(frozen=True, slots=True)
class PrometheusConfig:
    """A prometheus trigger's decoded metadata."""

    server_address: str
    query: str
    threshold: float
    activation_threshold: float = 0.0
    namespace: str = ""
    query_parameters: dict[str, str] = field(default_factory=dict)
    custom_headers: dict[str, str] = field(default_factory=dict)
    ignore_null_values: bool = True
    unsafe_ssl: bool = False
    timeout_ms: float = 0.0


def parse_prometheus(metadata: Mapping[str, str]) -> PrometheusConfig:
    """Decode a prometheus trigger's metadata; every field error joined, doubly prefixed."""
    errors: list[str] = []
    values: dict[str, object] = {}

    def take(key: str, parse: object = None, *, required: bool = False) -> None:
        value = lookup(metadata, key)
        if value is None:
            if required:
                errors.append(str(missing(key)))
            return
        try:
            values[key] = parse(key, value) if callable(parse) else value
        except MetadataError as error:
            errors.append(str(error))

    take("serverAddress", required=True)
    take("query", required=True)
    take("queryParameters", parse_map)
    take("threshold", parse_float, required=True)
    take("activationThreshold", parse_float)
    take("namespace")
    take("customHeaders", parse_map)
    take("ignoreNullValues", parse_bool)
    take("unsafeSsl", parse_bool)
    take("timeout", parse_timeout_ms)
    if errors:
        joined = "\n".join(errors)
        raise MetadataError(
            "error parsing prometheus metadata: error parsing prometheus metadata: " + joined
        )
    return PrometheusConfig(
        server_address=str(values["serverAddress"]),
        query=str(values["query"]),
        threshold=float(values["threshold"]),  # type: ignore[arg-type]
        activation_threshold=float(values.get("activationThreshold", 0.0)),  # type: ignore[arg-type]
        namespace=str(values.get("namespace", "")),
        query_parameters=dict(values.get("queryParameters", {})),  # type: ignore[call-overload]
        custom_headers=dict(values.get("customHeaders", {})),  # type: ignore[call-overload]
        ignore_null_values=bool(values.get("ignoreNullValues", True)),
        unsafe_ssl=bool(values.get("unsafeSsl", False)),
        timeout_ms=float(values.get("timeout", 0.0)),  # type: ignore[arg-type]
    )

"""Go ``text/template`` builtin functions used by adapter templates."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hpalab.autoscaling.adapter.gofmt import GoStruct, NoValue, go_quote, go_sprint, go_truth


class TemplateParseError(ValueError):
    """The template does not parse (Go: ``template.Parse`` fails)."""


class TemplateExecError(ValueError):
    """Executing the template failed (Go: ``Template.Execute`` returns an error)."""


def _fail(message: str) -> TemplateExecError:
    return TemplateExecError(message)


def _arity(name: str, args: list[Any], want: int) -> None:
    if len(args) != want:
        raise _fail(f"wrong number of args for {name}: want {want} got {len(args)}")


def _index(args: list[Any]) -> Any:
    if not args:
        raise _fail("wrong number of args for index: want at least 1 got 0")
    item = args[0]
    for key in args[1:]:
        if isinstance(item, Mapping):
            if not isinstance(key, str):
                raise _fail("error calling index: value has type int; should be string")
            # A missing key yields the zero value of the element type: "" for map[string]string.
            item = item.get(key, "")
        elif isinstance(item, Sequence) and not isinstance(item, str):
            if not isinstance(key, int) or isinstance(key, bool):
                raise _fail("error calling index: cannot index slice/array with type string")
            if not 0 <= key < len(item):
                raise _fail(f"error calling index: index out of range: {key}")
            item = item[key]
        elif isinstance(item, str):
            if not isinstance(key, int) or not 0 <= key < len(item):
                raise _fail(f"error calling index: index out of range: {key}")
            item = ord(item[key])
        else:
            raise _fail(f"error calling index: can't index item of type {type(item).__name__}")
    return item


def _len(args: list[Any]) -> int:
    _arity("len", args, 1)
    value = args[0]
    if isinstance(value, (str, Mapping, Sequence)) and not isinstance(value, GoStruct):
        return len(value)
    raise _fail(f"error calling len: len of type {type(value).__name__}")


def _print(args: list[Any]) -> str:
    out: list[str] = []
    for position, arg in enumerate(args):
        # Go's Sprint puts a space between operands when neither side is a string.
        if position and not isinstance(arg, str) and not isinstance(args[position - 1], str):
            out.append(" ")
        out.append(go_sprint(arg))
    return "".join(out)


def _printf(args: list[Any]) -> str:
    if not args or not isinstance(args[0], str):
        raise _fail("wrong number of args for printf: want at least 1 got 0")
    values = list(args[1:])

    def verb(match: re.Match[str]) -> str:
        letter = match.group(1)
        if letter == "%":
            return "%"
        if not values:
            return f"%!{letter}(MISSING)"
        value = values.pop(0)
        if letter == "q" and isinstance(value, str):
            return go_quote(value)
        if letter == "d" and not (isinstance(value, int) and not isinstance(value, bool)):
            return f"%!d({go_sprint(value)})"
        if letter in "sdvq":
            return go_sprint(value)
        raise _fail(f"printf verb %{letter} is not supported in adapter templates")

    return re.sub(r"%([a-zA-Z%])", verb, args[0])


def _compare(name: str, args: list[Any]) -> bool:
    if name in ("eq",) and len(args) >= 2:
        return any(args[0] == other for other in args[1:])
    _arity(name, args, 2)
    left, right = args
    if type(left) is not type(right) and not all(isinstance(v, (int, float)) for v in args):
        raise _fail(f"error calling {name}: incompatible types for comparison")
    if name == "ne":
        return bool(left != right)
    if name == "eq":
        return bool(left == right)
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "lt": lambda a, b: a < b,
        "le": lambda a, b: a <= b,
        "gt": lambda a, b: a > b,
        "ge": lambda a, b: a >= b,
    }
    return ops[name](left, right)


def _and_or(name: str, args: list[Any]) -> Any:
    if not args:
        raise _fail(f"wrong number of args for {name}: want at least 1 got 0")
    for arg in args[:-1]:
        if go_truth(arg) != (name == "and"):
            return arg
    return args[-1]


FUNCS = {"index", "len", "print", "println", "printf", "eq", "ne", "lt", "le", "gt", "ge"}
FUNCS |= {"not", "and", "or"}


def call(name: str, args: list[Any]) -> Any:
    """Call builtin ``name``; raises ``TemplateExecError`` on bad arguments."""
    args = ["<no value>" if isinstance(a, NoValue) else a for a in args] if name[0] == "p" else args
    if name == "index":
        return _index(args)
    if name == "len":
        return _len(args)
    if name == "print":
        return _print(args)
    if name == "println":
        return " ".join(go_sprint(a) for a in args) + "\n"
    if name == "printf":
        return _printf(args)
    if name in ("eq", "ne", "lt", "le", "gt", "ge"):
        return _compare(name, args)
    if name == "not":
        _arity("not", args, 1)
        return not go_truth(args[0])
    if name in ("and", "or"):
        return _and_or(name, args)
    raise _fail(f"function {name!r} is not supported in adapter templates")

"""pydantic's validation errors as hpalab's problems: each at its place in the file, in plain
words, with a hint for a misspelt field."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hpalab.errors import SpecError
from hpalab.specs.sources import Source

M = TypeVar("M", bound=BaseModel)


def validate_model(model: type[M], data: Any, source: Source, prefix: tuple[str | int, ...]) -> M:
    try:
        return model.model_validate(data, by_alias=True)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            loc = clean_loc(item["loc"], data)
            hint = _hint(model, loc, item)
            problems.append(source.problem((*prefix, *loc), error_message(item), hint))
        raise SpecError(problems) from None


def clean_loc(loc: tuple[Any, ...], data: Any) -> tuple[str | int, ...]:
    """Drop the union-member tags pydantic puts into error locations."""
    out: list[str | int] = []
    node = data
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_dict or in_list:
            node = node[part]
        elif not last:
            continue
        out.append(part)
    return tuple(out)


_BOUNDS = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<", "less_than_equal": "≤"}


def error_message(item: Any) -> str:
    kind, message, ctx = item["type"], str(item["msg"]), item.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "is required"
    if kind == "union_tag_invalid":
        return f"unknown type {ctx.get('tag')!r} (one of {ctx.get('expected_tags')})"
    if kind == "union_tag_not_found":
        return "needs a type field"
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()), "")
        return f"must be {_BOUNDS[kind]} {bound}, got {item.get('input')!r}"
    if kind == "string_pattern_mismatch" and item["loc"][-1] == "name" and len(item["loc"]) == 2:
        return (
            "must be a lower-case DNS label: letters a-z, digits and '-', starting and "
            "ending with a letter or digit (e.g. ramp-test)"
        )
    if kind == "string_pattern_mismatch":
        return f"{item.get('input')!r} does not match the pattern {ctx.get('pattern')}"
    message = message.removeprefix("Value error, ")
    return message.replace("Input should be", "must be", 1)


def _hint(model: type[BaseModel], loc: tuple[str | int, ...], item: Any) -> str | None:
    if item["type"] != "extra_forbidden" or not loc or not isinstance(loc[-1], str):
        return None
    names = _field_names(model, loc[:-1])
    close = difflib.get_close_matches(loc[-1], names, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"known fields: {', '.join(sorted(names))}" if names else None


def _field_names(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The YAML names of the fields of the model found at ``loc`` (best effort)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        models = _models_in(current)
        current = None
        for candidate in models:
            for name, info in candidate.model_fields.items():
                if part in (name, info.alias):
                    current = info.annotation
        if current is None:
            return []
    return sorted(
        {info.alias or name for m in _models_in(current) for name, info in m.model_fields.items()}
    )


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, typing.Annotated) or origin is not None:
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []

"""Reading spec files: bytes → text → YAML data, with the line and column of every value.

Each problem becomes a :class:`~hpalab.errors.Problem` naming the file, line and column, so a
user can jump to it. Nothing here knows the spec models; :mod:`hpalab.specs.loader` maps model
errors back to places with :meth:`Source.where`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hpalab.errors import Problem, SpecError
from hpalab.specs.yamlsafe import MAX_FILE_BYTES, BoundedLoader, yaml_error_problem

PathKey = tuple[str | int, ...]


@dataclass
class Source:
    """One parsed YAML document and where each of its values stands."""

    file: str
    data: Any
    places: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Sequence[str | int]) -> tuple[int | None, int | None]:
        """Line and column (1-based) of the value at ``path``, or of its nearest parent."""
        key = tuple(path)
        while key:
            if key in self.places:
                return self.places[key]
            key = key[:-1]
        return self.places.get((), (None, None))

    def problem(self, path: Sequence[str | int], message: str, hint: str | None = None) -> Problem:
        line, column = self.where(path)
        return Problem(self.file, dotted(path), message, hint, line, column)


def dotted(path: Sequence[str | int]) -> str:
    """``("spec", "hpa", "metrics", 0, "type")`` → ``spec.hpa.metrics[0].type``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def read_text(path: Path, *, display: str | None = None) -> str:
    """The file's text, or a :class:`SpecError` saying why it cannot be read."""
    name = display or str(path)
    if not path.exists():
        raise SpecError.single(name, "file not found", hint="check the path and its spelling")
    if path.is_dir():
        raise SpecError.single(name, "is a directory, not a file", hint="name a .yaml file")
    if not path.is_file():  # /dev/zero or a pipe would be read for ever
        raise SpecError.single(name, "not a regular file (a device or a pipe?)", hint="name a file")
    too_big = SpecError.single(
        name,
        "file is over 10 MB; spec files are limited to 10 MB",
        hint="a spec this large is a mistake; put long traces in a CSV trace file",
    )
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise too_big
        with path.open("rb") as file:  # bounded even if the file grows while it is read
            chunks, total = [], 0
            while chunk := file.read(1 << 16):
                total += len(chunk)
                if total > MAX_FILE_BYTES:
                    raise too_big
                chunks.append(chunk)
        raw = b"".join(chunks)
    except PermissionError as error:
        raise SpecError.single(name, "permission denied", hint="make it readable") from error
    except OSError as error:
        raise SpecError.single(name, f"cannot read: {error.strerror}") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise SpecError.single(
            name,
            f"not UTF-8 text (byte 0x{raw[error.start]:02x})",
            hint="save the file as UTF-8",
            line=line,
            column=column,
        ) from error
    return text.removeprefix("\ufeff")


def parse_yaml(text: str, *, file: str) -> Source:
    """Parse one YAML document, refusing duplicate keys, and record where values stand.

    The document is read by :class:`~hpalab.specs.yamlsafe.BoundedLoader`: characters YAML
    forbids, deep nesting and alias bombs are problems with a line, never a crash.
    """
    if not text.strip():
        raise SpecError.single(file, "file is empty", hint="start from a file in experiments/")
    try:
        loader = BoundedLoader(text)
    except yaml.YAMLError as error:
        raise SpecError([yaml_error_problem(error, file=file, text=text)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError.single(file, "file has no YAML document")
        source = Source(file=file, data=None)
        problems: list[Problem] = []
        _index(node, (), source, problems)
        if problems:
            raise SpecError(problems)
        source.data = loader.construct_document(node)
    except yaml.YAMLError as error:
        raise SpecError([yaml_error_problem(error, file=file, text=text)]) from None
    finally:
        loader.dispose()
    return source


def _index(node: yaml.Node, path: PathKey, source: Source, problems: list[Problem]) -> None:
    source.places[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(
                    Problem(
                        source.file,
                        dotted(path),
                        "a key must be a plain name, not a list or a mapping",
                        "remove the `?` or the brackets around the key",
                        line,
                        key_node.start_mark.column + 1,
                    )
                )
                continue
            key = str(key_node.value)
            if key in seen:
                problems.append(
                    Problem(
                        source.file,
                        dotted((*path, key)),
                        f"duplicate key (first defined on line {seen[key]})",
                        "remove one of them: YAML would silently keep only the last",
                        line,
                        key_node.start_mark.column + 1,
                    )
                )
                continue
            seen[key] = line
            _index(value_node, (*path, key), source, problems)
            # a missing or wrong value is best shown at its key
            source.places[(*path, key)] = (line, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index(item, (*path, index), source, problems)

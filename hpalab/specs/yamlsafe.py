"""The one YAML reader of hpalab, hardened against hostile and careless files.

PyYAML's ``SafeLoader`` refuses arbitrary Python objects but not resource exhaustion, and some
of its errors are not ``YAMLError``. :class:`BoundedLoader` closes those gaps, as hardened YAML
decoders do (Go's yaml.v3 since CVE-2019-11253, used by every Kubernetes component):

- a document holds at most :data:`MAX_VALUES` values, counting what aliases bring in: a
  "billion laughs" file (nested aliases, each expanding to the one before it nine times) is
  refused at the alias that crosses the bound, after reading only the few kilobytes of the file
  itself, and a file of a million tiny keys is refused long before it is all read;
- values nest at most :data:`MAX_DEPTH` levels deep (counting what aliases bring in), so no
  walk over the document can exhaust Python's stack;
- a value Python cannot hold (an integer of 5,000 digits, the 13th month of a timestamp)
  is a :class:`yaml.constructor.ConstructorError` at its line instead of a ``ValueError``.

The events come from libyaml when PyYAML was built with it (scanning and parsing in C, many
times faster, nesting capped by libyaml too); the pure-Python parser is the fallback.

Every problem is a :class:`yaml.MarkedYAMLError` (or a ``ReaderError`` for characters YAML
forbids), so callers need catch only ``yaml.YAMLError``; :func:`yaml_error_problem` turns any
of them into a :class:`~hpalab.errors.Problem` with the file, line and column.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from hpalab.errors import PrerequisiteError, Problem

MAX_FILE_BYTES = 10 * 1024 * 1024
"""Largest YAML file hpalab reads; long traces belong in CSV trace files."""
MAX_DEPTH = 100
"""Deepest nesting of mappings and sequences; Kubernetes objects stay below 20."""
MAX_VALUES = 20_000
"""Values in one document, aliases expanded; specs hold hundreds, kubeconfigs thousands."""


class YamlLimitError(yaml.MarkedYAMLError):
    """The document is nested too deeply or holds too many values."""


class _PythonEvents(Reader, Scanner, Parser):
    """PyYAML's pure-Python event source, for a PyYAML built without libyaml."""

    def __init__(self, stream: str | bytes) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        # the scanner looks up to 1024 characters ahead per bracket, in time quadratic in the
        # open brackets: a line of '[' would take seconds before the composer saw any depth
        if self.flow_level >= MAX_DEPTH:
            message = f"values nest more than {MAX_DEPTH} levels"
            raise YamlLimitError(None, None, message, self.get_mark())
        super().fetch_flow_collection_start(TokenClass)


try:
    from yaml._yaml import CParser as _Events

    _BYTE_OFFSETS = True  # libyaml reports where a reader error is in UTF-8 bytes
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _Events = _PythonEvents  # type: ignore[assignment,misc]
    _BYTE_OFFSETS = False


def _check_encodable(stream: str | bytes) -> None:
    """A lone surrogate (from JSON's ``\\ud800``) is a reader error, not a UnicodeEncodeError."""
    if not isinstance(stream, str):
        return
    try:
        stream.encode("utf-8")
    except UnicodeEncodeError as error:
        before = stream[: error.start].encode("utf-8", "surrogatepass")
        position = len(before) if _BYTE_OFFSETS else error.start
        character = ord(stream[error.start])
        raise yaml.reader.ReaderError(
            "<unicode string>", position, character, "utf-8", "a lone surrogate is not text"
        ) from None


class BoundedLoader(Composer, SafeConstructor, Resolver, _Events):
    """A safe loader with bounded values and nesting (see the module docstring).

    ``unique_keys`` refuses a key set twice in a mapping, as strict Go decoders do.
    """

    max_values = MAX_VALUES
    unique_keys = False

    def __init__(self, stream: str | bytes) -> None:
        _check_encodable(stream)
        _Events.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._reset_limits()

    def _reset_limits(self) -> None:
        self._depth = 0
        self._values = 0
        self._measured: dict[int, tuple[int, int]] = {}

    def compose_document(self) -> yaml.Node | None:
        self._reset_limits()  # each document of a stream has its own budget
        return super().compose_document()

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: Any = self.peek_event()
        mark: yaml.Mark = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            assert node is not None  # an alias names a node composed before
            size, height = self._measure(node)
            self._count(size, mark, f"alias *{event.anchor} adds {size:,}")
            self._check_depth(self._depth + height, mark)
            return node
        self._count(1, mark, "")
        self._check_depth(self._depth + 1, mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _count(self, values: int, mark: yaml.Mark, detail: str) -> None:
        self._values += values
        if self._values > self.max_values:
            where = f" ({detail})" if detail else ""
            message = f"the document holds more than {self.max_values:,} values{where}"
            raise YamlLimitError(None, None, message, mark)

    def _check_depth(self, depth: int, mark: yaml.Mark) -> None:
        if depth > MAX_DEPTH:
            raise YamlLimitError(None, None, f"values nest more than {MAX_DEPTH} levels", mark)

    def _measure(self, node: yaml.Node) -> tuple[int, int]:
        """(values, levels) of ``node`` with every alias expanded; memoised per node."""
        known = self._measured.get(id(node))
        if known is not None:
            return known
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        size, height = 1, 0
        for child in children:
            child_size, child_height = self._measure(child)
            size += child_size
            height = max(height, child_height)
        self._measured[id(node)] = (size, height + 1)
        return size, height + 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError, TypeError) as error:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value: {error}", node.start_mark
            ) from error

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if self.unique_keys:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} already set in map", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 resolves a bare ``=`` to its ``value`` tag, which PyYAML cannot construct; in
# Kubernetes manifests (CRD enums of prometheus-operator's bundle) it is just the string "=".
BoundedLoader.add_constructor(  # type: ignore[type-var]
    "tag:yaml.org,2002:value", SafeConstructor.construct_yaml_str
)


def load(text: str | bytes, *, unique_keys: bool = False) -> Any:
    """The one document in ``text``; raises ``yaml.YAMLError`` and nothing else."""
    instance = BoundedLoader(text)  # its reader checks the characters: a YAMLError too
    instance.unique_keys = unique_keys
    try:
        return instance.get_single_data()
    finally:
        instance.dispose()


def load_all(text: str | bytes, *, max_values: int = MAX_VALUES) -> Iterator[Any]:
    """Every document in ``text`` (a stream of manifests); raises ``yaml.YAMLError``.

    ``max_values`` bounds each document (release files carry CRD schemas of many values).
    """
    instance = BoundedLoader(text)
    instance.max_values = max_values
    try:
        while instance.check_data():  # type: ignore[no-untyped-call]
            yield instance.get_data()
    finally:
        instance.dispose()


def yaml_error_problem(error: yaml.YAMLError, *, file: str, text: str | None = None) -> Problem:
    """A problem naming the file, line and column of ``error``, with a hint to fix it."""
    line = column = None
    hint = "check the indentation and the quoting near this place"
    if isinstance(error, yaml.reader.ReaderError):
        if text is not None:
            line, column = _place(text, error.position)
        message = f"character {error.character:#06x} is not allowed in YAML"
        hint = "remove it (a NUL or control character: is this a binary file?)"
        return Problem(file, "", message, hint, line, column)
    if not isinstance(error, yaml.MarkedYAMLError):
        return Problem(file, "", f"invalid YAML: {error}", hint)
    mark = error.problem_mark or error.context_mark
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
    problem = error.problem or error.context or "invalid YAML"
    if "nesting depth" in problem:  # libyaml's own bound, above ours
        problem = "values nest too deeply"
    if isinstance(error, YamlLimitError) or problem == "values nest too deeply":
        return Problem(file, "", problem, _limit_hint(problem), line, column)
    if "\\t" in problem or "\t" in problem or _char_at(text, mark) == "\t":
        problem, hint = "tab character: YAML indentation must use spaces", "use spaces"
    elif "single document" in (error.context or ""):
        problem = "more than one YAML document in the file"
        hint = "put one experiment or profile in each file (remove the extra ---)"
    elif problem.startswith("cannot read this value"):
        hint = "quote the value if it is meant as text"
    return Problem(file, "", f"YAML syntax error: {problem}", hint, line, column)


def _char_at(text: str | None, mark: yaml.Mark | None) -> str:
    """The character a mark points at (libyaml's messages do not name a tab)."""
    if text is None or mark is None:
        return ""
    lines = text.split("\n", mark.line + 1)
    line = lines[mark.line] if mark.line < len(lines) else ""
    return line[mark.column] if mark.column < len(line) else ""


def _limit_hint(problem: str) -> str:
    if "nest" in problem:
        return "flatten the structure; no spec nests this deep"
    if "alias" in problem:
        return "write the values out instead of nesting aliases"
    return "split the file: a spec holds hundreds of values, not tens of thousands"


def _place(text: str, position: int) -> tuple[int, int]:
    """Line and column (1-based) of a reader error's position: a byte offset into the UTF-8
    text for libyaml, a character offset for the pure-Python reader."""
    if not _BYTE_OFFSETS:
        return text.count("\n", 0, position) + 1, position - text.rfind("\n", 0, position)
    raw = text.encode("utf-8")
    start = raw.rfind(b"\n", 0, position) + 1
    return raw.count(b"\n", 0, position) + 1, len(
        raw[start:position].decode("utf-8", "replace")
    ) + 1


def kubeconfig_files(explicit: Path | None) -> list[Path]:
    """The kubeconfig files the Kubernetes client would read: ``explicit``, else every file
    in ``$KUBECONFIG`` (``:``-separated), else ``~/.kube/config``; absent ones left out."""
    if explicit is not None:
        return [explicit]
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    paths = [Path(p).expanduser() for p in listed] or [Path("~/.kube/config").expanduser()]
    return [p for p in paths if p.exists()]


def check_kubeconfigs(explicit: Path | None) -> None:
    """Read every kubeconfig with the bounded loader before the Kubernetes client does.

    Raises :class:`PrerequisiteError` naming the file and line of the first hostile or
    broken one.
    """
    for path in kubeconfig_files(explicit):
        if not path.exists():
            continue  # a missing kubeconfig is reported by the client, with its hint
        if not path.is_file():  # a device or a pipe: the client would read it for ever
            raise _kubeconfig_error(Problem(str(path), "", "not a regular file"))
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise _kubeconfig_error(Problem(str(path), "", "larger than 10 MB"))
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue  # an unreadable kubeconfig is reported by the client, with its hint
        try:
            load(text)
        except yaml.YAMLError as error:
            problem = yaml_error_problem(error, file=str(path), text=text)
            raise _kubeconfig_error(problem) from None


def _kubeconfig_error(problem: Problem) -> PrerequisiteError:
    return PrerequisiteError(
        f"cannot load the kubeconfig: {problem.render()}",
        hint="fix that file, or point KUBECONFIG or --kubeconfig at another",
    )

"""The one YAML reader of hpalab, hardened against hostile and careless files.

PyYAML's ``SafeLoader`` refuses arbitrary Python objects but not resource exhaustion, and some
of its errors are not ``YAMLError``. :class:`BoundedLoader` closes those gaps, as hardened YAML
decoders do (Go's yaml.v3 since CVE-2019-11253, used by every Kubernetes component):

- aliases may add at most :data:`MAX_ALIAS_NODES` values to the document: a "billion laughs"
  file (nested aliases, each expanding to the one before it nine times) is refused at the alias
  that crosses the bound, after reading only the few kilobytes of the file itself;
- values nest at most :data:`MAX_DEPTH` levels deep (counting what aliases bring in), so no
  walk over the document can exhaust Python's stack;
- a value Python cannot hold (an integer of 5,000 digits, the 13th month of a timestamp)
  is a :class:`yaml.constructor.ConstructorError` at its line instead of a ``ValueError``.

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

from hpalab.errors import Problem, SpecError

MAX_FILE_BYTES = 10 * 1024 * 1024
"""Largest YAML file hpalab reads; long traces belong in CSV trace files."""
MAX_DEPTH = 100
"""Deepest nesting of mappings and sequences; Kubernetes objects stay below 20."""
MAX_ALIAS_NODES = 100_000
"""Values that aliases may add in all; real files reuse a few blocks of tens of values."""


class YamlLimitError(yaml.MarkedYAMLError):
    """The document is nested too deeply or its aliases expand it too far."""


class BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` with bounded nesting and alias expansion (see the module docstring)."""

    def __init__(self, stream: str | bytes) -> None:
        super().__init__(stream)
        self._depth = 0
        self._alias_nodes = 0
        self._measured: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        mark: yaml.Mark = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            assert node is not None  # an alias names a node composed before
            size, height = self._measure(node)
            self._alias_nodes += size
            if self._alias_nodes > MAX_ALIAS_NODES:
                raise YamlLimitError(
                    None,
                    None,
                    f"aliases expand the document beyond {MAX_ALIAS_NODES:,} values (alias "
                    f"*{event.anchor} adds {size:,})",
                    mark,
                )
            self._check_depth(self._depth + height, mark)
            return node
        self._check_depth(self._depth + 1, mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        # the scanner looks up to 1024 characters ahead per bracket, in time quadratic in the
        # open brackets: a line of '[' would take seconds before the composer saw any depth
        self._check_depth(self.flow_level + 1, self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

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


def load(text: str | bytes, *, loader: type[BoundedLoader] = BoundedLoader) -> Any:
    """The one document in ``text``; raises ``yaml.YAMLError`` and nothing else."""
    instance = loader(text)  # its reader checks the characters here: a YAMLError too
    try:
        return instance.get_single_data()
    finally:
        instance.dispose()


def load_all(text: str | bytes, *, loader: type[BoundedLoader] = BoundedLoader) -> Iterator[Any]:
    """Every document in ``text`` (a stream of manifests); raises ``yaml.YAMLError``."""
    instance = loader(text)
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
            line = text.count("\n", 0, error.position) + 1
            column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        message = f"character {error.character:#06x} is not allowed in YAML"
        hint = "remove it (a NUL or control character: is this a binary file?)"
        return Problem(file, "", message, hint, line, column)
    if not isinstance(error, yaml.MarkedYAMLError):
        return Problem(file, "", f"invalid YAML: {error}", hint)
    mark = error.problem_mark or error.context_mark
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
    problem = error.problem or error.context or "invalid YAML"
    if isinstance(error, YamlLimitError):
        hint = (
            "write the values out instead of nesting aliases"
            if "alias" in problem
            else "flatten the structure; no spec nests this deep"
        )
        return Problem(file, "", problem, hint, line, column)
    if "\\t" in problem or "\t" in problem:
        problem, hint = "tab character: YAML indentation must use spaces", "use spaces"
    elif "single document" in (error.context or ""):
        problem = "more than one YAML document in the file"
        hint = "put one experiment or profile in each file (remove the extra ---)"
    elif problem.startswith("cannot read this value"):
        hint = "quote the value if it is meant as text"
    return Problem(file, "", f"YAML syntax error: {problem}", hint, line, column)


def kubeconfig_files(explicit: Path | None) -> list[Path]:
    """The kubeconfig files the Kubernetes client would read: ``explicit``, else every file
    in ``$KUBECONFIG`` (``:``-separated), else ``~/.kube/config``; missing ones left out."""
    if explicit is not None:
        return [explicit]
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    paths = [Path(p).expanduser() for p in listed] or [Path("~/.kube/config").expanduser()]
    return [p for p in paths if p.is_file()]


def check_kubeconfigs(explicit: Path | None) -> None:
    """Read every kubeconfig with the bounded loader before the Kubernetes client does.

    Raises :class:`SpecError` naming the file and line of the first hostile or broken one.
    """
    for path in kubeconfig_files(explicit):
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise SpecError.single(str(path), "kubeconfig larger than 10 MB")
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue  # an unreadable kubeconfig is reported by the client, with its hint
        try:
            load(text)
        except yaml.YAMLError as error:
            problem = yaml_error_problem(error, file=str(path), text=text)
            raise SpecError([problem]) from None

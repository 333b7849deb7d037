"""The subset of Go's ``text/template`` that adapter rules use, with ``<<`` ``>>`` delimiters.

Supported: text, actions with field chains (``.Series``, ``.LabelValuesByName.pod``), ``.``,
variables (``$``, ``$x``), string/number/bool literals, parenthesised pipelines, pipes ``|``,
``if``/``else``/``with``/``range``/``end`` (with ``$i, $v :=``), trim markers ``<<-``/``->>``,
comments, and the builtins ``index``, ``len``, ``print``, ``println``, ``printf`` (verbs
``%s %v %d %q %%``), ``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge``, ``not``, ``and``, ``or``.
Values print as Go's ``fmt.Sprint`` prints them. A function Go does not define (``join``,
for instance: the adapter registers no extra functions) is a parse error, as in Go.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpalab.autoscaling.adapter import template_funcs
from hpalab.autoscaling.adapter.gofmt import NO_VALUE, GoStruct, NoValue, go_sprint, go_truth
from hpalab.autoscaling.adapter.template_funcs import TemplateExecError, TemplateParseError

__all__ = ["GoTemplate", "TemplateExecError", "TemplateParseError", "parse"]

LEFT, RIGHT = "<<", ">>"
_GO_BUILTINS = {"call", "html", "js", "urlquery", "slice"}
_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<field>(?:\$[A-Za-z0-9_]*)?(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)
  | (?P<var>\$[A-Za-z0-9_]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>:=|[()|,=])
)""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Operand:
    kind: str  # field | var | func | literal | pipe
    value: Any
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pipe:
    decl: tuple[str, ...]
    commands: tuple[tuple[Operand, ...], ...]


@dataclass
class Block:
    keyword: str  # if | with | range | root
    pipe: Pipe | None
    body: list[Any] = field(default_factory=list)
    else_body: list[Any] | None = None
    chained: bool = False  # an ``else if`` block: closed by its parent's {{end}}


def _unquote(token: str) -> str:
    if token.startswith("`"):
        return token[1:-1]
    try:
        value = token[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError as error:
        raise TemplateParseError(f"bad string literal {token}") from error
    return value


def _lex_action(source: str, start: int) -> tuple[list[tuple[str, str]], int, bool]:
    """Tokens of one action from ``start``; returns tokens, end offset, right-trim flag."""
    tokens: list[tuple[str, str]] = []
    pos = start
    while True:
        rest = source[pos:]
        stripped = rest.lstrip()
        if stripped.startswith("-" + RIGHT) and rest[:1].isspace():
            return tokens, pos + (len(rest) - len(stripped)) + 1 + len(RIGHT), True
        if stripped.startswith(RIGHT):
            return tokens, pos + (len(rest) - len(stripped)) + len(RIGHT), False
        if not stripped:
            raise TemplateParseError("unclosed action")
        match = _TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            bad = stripped[:1]
            raise TemplateParseError(f"unexpected {bad!r} in command")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def parse(self) -> Block:
        root = Block("root", None)
        stack = [root]
        pos, trim_next = 0, False
        while True:
            left = self.source.find(LEFT, pos)
            text = self.source[pos:] if left < 0 else self.source[pos:left]
            if trim_next:
                text = text.lstrip()
            if left < 0:
                self._add(stack, text)
                break
            inner = left + len(LEFT)
            trim_left = self.source[inner : inner + 2] in ("- ", "-\t", "-\n", "-\r")
            if trim_left:
                text, inner = text.rstrip(), inner + 1
            self._add(stack, text)
            if self.source[inner:].lstrip().startswith("/*"):
                pos, trim_next = self._comment(inner)
                continue
            tokens, pos, trim_next = _lex_action(self.source, inner)
            self._action(stack, tokens)
        if len(stack) != 1:
            raise TemplateParseError("unexpected EOF")
        return root

    def _comment(self, inner: int) -> tuple[int, bool]:
        end = self.source.find("*/", inner)
        if end < 0:
            raise TemplateParseError("unclosed comment")
        after = self.source[end + 2 :]
        stripped = after.lstrip()
        if stripped.startswith("-" + RIGHT):
            return end + 2 + (len(after) - len(stripped)) + 1 + len(RIGHT), True
        if not after.startswith(RIGHT):
            raise TemplateParseError("comment ends before closing delimiter")
        return end + 2 + len(RIGHT), False

    @staticmethod
    def _add(stack: list[Block], text: str) -> None:
        if text:
            target = stack[-1]
            (target.else_body if target.else_body is not None else target.body).append(text)

    def _action(self, stack: list[Block], tokens: list[tuple[str, str]]) -> None:
        if not tokens:
            raise TemplateParseError("missing value for command")
        kind, word = tokens[0]
        keyword = word if kind == "ident" else ""
        if keyword in ("if", "with", "range"):
            block = Block(keyword, self._pipe(tokens[1:], allow_decl=True))
            self._add_node(stack, block)
            stack.append(block)
        elif keyword == "else":
            self._else(stack, tokens)
        elif keyword == "end":
            if len(stack) == 1 or len(tokens) != 1:
                raise TemplateParseError("unexpected {{end}}")
            while stack.pop().chained:
                pass
        elif keyword in ("define", "template", "block", "break", "continue"):
            raise TemplateParseError(f"{{{{{keyword}}}}} is not supported in adapter templates")
        else:
            self._add_node(stack, self._pipe(tokens, allow_decl=True))

    def _else(self, stack: list[Block], tokens: list[tuple[str, str]]) -> None:
        block = stack[-1]
        if block.keyword == "root" or block.else_body is not None:
            raise TemplateParseError("unexpected {{else}}")
        block.else_body = []
        if len(tokens) > 1:
            if tokens[1] not in (("ident", "if"), ("ident", "with")):
                raise TemplateParseError("unexpected token after else")
            nested = Block(tokens[1][1], self._pipe(tokens[2:], allow_decl=True))
            block.else_body.append(nested)
            nested.chained = True
            stack.append(nested)

    @staticmethod
    def _add_node(stack: list[Block], node: Any) -> None:
        target = stack[-1]
        (target.else_body if target.else_body is not None else target.body).append(node)

    def _pipe(self, tokens: list[tuple[str, str]], *, allow_decl: bool) -> Pipe:
        decl: list[str] = []
        ops = [t[1] for t in tokens]
        if allow_decl and ":=" in ops:
            split = ops.index(":=")
            decl = [v for k, v in tokens[:split] if k == "var"]
            tokens = tokens[split + 1 :]
        commands: list[tuple[Operand, ...]] = []
        current: list[Operand] = []
        index = 0
        while index < len(tokens):
            kind, word = tokens[index]
            index += 1
            if kind == "op" and word == "|":
                if not current:
                    raise TemplateParseError("missing command before |")
                commands.append(tuple(current))
                current = []
            elif kind == "op" and word == "(":
                depth, end = 1, index
                while end < len(tokens) and depth:
                    depth += {"(": 1, ")": -1}.get(tokens[end][1], 0)
                    end += 1
                if depth:
                    raise TemplateParseError("unclosed left paren")
                current.append(
                    Operand("pipe", self._pipe(tokens[index : end - 1], allow_decl=False))
                )
                index = end
            else:
                current.append(self._operand(kind, word))
        if not current:
            raise TemplateParseError("missing value for command")
        commands.append(tuple(current))
        return Pipe(tuple(decl), tuple(commands))

    @staticmethod
    def _operand(kind: str, word: str) -> Operand:
        if kind in ("str", "raw"):
            return Operand("literal", _unquote(word))
        if kind == "num":
            return Operand("literal", float(word) if "." in word else int(word))
        if kind == "field":
            base, _, chain = word.partition(".") if not word.startswith(".") else ("", "", word[1:])
            names = tuple(n for n in chain.split(".") if n)
            return Operand("var" if base else "field", base, names)
        if kind == "var":
            return Operand("var", word)
        if kind == "ident":
            if word in ("true", "false"):
                return Operand("literal", word == "true")
            if word == "nil":
                return Operand("literal", None)
            if word in template_funcs.FUNCS or word in _GO_BUILTINS:
                return Operand("func", word)
            raise TemplateParseError(f'function "{word}" not defined')
        raise TemplateParseError(f"unexpected {word!r} in command")


@dataclass(frozen=True)
class GoTemplate:
    """A parsed template; :meth:`execute` renders it like Go's ``Template.Execute``."""

    source: str
    root: Block

    def execute(self, data: Any) -> str:
        """Render with ``data`` as dot; raises :class:`TemplateExecError` where Go would."""
        out: list[str] = []
        _Exec(data).run(self.root.body, data, {"$": data}, out)
        return "".join(out)


def parse(source: str) -> GoTemplate:
    """Parse ``source``; raises :class:`TemplateParseError` where Go's parser would fail."""
    return GoTemplate(source=source, root=_Parser(source).parse())


class _Exec:
    def __init__(self, root: Any) -> None:
        self.root = root

    def run(self, nodes: list[Any], dot: Any, env: dict[str, Any], out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, Pipe):
                value = self.pipe(node, dot, env)
                if not node.decl:
                    out.append(go_sprint(value))
            else:
                self.block(node, dot, env, out)

    def block(self, node: Block, dot: Any, env: dict[str, Any], out: list[str]) -> None:
        assert node.pipe is not None
        scope = dict(env)
        value = self.pipe(node.pipe, dot, scope)
        if node.keyword == "range":
            items = _range_items(value)
            for key, item in items:
                if len(node.pipe.decl) == 2:
                    scope[node.pipe.decl[0]], scope[node.pipe.decl[1]] = key, item
                elif node.pipe.decl:
                    scope[node.pipe.decl[0]] = item
                self.run(node.body, item, scope, out)
            if not items and node.else_body is not None:
                self.run(node.else_body, dot, scope, out)
            return
        if go_truth(value):
            self.run(node.body, value if node.keyword == "with" else dot, scope, out)
        elif node.else_body is not None:
            self.run(node.else_body, dot, scope, out)

    def pipe(self, pipe: Pipe, dot: Any, env: dict[str, Any]) -> Any:
        value: Any = NO_VALUE
        for position, command in enumerate(pipe.commands):
            final = [value] if position else []
            value = self.command(command, dot, env, final)
        for name in pipe.decl:
            env[name] = value
        return value

    def command(
        self, command: tuple[Operand, ...], dot: Any, env: dict[str, Any], final: list[Any]
    ) -> Any:
        head = command[0]
        if head.kind == "func":
            args = [self.operand(op, dot, env) for op in command[1:]] + final
            return template_funcs.call(head.value, args)
        if len(command) > 1 or final:
            raise TemplateExecError(f"can't give argument to non-function {head.value}")
        return self.operand(head, dot, env)

    def operand(self, op: Operand, dot: Any, env: dict[str, Any]) -> Any:
        if op.kind == "literal":
            return op.value
        if op.kind == "pipe":
            return self.pipe(op.value, dot, env)
        if op.kind == "func":
            return template_funcs.call(op.value, [])
        if op.kind == "var":
            if op.value not in env:
                raise TemplateExecError(f"undefined variable: {op.value}")
            base = env[op.value]
        else:
            base = dot
        for name in op.names:
            base = _field(base, name)
        return base


def _field(receiver: Any, name: str) -> Any:
    if isinstance(receiver, GoStruct):
        if name in receiver.fields:
            return receiver.fields[name]
        raise TemplateExecError(f"can't evaluate field {name} in type {receiver.type_name}")
    if isinstance(receiver, Mapping):
        return receiver.get(name, NO_VALUE)
    if isinstance(receiver, NoValue) or receiver is None:
        raise TemplateExecError(f"nil pointer evaluating interface {{}}.{name}")
    raise TemplateExecError(f"can't evaluate field {name} in type {type(receiver).__name__}")


def _range_items(value: Any) -> list[tuple[Any, Any]]:
    if isinstance(value, Mapping):
        return sorted(value.items(), key=lambda kv: kv[0])
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(enumerate(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return [(i, i) for i in range(value)]
    if isinstance(value, NoValue) or value is None:
        return []
    raise TemplateExecError(f"range can't iterate over {go_sprint(value)}")

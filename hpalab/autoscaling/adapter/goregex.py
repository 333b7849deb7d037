"""Go ``regexp`` (RE2 syntax) on top of Python's ``re``, and Go's ``Regexp.Expand``.

prometheus-adapter compiles ``name.matches`` and ``seriesFilters`` with Go's ``regexp``. Python's
``re`` reads most of that syntax the same way, but not all of it:

- ``$`` (without the ``m`` flag) matches only at the very end in Go; Python's ``$`` also matches
  before a trailing newline, so it becomes ``\\Z``;
- ``\\z`` is Go's end of text (Python: ``\\Z``); ``\\Q...\\E`` quotes literal text;
- ``(?<name>...)`` is Go's alternative spelling of ``(?P<name>...)``;
- POSIX classes such as ``[[:alpha:]]`` exist only in Go;
- Go accepts flag groups such as ``(?i)`` anywhere (they apply to the rest of the group);
  Python only at the start, so they become scoped groups ``(?i:...)``;
- ``\\d``, ``\\w``, ``\\s``, ``\\b`` are ASCII in Go (``re.ASCII`` here);
- look-around, back-references, atomic groups and possessive quantifiers do not exist in Go:
  they are rejected, as the adapter would refuse to start.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_UNSUPPORTED_GROUPS = ("(?=", "(?!", "(?<=", "(?<!", "(?>", "(?#")


class GoRegexError(ValueError):
    """The pattern is not valid Go RE2 syntax (or uses syntax hpalab does not translate)."""


@dataclass
class _Translator:
    pattern: str
    pos: int = 0

    def run(self) -> str:
        out: list[str] = []
        # One entry per open group: how many scoped flag groups to close with it.
        closers = [0]
        multiline = bool(re.search(r"\(\?[a-zA-Z-]*m", self.pattern))
        while self.pos < len(self.pattern):
            ch = self.pattern[self.pos]
            if ch == "\\":
                out.append(self._escape())
            elif ch == "[":
                out.append(self._char_class())
            elif ch == "(":
                out.append(self._group(closers))
            elif ch == ")":
                if len(closers) == 1:
                    raise GoRegexError("unexpected ): unbalanced parentheses")
                out.append(")" * closers.pop() + ")")
                self.pos += 1
            elif ch == "$":
                out.append("$" if multiline else "\\Z")
                self.pos += 1
            elif ch == "{":
                out.append(self._brace())
            elif ch in "*+?}":
                out.append(ch)
                self.pos += 1
                self._reject_possessive()
            else:
                out.append(ch)
                self.pos += 1
        if len(closers) > 1:
            raise GoRegexError("missing closing ): unbalanced parentheses")
        out.append(")" * closers[0])
        return "".join(out)

    def _brace(self) -> str:
        # Go reads {n}, {n,} and {n,m} as repetition and any other brace as a literal;
        # Python would read {,m} as {0,m}.
        rep = re.match(r"\{(\d+)(,(\d*))?\}", self.pattern[self.pos :])
        if rep is None:
            self.pos += 1
            return "\\{"
        if max(int(rep.group(1)), int(rep.group(3) or 0)) > 1000:
            raise GoRegexError(f"invalid repeat count: {rep.group(0)}")
        self.pos += len(rep.group(0))
        self._reject_possessive()
        return rep.group(0)

    def _reject_possessive(self) -> None:
        nxt = self.pattern[self.pos : self.pos + 1]
        if nxt == "?":
            self.pos += 1
            nxt = self.pattern[self.pos : self.pos + 1]
        if nxt in ("+", "*"):
            raise GoRegexError("invalid nested repetition operator")

    def _escape(self) -> str:
        nxt = self.pattern[self.pos + 1 : self.pos + 2]
        if nxt == "":
            raise GoRegexError("trailing backslash at end of expression")
        if nxt == "Q":
            end = self.pattern.find("\\E", self.pos + 2)
            literal = self.pattern[self.pos + 2 :] if end < 0 else self.pattern[self.pos + 2 : end]
            self.pos = len(self.pattern) if end < 0 else end + 2
            return re.escape(literal)
        self.pos += 2
        if nxt == "z":
            return "\\Z"
        if nxt == "x" and self.pattern[self.pos : self.pos + 1] == "{":
            end = self.pattern.find("}", self.pos)
            try:
                code = int(self.pattern[self.pos + 1 : end], 16)
            except ValueError as error:
                raise GoRegexError("invalid escape sequence: \\x{") from error
            self.pos = end + 1
            return re.escape(chr(code))
        if nxt.isdigit() and nxt != "0":
            raise GoRegexError(f"invalid escape sequence: \\{nxt} (no back-references in RE2)")
        if nxt in "pPZ":
            raise GoRegexError(f"escape \\{nxt} is not supported")
        return "\\" + nxt

    def _char_class(self) -> str:
        out = ["["]
        self.pos += 1
        if self.pattern[self.pos : self.pos + 1] == "^":
            out.append("^")
            self.pos += 1
        first = True
        while True:
            if self.pos >= len(self.pattern):
                raise GoRegexError("missing closing ]")
            ch = self.pattern[self.pos]
            if ch == "]" and not first:
                self.pos += 1
                out.append("]")
                return "".join(out)
            first = False
            if ch == "[" and self.pattern[self.pos + 1 : self.pos + 2] == ":":
                end = self.pattern.find(":]", self.pos + 2)
                name = self.pattern[self.pos + 2 : end] if end > 0 else ""
                if name in _POSIX:
                    out.append(_POSIX[name])
                    self.pos = end + 2
                    continue
                raise GoRegexError(f"invalid character class range: [:{name}:]")
            if ch == "\\":
                out.append(self._escape())
                continue
            # Escape characters Python reserves for future set operations.
            out.append("\\" + ch if ch in "[&~|" else ch)
            self.pos += 1

    def _group(self, closers: list[int]) -> str:
        rest = self.pattern[self.pos :]
        for bad in _UNSUPPORTED_GROUPS:
            if rest.startswith(bad):
                raise GoRegexError(f"invalid or unsupported Perl syntax: {bad}")
        if rest.startswith("(?<"):
            self.pos += 3
            closers.append(0)
            return "(?P<"
        flags = re.match(r"\(\?([a-zA-Z]*(?:-[a-zA-Z]*)?)([:)])", rest)
        if flags and not rest.startswith("(?P"):
            letters = flags.group(1)
            if set(letters) - set("imsU-") or "U" in letters:
                raise GoRegexError(f"invalid or unsupported Perl syntax: (?{letters}")
            self.pos += len(flags.group(0))
            if flags.group(2) == ":":
                closers.append(0)
                return f"(?{letters}:" if letters else "(?:"
            # (?i) applies to the rest of the enclosing group: open a scoped group there.
            closers[-1] += 1
            return f"(?{letters}:"
        self.pos += 1
        closers.append(0)
        return "("


@dataclass(frozen=True)
class GoRegexp:
    """A compiled Go regular expression."""

    source: str
    compiled: re.Pattern[str]

    @property
    def num_subexp(self) -> int:
        """Number of capture groups (Go: ``len(SubexpNames()) - 1``)."""
        return self.compiled.groups

    def search(self, text: str) -> re.Match[str] | None:
        """Leftmost match anywhere in ``text`` (Go: ``FindStringSubmatchIndex``)."""
        return self.compiled.search(text)

    def matches(self, text: str) -> bool:
        """Go ``MatchString``: an unanchored search."""
        return self.compiled.search(text) is not None

    def expand(self, template: str, match: re.Match[str]) -> str:
        """Go ``Regexp.ExpandString`` of ``template`` with the groups of ``match``."""
        return expand(template, match, self.compiled.groupindex)


def compile_go(pattern: str) -> GoRegexp:
    """Compile ``pattern`` with Go RE2 semantics; raises :class:`GoRegexError` if Go would."""
    try:
        translated = _Translator(pattern).run()
        return GoRegexp(source=pattern, compiled=re.compile(translated, re.ASCII))
    except re.error as error:
        raise GoRegexError(str(error)) from error


def _name_char(ch: str) -> bool:
    return ch.isalpha() or ch.isdecimal() or ch == "_"


def _extract(text: str) -> tuple[str, str] | None:
    """Go ``extract``: the name after a ``$`` and the rest of the template, or ``None``."""
    if not text:
        return None
    brace = text[0] == "{"
    body = text[1:] if brace else text
    size = 0
    while size < len(body) and (
        body[size].isalpha() or body[size].isdecimal() or body[size] == "_"
    ):
        size += 1
    if size == 0:
        return None
    name = body[:size]
    if brace:
        if size >= len(body) or body[size] != "}":
            return None
        size += 1
    return name, body[size:]


def _group_number(name: str) -> int:
    """Go's numeric reading of a ``$name``: -1 unless plain ASCII digits, no leading zero."""
    if not all("0" <= ch <= "9" for ch in name) or len(name) > 9:
        return -1
    if name[0] == "0" and len(name) > 1:
        return -1
    return int(name)


def expand(template: str, match: re.Match[str], names: Mapping[str, int]) -> str:
    """Go ``regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``.

    A name is the longest run of letters, digits and ``_``, so ``$1_x`` refers to a group
    named ``1_x`` (usually missing, giving ``''``); an unknown or unmatched group expands to
    ``''``; a malformed reference leaves the ``$`` as text.
    """
    out: list[str] = []
    rest = template
    while True:
        before, dollar, after = rest.partition("$")
        out.append(before)
        if not dollar:
            return "".join(out)
        if after.startswith("$"):
            out.append("$")
            rest = after[1:]
            continue
        extracted = _extract(after)
        if extracted is None:
            out.append("$")
            rest = after
            continue
        name, rest = extracted
        number = _group_number(name)
        index = number if number >= 0 else names.get(name, -1)
        if 0 <= index <= (match.re.groups) and match.start(index) >= 0:
            out.append(match.group(index))

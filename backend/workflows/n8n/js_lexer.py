"""Tokens of the JavaScript subset n8n expressions are written in (no regex literals, no statements).

    tokens("$json.name.toUpperCase()")  ->  [Token("name", "$json"), Token("op", "."), ...]

A template literal is one token whose value is a list of parts: text, or the tokens of a ``${...}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_TOKENS = 2_000
MAX_TEMPLATE_DEPTH = 10


class Unsupported(ValueError):
    """The expression cannot be converted exactly; the message says what and why."""


class Refused(Unsupported):
    """The expression reaches for the host (process, constructor, eval...): the import is refused."""


@dataclass(frozen=True)
class Token:
    kind: str  # num, str, tpl, name, op, end
    value: Any
    pos: int = 0


_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[$A-Za-z_][$\w]*")
_OPS = ("===", "!==", "...", "**", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "=>",
        "+", "-", "*", "/", "%", "<", ">", "!", "?", ":", ".", ",", "(", ")", "[", "]", "{", "}", "=", ";")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text, self.pos, self.count = text, 0, 0

    def tokens(self, *, until_brace: bool = False, depth: int = 0) -> list[Token]:
        out: list[Token] = []
        braces = 0
        while True:
            match = _SPACE.match(self.text, self.pos)
            if match:
                self.pos = match.end()
            if self.pos >= len(self.text):
                if until_brace:
                    raise Unsupported("a ${ in a template literal is never closed")
                return out + [Token("end", None, self.pos)]
            char = self.text[self.pos]
            if until_brace and char == "}" and braces == 0:
                self.pos += 1
                return out + [Token("end", None, self.pos)]
            braces += 1 if char == "{" else -1 if char == "}" else 0
            out.append(self._one(char, depth))
            self.count += 1
            if self.count > MAX_TOKENS:
                raise Unsupported(f"expression is longer than {MAX_TOKENS} tokens")

    def _one(self, char: str, depth: int) -> Token:
        start = self.pos
        if char in "'\"":
            return Token("str", self._string(char), start)
        if char == "`":
            return Token("tpl", self._template(depth), start)
        if char.isdigit() or (char == "." and self.text[self.pos + 1 : self.pos + 2].isdigit()):
            match = _NUMBER.match(self.text, self.pos)
            self.pos = match.end()
            return Token("num", match.group(), start)
        match = _NAME.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            return Token("name", match.group(), start)
        for op in _OPS:
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                return Token("op", op, start)
        raise Unsupported(f"unexpected character {char!r} at position {start}")

    def _escape(self) -> str:
        char = self.text[self.pos + 1 : self.pos + 2]
        self.pos += 2
        if char == "u":
            code = self.text[self.pos : self.pos + 4]
            if not re.fullmatch(r"[0-9a-fA-F]{4}", code):
                raise Unsupported("invalid \\u escape in a string")
            self.pos += 4
            return chr(int(code, 16))
        if char == "x":
            code = self.text[self.pos : self.pos + 2]
            if not re.fullmatch(r"[0-9a-fA-F]{2}", code):
                raise Unsupported("invalid \\x escape in a string")
            self.pos += 2
            return chr(int(code, 16))
        return _ESCAPES.get(char, char)

    def _string(self, quote: str) -> str:
        self.pos += 1
        chars = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == quote:
                self.pos += 1
                return "".join(chars)
            if char == "\\":
                chars.append(self._escape())
            elif char == "\n":
                break
            else:
                chars.append(char)
                self.pos += 1
        raise Unsupported("a string is never closed")

    def _template(self, depth: int) -> list:
        if depth >= MAX_TEMPLATE_DEPTH:
            raise Unsupported(f"template literals nest more than {MAX_TEMPLATE_DEPTH} levels")
        self.pos += 1
        parts: list = []
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "`":
                self.pos += 1
                return [*parts, "".join(chars)] if chars else parts
            if char == "\\":
                chars.append(self._escape())
            elif self.text.startswith("${", self.pos):
                if chars:
                    parts.append("".join(chars))
                    chars = []
                self.pos += 2
                parts.append(self.tokens(until_brace=True, depth=depth + 1))
            else:
                chars.append(char)
                self.pos += 1
        raise Unsupported("a template literal is never closed")


def tokens(text: str) -> list[Token]:
    return _Lexer(text).tokens()

"""Finding the line of a dotted key in TOML text, since tomllib keeps no positions.

A small scanner over text that tomllib has already accepted: it follows tables, arrays of tables,
dotted keys, inline tables and (multi-line) arrays, and records the first line of every key path
in the form errors use: ``radios.virtual.devices[2].kind``. It never raises; at worst it knows
fewer lines, and the error is shown without one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PUNCT = "[]{}=,"
_WORD_END = re.compile(r"[\s\[\]{}=,#\"']")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # one of _PUNCT, "nl", "str", "word"
    text: str
    line: int


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i, line, n = 0, 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            out.append(_Token("nl", "", line))
            line, i = line + 1, i + 1
        elif ch in " \t\r":
            i += 1
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith(('"""', "'''"), i):
            end = text.find(text[i:i + 3], i + 3)
            end = n if end < 0 else end + 3
            while end < n and text[end] == text[i]:  # up to two quotes may end the content
                end += 1
            out.append(_Token("str", text[i + 3:end - 3], line))
            line += text.count("\n", i, end)
            i = end
        elif ch in "\"'":
            j = i + 1
            while j < n and text[j] != ch and text[j] != "\n":
                j += 2 if ch == '"' and text[j] == "\\" else 1
            out.append(_Token("str", text[i + 1:j], line))
            i = j + 1
        elif ch in _PUNCT:
            out.append(_Token(ch, ch, line))
            i += 1
        else:
            match = _WORD_END.search(text, i)
            end = n if match is None else match.start()
            out.append(_Token("word", text[i:end], line))
            i = end
    return out


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


class _Scanner:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.pos = 0
        self.lines: dict[str, int] = {}
        self.aot: dict[str, int] = {}  # array-of-tables path -> how many elements so far

    def peek(self) -> _Token | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self) -> _Token:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def skip_newlines(self) -> None:
        while (tok := self.peek()) is not None and tok.kind == "nl":
            self.pos += 1

    def record(self, path: str, line: int) -> None:
        self.lines.setdefault(path, line)

    def key(self) -> list[str]:
        parts: list[str] = []
        while (tok := self.peek()) is not None and tok.kind in ("str", "word"):
            self.pos += 1
            parts.extend([tok.text] if tok.kind == "str" else
                         [p for p in tok.text.split(".") if p])
        return parts

    def indexed(self, parts: list[str]) -> str:
        path = ""
        for part in parts:
            path = _join(path, part)
            if path in self.aot:
                path += f"[{self.aot[path] - 1}]"
        return path

    def document(self) -> dict[str, int]:
        table = ""
        while (tok := self.peek()) is not None:
            if tok.kind == "nl":
                self.pos += 1
            elif tok.kind == "[":
                table = self.header()
            else:
                self.keyval(table)
                self.skip_rest_of_line()
        return self.lines

    def header(self) -> str:
        line = self.take().line
        is_array = (tok := self.peek()) is not None and tok.kind == "["
        if is_array:
            self.pos += 1
        parts = self.key()
        self.skip_rest_of_line()
        if not is_array:
            path = self.indexed(parts)
        else:
            path = _join(self.indexed(parts[:-1]), parts[-1]) if parts else ""
            self.record(path, line)
            index = self.aot.get(path, 0)
            self.aot[path] = index + 1
            path += f"[{index}]"
        self.record(path, line)
        return path

    def skip_rest_of_line(self) -> None:
        while (tok := self.peek()) is not None and tok.kind != "nl":
            self.pos += 1

    def keyval(self, base: str) -> None:
        tok = self.peek()
        parts = self.key()
        if tok is None or not parts:
            self.pos += 1  # not a key: skip the token rather than loop
            return
        path = base
        for part in parts:
            path = _join(path, part)
            self.record(path, tok.line)
        if (eq := self.peek()) is not None and eq.kind == "=":
            self.pos += 1
            self.value(path)

    def value(self, path: str) -> None:
        tok = self.peek()
        if tok is None:
            return
        if tok.kind == "{":
            self.pos += 1
            while (inner := self.peek()) is not None and inner.kind != "}":
                if inner.kind in (",", "nl"):
                    self.pos += 1
                else:
                    self.keyval(path)
            self.pos += 1
        elif tok.kind == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip_newlines()
                item = self.peek()
                if item is None or item.kind == "]":
                    self.pos += 1
                    return
                if item.kind == ",":
                    index += 1
                    self.pos += 1
                    continue
                self.record(f"{path}[{index}]", item.line)
                self.value(f"{path}[{index}]")
        else:
            self.pos += 1


def key_lines(text: str) -> dict[str, int]:
    """The first line of every key path in a TOML document."""
    scanner = _Scanner(text)
    try:
        return scanner.document()
    except IndexError:  # truncated input: keep what was found
        return scanner.lines


def find_line(text: str, key: str) -> int | None:
    """The line of key, or of its nearest ancestor that appears in the text."""
    lines = key_lines(text)
    while key:
        if key in lines:
            return lines[key]
        cut = max(key.rfind("."), key.rfind("["))
        key = key[:cut] if cut > 0 else ""
    return None

"""Reading YAML nodes with their line numbers, so every rule error names file, line and field.

PyYAML's composer gives a node tree whose marks carry positions; we read that tree instead of
plain Python objects. Scalars that users write as times or durations are read from the raw text,
because YAML 1.1 would turn ``07:30`` into the sexagesimal number 450.

A rule file may come from anyone who can write to the rules directory or call the LAN API, so
composing is bounded: the text's size, the nesting depth (PyYAML's composer and our walkers
recurse), the number of aliases and the number of nodes *as expanded* (an alias counts as every
node it stands for, which stops "billion laughs" before it is walked). Each limit fails with the
line and field path where it was crossed, in well under a second.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from hubd.core.errors import RuleError
from hubd.core.model import Value
from rules.model import Loc, RuleProblem

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

MAX_TEXT_CHARS = 8 * 1024 * 1024  # ~40,000 rules; far above any house
MAX_DEPTH = 48  # a rule is ~6 levels deep plus 2 per nested if/choose/repeat
MAX_ALIASES = 10_000
MAX_NODES = 2_000_000  # expanded; 20,000 plain rules are ~400,000


class Invalid(RuleError):
    """A node did not hold what the grammar wants; carries the problem to report."""

    def __init__(self, problem: RuleProblem) -> None:
        self.problem = problem
        super().__init__(problem.message, file=problem.file, key=problem.field or None,
                         line=problem.line)

    def __str__(self) -> str:
        return str(self.problem)


class Node:
    """A YAML node with its file and field path."""

    __slots__ = ("file", "node", "path")

    def __init__(self, node: yaml.Node, file: str, path: str) -> None:
        self.node = node
        self.file = file
        self.path = path

    @property
    def line(self) -> int:
        """The 1-based line where the node starts."""
        return int(self.node.start_mark.line) + 1

    @property
    def loc(self) -> Loc:
        """The node's location."""
        return Loc(self.file, self.line, self.path)

    def fail(self, message: str) -> Invalid:
        """The error to raise for this node."""
        return Invalid(RuleProblem(self.file, self.line, self.path, message))

    def child(self, node: yaml.Node, path: str) -> Node:
        """A node below this one."""
        return Node(node, self.file, path)

    # -- structure ---------------------------------------------------------------------------

    def is_mapping(self) -> bool:
        """Whether the node is a mapping."""
        return isinstance(self.node, yaml.MappingNode)

    def mapping(self, allowed: Collection[str] | None = None) -> dict[str, Node]:
        """The node as a mapping of string keys to nodes; unknown keys are errors."""
        if not isinstance(self.node, yaml.MappingNode):
            raise self.fail("must be a mapping (key: value lines)")
        out: dict[str, Node] = {}
        for key_node, value_node in self.node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail("keys must be plain words")
            key = str(key_node.value)
            sub = self.child(value_node, f"{self.path}.{key}" if self.path else key)
            if allowed is not None and key not in allowed:
                raise Node(key_node, self.file, sub.path).fail(
                    f"unknown field {key!r}; expected one of {', '.join(sorted(allowed))}")
            if key in out:
                raise sub.fail(f"{key!r} is given twice")
            out[key] = sub
        return out

    def sequence(self) -> list[Node]:
        """The node as a list of nodes (a single mapping counts as a list of one)."""
        if isinstance(self.node, yaml.SequenceNode):
            return [self.child(n, f"{self.path}[{i}]") for i, n in enumerate(self.node.value)]
        if isinstance(self.node, yaml.MappingNode):
            return [self.child(self.node, f"{self.path}[0]")]
        raise self.fail("must be a list")

    # -- scalars -----------------------------------------------------------------------------

    def value(self) -> Value:
        """A scalar as YAML types it: bool, int, float, str (or None for null)."""
        if not isinstance(self.node, yaml.ScalarNode):
            raise self.fail("must be a single value")
        try:
            built = SafeConstructor().construct_object(self.node)
        except ConstructorError as exc:
            raise self.fail(f"cannot read this value: {exc.problem}") from exc
        if built is None or isinstance(built, bool | int | float | str):
            return built
        return str(self.node.value)  # dates and the like: keep the text

    def values(self) -> tuple[Value, ...]:
        """One scalar or a list of them."""
        if isinstance(self.node, yaml.SequenceNode):
            return tuple(n.value() for n in self.sequence())
        return (self.value(),)

    def text(self) -> str:
        """A non-empty string, read as written."""
        if not isinstance(self.node, yaml.ScalarNode) or self.value() is None:
            raise self.fail("must be a text")
        text = str(self.node.value).strip()
        if not text:
            raise self.fail("must not be empty")
        return text

    def texts(self) -> tuple[str, ...]:
        """One text or a list of texts."""
        if isinstance(self.node, yaml.SequenceNode):
            return tuple(n.text() for n in self.sequence())
        return (self.text(),)

    def number(self) -> float:
        """A number."""
        value = self.value()
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"must be a number, not {value!r}")
        return float(value)

    def integer(self, minimum: int, maximum: int) -> int:
        """A whole number within bounds."""
        value = self.value()
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"must be a whole number, not {value!r}")
        if not minimum <= value <= maximum:
            raise self.fail(f"must be between {minimum} and {maximum}, not {value}")
        return value

    def boolean(self) -> bool:
        """True or false."""
        value = self.value()
        if not isinstance(value, bool):
            raise self.fail(f"must be true or false, not {value!r}")
        return value

    def duration_s(self, *, is_signed: bool = False) -> float:
        """A duration: seconds as a number, or text like ``90s``, ``2m``, ``1h30m``, ``0:02:00``."""
        value = self.value()
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        else:
            seconds = self._parse_duration(str(self.node.value).strip())
        if seconds < 0 and not is_signed:
            raise self.fail("must not be negative")
        return seconds

    def _parse_duration(self, text: str) -> float:
        sign = -1.0 if text.startswith("-") else 1.0
        body = text.lstrip("+-").replace(" ", "")
        clock = _CLOCK.fullmatch(body)
        if clock:
            h, m, s = clock.groups()
            return sign * (int(h) * 3600 + int(m) * 60 + int(s or 0))
        parts = _DURATION_PART.findall(body)
        if not body or "".join(n + u for n, u in parts) != body:
            raise self.fail(f"{text!r} is not a duration (write e.g. 30s, 2m, 1h30m or 0:02:00)")
        return sign * sum(float(n) * _UNIT_S[u] for n, u in parts)

    def time_of_day(self) -> dt.time:
        """A local time of day, ``HH:MM`` or ``HH:MM:SS``."""
        text = str(self.node.value).strip() if isinstance(self.node, yaml.ScalarNode) else ""
        match = _CLOCK.fullmatch(text)
        if match is None:
            raise self.fail(f"{text!r} is not a time of day (write HH:MM or HH:MM:SS)")
        h, m, s = (int(g or 0) for g in match.groups())
        if h > 23 or m > 59 or s > 59:
            raise self.fail(f"{text!r} is not a time of day")
        return dt.time(h, m, s)

    def weekdays(self) -> frozenset[int]:
        """Weekday names (mon..sun) as numbers, Monday = 0."""
        days: set[int] = set()
        for name in self.texts():
            key = name[:3].casefold()
            if key not in _WEEKDAYS or name.casefold() not in (key, _full_day(key)):
                raise self.fail(f"{name!r} is not a weekday; write mon, tue, wed, thu, fri, "
                                "sat or sun")
            days.add(_WEEKDAYS.index(key))
        return frozenset(days)


def _full_day(key: str) -> str:
    return {"mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday",
            "fri": "friday", "sat": "saturday", "sun": "sunday"}[key]


class _Limit(Exception):
    """A bound of the composer was crossed."""

    def __init__(self, mark: Any, path: str, message: str) -> None:
        super().__init__(message)
        self.line = int(mark.line) + 1
        self.path = path
        self.message = message


# libyaml scans and parses ~4x faster than PyYAML's Python reader; our bounded composer runs on
# either (it only needs the parser's events), so 20,000 rules load in seconds, not a minute.
_CParser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None)
_Parser: Any = _CParser or yaml.parser.Parser
_Scanning: tuple[type, ...] = () if _CParser else (yaml.reader.Reader, yaml.scanner.Scanner)


class _BoundedLoader(yaml.composer.Composer, *_Scanning, _Parser,  # type: ignore[misc]
                     yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
    """PyYAML's safe composer with bounds on depth, aliases and expanded nodes."""

    def __init__(self, text: str) -> None:
        if _Scanning:  # PyYAML without libyaml: the Python reader and scanner feed the parser
            yaml.reader.Reader.__init__(self, text)
            yaml.scanner.Scanner.__init__(self)
            _Parser.__init__(self)
        else:
            _Parser.__init__(self, text)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._path: list[str] = []
        self._nodes = 0
        self._aliases = 0
        self._weight: dict[int, int] = {}  # id(anchored node) -> nodes it expands to

    def _where(self) -> str:
        path = "".join(self._path).lstrip(".")
        return path if len(path) <= 80 else path[:80] + "…"  # the head says which rule

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: Any = self.peek_event()
        if isinstance(index, int):
            self._path.append(f"[{index}]")
        else:
            self._path.append(f".{index.value}" if isinstance(index, yaml.ScalarNode) else "")
        try:
            if isinstance(event, yaml.AliasEvent):
                return self._alias(parent, index, event)
            if len(self._path) > MAX_DEPTH:
                raise _Limit(event.start_mark, self._where(),
                             f"nested deeper than {MAX_DEPTH} levels")
            before = self._nodes
            self._count(1, event.start_mark)
            node = super().compose_node(parent, index)
            if getattr(event, "anchor", None) is not None:
                self._weight[id(node)] = self._nodes - before
            return node
        finally:
            self._path.pop()

    def _alias(self, parent: yaml.Node | None, index: Any, event: Any) -> yaml.Node | None:
        self._aliases += 1
        if self._aliases > MAX_ALIASES:
            raise _Limit(event.start_mark, self._where(), f"more than {MAX_ALIASES} aliases")
        node = super().compose_node(parent, index)
        weight = self._weight.get(id(node))
        if weight is None:  # its anchor is still open: the node would contain itself
            raise _Limit(event.start_mark, self._where(), "an alias inside its own anchor")
        self._count(weight, event.start_mark)
        return node

    def _count(self, nodes: int, mark: Any) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            raise _Limit(mark, self._where(),
                         f"more than {MAX_NODES:,} values once aliases are expanded")


def compose(text: str, file: str) -> Node | None:
    """The document's root node, or None for an empty file; syntax errors and bounds crossed
    (size, depth, aliases, expanded nodes) name the line."""
    if len(text) > MAX_TEXT_CHARS:
        raise Invalid(RuleProblem(file, 1, "", f"larger than {MAX_TEXT_CHARS:,} characters"))
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
    except _Limit as exc:
        raise Invalid(RuleProblem(file, exc.line, exc.path, exc.message)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        raise Invalid(RuleProblem(file, line, "", f"YAML syntax: {exc.problem}")) from exc
    except yaml.YAMLError as exc:
        raise Invalid(RuleProblem(file, 1, "", f"YAML: {exc}")) from exc
    except RecursionError:  # bounded above; kept so that nothing recursive escapes a parse
        raise Invalid(RuleProblem(file, 1, "", "nested too deeply")) from None
    finally:
        loader.dispose()
    return None if root is None else Node(root, file, "")

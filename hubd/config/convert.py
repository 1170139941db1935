"""Building frozen dataclasses from TOML tables by their type hints, with errors naming the key.

Supported hints: str, int, float (an integer is accepted), bool, Path (a relative path is taken
from the config file's directory), Enum (by value), Literal, ``X | None`` and other unions,
tuple[X, ...] and fixed tuples, frozenset[X] (from arrays), and nested dataclasses (from tables;
arrays of tables into tuple[Dataclass, ...]).

Checks come from field metadata (``bounds(minimum, maximum)``, ``checked(fn)``), from the units
in field names (``*_s`` is a duration and cannot be negative, ``*_pct`` lies in 0..100, a
``port`` or ``*_port`` in 0..65535), and from
``__post_init__`` raising ValueError; all become a ConfigError naming the key.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import math
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

from hubd.core.errors import ConfigError
from hubd.core.fields import bounds, checked

T = TypeVar("T")

__all__ = ["bounds", "checked", "from_table"]

_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
          list: "an array", dict: "a table"}


def from_table(cls: type[T], table: Mapping[str, object], *, file: str, key: str) -> T:
    """Build dataclass cls from a TOML table found at the dotted key ("" for the document)."""
    return _Converter(file).dataclass(cls, table, key)


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


# A dataclass's type hints and init fields, worked out once per class: a hub's config builds
# the same device class hundreds of times, and get_type_hints compiles every annotation again.
_LAYOUTS: dict[type, tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]] = {}


def _layout(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    layout = _LAYOUTS.get(cls)
    if layout is None:
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        layout = _LAYOUTS[cls] = (typing.get_type_hints(cls), fields)
    return layout


def _what(value: object) -> str:
    """A TOML value described for people: its type and the value itself."""
    for kind, name in _NAMES.items():
        if type(value) is kind:
            shown = repr(value) if kind is not bool else str(value).lower()
            if kind in (list, dict):
                return name
            return f"{name} ({shown[:40]})"
    return f"a {type(value).__name__} ({value})"


class _Converter:
    def __init__(self, file: str) -> None:
        self.file = file
        self.base_dir = Path(file).parent.absolute()

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, key=key or None)

    def dataclass(self, cls: type[T], table: object, key: str) -> T:
        if not isinstance(table, Mapping):
            raise self.error(key, f"expected a table, got {_what(table)}")
        hints, fields = _layout(cls)
        for name in table:
            if name not in fields:
                raise self.error(_join(key, name), self.unknown(name, list(fields)))
        kwargs: dict[str, object] = {}
        for name, fld in fields.items():
            sub = _join(key, name)
            if name in table:
                value = self.convert(hints[name], table[name], sub)
                self.check_range(fld, value, sub)
                kwargs[name] = value
            elif (fld.default is dataclasses.MISSING
                  and fld.default_factory is dataclasses.MISSING):
                raise self.error(sub, "missing; this key is required")
        try:
            return cls(**kwargs)
        except ValueError as exc:
            raise self.error(key, str(exc)) from exc

    @staticmethod
    def unknown(name: str, known: list[str]) -> str:
        close = difflib.get_close_matches(name, known, n=1)
        if close:
            return f"unknown key, did you mean {close[0]!r}?"
        return f"unknown key; known keys: {', '.join(known) or 'none'}"

    def check_range(self, fld: dataclasses.Field[Any], value: object, key: str) -> None:
        check = fld.metadata.get("check")
        if check is not None:
            try:
                check(value)
            except ValueError as exc:
                raise self.error(key, str(exc)) from exc
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        lo = fld.metadata.get("minimum")
        hi = fld.metadata.get("maximum")
        if lo is None and fld.name.endswith("_s"):
            lo = 0  # a duration
        if fld.name.endswith("_pct"):
            lo, hi = (0 if lo is None else lo), (100 if hi is None else hi)
        if fld.name == "port" or fld.name.endswith("_port"):
            lo, hi = (0 if lo is None else lo), (65535 if hi is None else hi)
        if lo is not None and value < lo:
            raise self.error(key, f"must be at least {lo:g}, not {value:g}")
        if hi is not None and value > hi:
            raise self.error(key, f"must be at most {hi:g}, not {value:g}")

    def convert(self, hint: Any, value: object, key: str) -> object:  # noqa: C901 - a dispatch
        origin = typing.get_origin(hint)
        if origin in (typing.Union, types.UnionType):
            return self.union(typing.get_args(hint), value, key)
        if origin is typing.Literal:
            return self.literal(typing.get_args(hint), value, key)
        if origin is tuple:
            return self.tuple(typing.get_args(hint), value, key)
        if origin is frozenset:
            return frozenset(self.tuple((typing.get_args(hint)[0], ...), value, key))
        if dataclasses.is_dataclass(hint):
            return self.dataclass(cast(type, hint), value, key)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return self.enum(hint, value, key)
        if hint is bool:
            if isinstance(value, bool):
                return value
        elif hint is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif hint is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                if not math.isfinite(value):
                    raise self.error(key, f"must be a finite number, not {value}")
                return float(value)
        elif hint is str:
            if isinstance(value, str):
                return value
            if isinstance(value, int | float) and not isinstance(value, bool):
                raise self.error(key, f'expected a string, got {_what(value)}; quote it: '
                                      f'"{value}"')
        elif hint is Path:
            if isinstance(value, str) and value:
                path = Path(value).expanduser()
                return path if path.is_absolute() else self.base_dir / path
            return self.fail(key, "a path (a non-empty string)", value)
        else:
            raise TypeError(f"{key}: from_table cannot build a {hint!r}")
        return self.fail(key, _NAMES[hint], value)

    def fail(self, key: str, expected: str, value: object) -> typing.NoReturn:
        raise self.error(key, f"expected {expected}, got {_what(value)}")

    def union(self, arms: tuple[Any, ...], value: object, key: str) -> object:
        # TOML has no null: None is only ever a default, so the other arms are all that apply.
        arms = tuple(a for a in arms if a is not type(None))
        if len(arms) == 1:
            return self.convert(arms[0], value, key)
        for arm in arms:
            try:
                return self.convert(arm, value, key)
            except ConfigError:
                continue
        names = ", ".join(getattr(a, "__name__", str(a)) for a in arms)
        return self.fail(key, f"one of: {names}", value)

    def literal(self, choices: tuple[object, ...], value: object, key: str) -> object:
        for choice in choices:
            if type(choice) is type(value) and choice == value:
                return value
        shown = ", ".join(repr(c) for c in choices)
        return self.fail(key, f"one of {shown}", value)

    def tuple(self, args: tuple[Any, ...], value: object, key: str) -> tuple[object, ...]:
        if not isinstance(value, list):
            return self.fail(key, "an array", value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(self.convert(args[0], item, f"{key}[{n}]")
                         for n, item in enumerate(value))
        if len(value) != len(args):
            raise self.error(key, f"expected an array of {len(args)} items, got {len(value)}")
        return tuple(self.convert(hint, item, f"{key}[{n}]")
                     for n, (hint, item) in enumerate(zip(args, value, strict=True)))

    def enum(self, cls: type[enum.Enum], value: object, key: str) -> enum.Enum:
        for member in cls:
            if type(member.value) is type(value) and member.value == value:
                return member
        choices = ", ".join(repr(m.value) for m in cls)
        return self.fail(key, f"one of {choices}", value)

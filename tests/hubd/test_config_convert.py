"""from_table: every branch of the converter, and errors that name file, key and line."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum, StrEnum
from pathlib import Path
from typing import Literal

import pytest

from hubd.config import bounds, checked, find_line, from_table
from hubd.config.locate import key_lines
from hubd.core.errors import ConfigError


class Color(StrEnum):
    RED = "red"
    GREEN = "green"


class Baud(IntEnum):
    SLOW = 9600
    FAST = 115200


class Plain(Enum):
    ONE = "one"


@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 0


def _even(n: int) -> None:
    if n % 2:
        raise ValueError("must be even")


@dataclass(frozen=True, slots=True)
class Everything:
    name: str
    count: int = 0
    ratio: float = 1.0
    is_on: bool = False
    path: Path | None = None
    color: Color = Color.RED
    baud: Baud = Baud.SLOW
    plain: Plain = Plain.ONE
    mode: Literal["a", "b", 3] = "a"
    tags: tuple[str, ...] = ()
    pair: tuple[int, str] = (0, "")
    colors: frozenset[Color] = frozenset()
    point: Point | None = None
    points: tuple[Point, ...] = ()
    either: int | str = 0
    port: int = field(default=1, metadata=bounds(0, 65535))
    timeout_s: float = 1.0
    level_pct: float = 50.0
    http_port: int = 80
    even: int = field(default=0, metadata=checked(_even))


@dataclass(frozen=True, slots=True)
class Checked:
    low: int = 0
    high: int = 1

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low must not exceed high")


FILE = "/etc/hubd/hub.toml"


def build(table: dict[str, object], cls: type = Everything) -> object:
    return from_table(cls, table, file=FILE, key="section")


def error(table: dict[str, object], cls: type = Everything) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        build(table, cls)
    assert info.value.file == FILE
    return info.value


def test_every_type_converts() -> None:
    built = build({
        "name": "n", "count": 3, "ratio": 2, "is_on": True, "path": "data/x.db",
        "color": "green", "baud": 115200, "plain": "one", "mode": 3, "tags": ["a", "b"],
        "pair": [5, "five"], "colors": ["red", "green", "red"], "point": {"x": 1},
        "points": [{"x": 1, "y": 2}, {"x": 3}], "either": "text", "port": 65535,
        "timeout_s": 0, "level_pct": 100, "even": 4, "http_port": 8080,
    })
    assert built == Everything(
        "n", 3, 2.0, True, Path("/etc/hubd/data/x.db"), Color.GREEN, Baud.FAST, Plain.ONE, 3,
        ("a", "b"), (5, "five"), frozenset({Color.RED, Color.GREEN}), Point(1, 0),
        (Point(1, 2), Point(3, 0)), "text", 65535, 0.0, 100.0, 8080, 4)
    assert isinstance(built, Everything) and type(built.ratio) is float


def test_defaults_and_absolute_paths() -> None:
    built = build({"name": "n", "path": "/var/lib/hubd", "either": 7})
    assert isinstance(built, Everything)
    assert built.path == Path("/var/lib/hubd") and built.either == 7 and built.tags == ()


@pytest.mark.parametrize(("table", "key", "message"), [
    ({}, "section.name", "missing; this key is required"),
    ({"name": "n", "cuont": 1}, "section.cuont", "unknown key, did you mean 'count'?"),
    ({"name": "n", "zzz": 1}, "section.zzz", "unknown key; known keys: name, count"),
    ({"name": 5}, "section.name", 'expected a string, got an integer (5); quote it: "5"'),
    ({"name": True}, "section.name", "expected a string, got true or false (true)"),
    ({"name": "n", "count": 1.5}, "section.count", "expected an integer, got a number (1.5)"),
    ({"name": "n", "count": True}, "section.count", "expected an integer"),
    ({"name": "n", "ratio": "1"}, "section.ratio", "expected a number, got a string ('1')"),
    ({"name": "n", "ratio": float("inf")}, "section.ratio", "must be a finite number"),
    ({"name": "n", "is_on": "yes"}, "section.is_on", "expected true or false"),
    ({"name": "n", "path": ""}, "section.path", "expected a path"),
    ({"name": "n", "color": "blue"}, "section.color", "expected one of 'red', 'green'"),
    ({"name": "n", "baud": 1}, "section.baud", "expected one of 9600, 115200"),
    ({"name": "n", "mode": "c"}, "section.mode", "expected one of 'a', 'b', 3"),
    ({"name": "n", "mode": 3.0}, "section.mode", "expected one of"),
    ({"name": "n", "tags": "a"}, "section.tags", "expected an array, got a string"),
    ({"name": "n", "tags": ["a", 2]}, "section.tags[1]", "expected a string"),
    ({"name": "n", "pair": [1]}, "section.pair", "expected an array of 2 items, got 1"),
    ({"name": "n", "colors": ["red", "pink"]}, "section.colors[1]", "expected one of"),
    ({"name": "n", "point": 3}, "section.point", "expected a table, got an integer (3)"),
    ({"name": "n", "point": {"y": 1}}, "section.point.x", "missing"),
    ({"name": "n", "points": [{"x": 1}, {"x": 1, "z": 2}]}, "section.points[1].z",
     "unknown key"),
    ({"name": "n", "either": 1.5}, "section.either", "expected one of: int, str"),
    ({"name": "n", "port": 70000}, "section.port", "must be at most 65535, not 70000"),
    ({"name": "n", "port": -1}, "section.port", "must be at least 0, not -1"),
    ({"name": "n", "timeout_s": -0.5}, "section.timeout_s", "must be at least 0, not -0.5"),
    ({"name": "n", "level_pct": 101}, "section.level_pct", "must be at most 100"),
    ({"name": "n", "level_pct": -1}, "section.level_pct", "must be at least 0"),
    ({"name": "n", "http_port": 65536}, "section.http_port", "must be at most 65535"),
    ({"name": "n", "even": 3}, "section.even", "must be even"),
])
def test_bad_values_name_the_key(table: dict[str, object], key: str, message: str) -> None:
    err = error(table)
    assert err.key == key
    assert message in err.message


def test_post_init_value_error_becomes_config_error() -> None:
    err = error({"low": 5, "high": 1}, Checked)
    assert (err.key, err.message) == ("section", "low must not exceed high")


def test_top_level_keys_have_no_leading_dot() -> None:
    with pytest.raises(ConfigError) as info:
        from_table(Point, {"x": "1"}, file="f.toml", key="")
    assert str(info.value) == "f.toml: x: expected an integer, got a string ('1')"


def test_unsupported_hint_is_a_programming_error() -> None:
    @dataclass(frozen=True)
    class Odd:
        data: dict[str, int]

    with pytest.raises(TypeError, match="cannot build"):
        from_table(Odd, {"data": {}}, file="f", key="")


TOML = '''\
# comment with [brackets] and key = value
[hub]
name = "x"   # trailing
a.b = 1

[[radios.virtual.devices]]
address = "1"
kind = "dimmer"

[[radios.virtual.devices]]
address = "2"
kind = 'switch'
text = """
not = a key
[not.a.table]
"""

[rules]
list = [
  { x = 1, y = "a" },
  { x = 2,
    z = [1,
         2] },
]
[radios.virtual.devices.extra]
deep = 1
'''


def test_key_lines_follow_tables_arrays_and_inline_tables() -> None:
    lines = key_lines(TOML)
    assert lines["hub.name"] == 3
    assert lines["hub.a.b"] == 4
    assert lines["radios.virtual.devices[0].kind"] == 8
    assert lines["radios.virtual.devices[1].kind"] == 12
    assert lines["rules.list[0].y"] == 20
    assert lines["rules.list[1].z[1]"] == 23
    assert lines["radios.virtual.devices[1].extra.deep"] == 26
    assert "not" not in lines and "not.a.table" not in lines


def test_find_line_falls_back_to_the_nearest_ancestor() -> None:
    assert find_line(TOML, "radios.virtual.devices[1].room") == 10
    assert find_line(TOML, "rules.list[1].z[7]") == 22
    assert find_line(TOML, "store.write_interval_s") is None
    assert find_line("a = [1, 2", "a[1]") == 1  # truncated text: what was found is kept

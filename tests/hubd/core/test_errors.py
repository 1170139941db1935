"""One error tree: everything hubd raises on purpose is a HubError."""

from __future__ import annotations

import ast
import builtins
import importlib
import typing
from pathlib import Path

import pytest

from hubd.bus import Bus
from hubd.core.clock import ManualClock
from hubd.core.errors import HubError, InvalidValueError
from hubd.core.state import StateStore
from hubd.hub import Hub

HUBD = Path(__file__).resolve().parents[3] / "hubd"
# Raised on purpose although not HubErrors, and why.
ALLOWED = {
    # A dataclass field of a type the loader cannot build: a bug in hubd, not a bad file.
    ("hubd.config.convert", "TypeError"),
}


def raised_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            if isinstance(func, ast.Name):
                names.append(func.id)
    return names


def test_every_error_hubd_raises_is_in_the_tree() -> None:
    outside = []
    for path in sorted(HUBD.rglob("*.py")):
        module_name = ".".join(path.relative_to(HUBD.parent).with_suffix("").parts)
        if module_name.endswith("__main__"):
            continue
        module = importlib.import_module(module_name)
        for name in raised_names(path):
            cls = getattr(module, name, None) or getattr(builtins, name, None)
            if callable(cls) and not isinstance(cls, type):  # a factory: judge what it returns
                cls = typing.get_type_hints(cls).get("return")
            if not (isinstance(cls, type) and issubclass(cls, HubError)) and \
                    (module_name, name) not in ALLOWED:
                outside.append(f"{module_name}: {name}")
    assert outside == []


def test_an_object_of_no_event_type_is_refused_not_misapplied() -> None:
    state = StateStore()
    with pytest.raises(InvalidValueError, match="unexpected event type object"):
        state.apply(object())  # type: ignore[arg-type]
    hub = Hub(ManualClock(), Bus(), state)
    hub.report(object())  # type: ignore[arg-type]
    assert hub.rejected == 1

"""Field metadata that states what values a setting allows; hubd.config enforces it on load.

Settings dataclasses live in their own packages (radios, rules), which may not import hubd.config;
they mark their fields with these, and the loader turns a violation into a ConfigError naming the
file, the line and the key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def bounds(minimum: float | None = None, maximum: float | None = None) -> dict[str, object]:
    """Field metadata for a number's allowed range: ``field(default=..., metadata=bounds(0))``."""
    meta: dict[str, object] = {}
    if minimum is not None:
        meta["minimum"] = minimum
    if maximum is not None:
        meta["maximum"] = maximum
    return meta


def checked(check: Callable[[Any], None]) -> dict[str, object]:
    """Field metadata for a check of the value alone, raising ValueError to reject it; the
    error then names this field's key rather than its table's."""
    return {"check": check}

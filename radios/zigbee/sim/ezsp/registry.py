"""The command handlers by EZSP command name (filled by handlers.py and security.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from radios.zigbee.sim.ezsp.layouts import Value

if TYPE_CHECKING:
    from radios.zigbee.sim.ezsp.ncp import Ncp

Args = list[Value]
Handler = Callable[["Ncp", Args], tuple[Value, ...]]
HANDLERS: dict[str, Handler] = {}


def handles(name: str) -> Callable[[Handler], Handler]:
    """Register a handler for the command of this name."""

    def register(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        return handler

    return register


__all__ = ["HANDLERS", "Args", "Handler", "handles"]

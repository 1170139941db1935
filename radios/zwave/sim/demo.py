"""The demo's Z-Wave radio: Z-Wave JS's mock controller with a house of named nodes.

``demo_stick(state_dir)`` starts the mock controller with the nodes below; each node names
itself (Node Naming and Location CC), so the demo's rules can use the names. The node list is
kept in ``state_dir/zwave-sim.txt`` (nodes included in a demo stay), and zwave-js-server's cache
in ``state_dir/zwave`` makes the next start skip the interviews. ``run_activity`` makes the
house lively: the window opens and closes, someone walks the stairs, the cellar warms, the
entry remote is pressed.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from hubd.core.model import Capability
from radios.zwave.settings import ZwaveSettings
from radios.zwave.sim.mock import MockStick, mock_stick

C = Capability

# Node id -> (mock kind, name, room).
DEMO_NODES: dict[int, tuple[str, str, str]] = {
    2: ("binary_switch", "Hall lamp", "Hall"),
    3: ("dimmer", "Dining dimmer", "Dining room"),
    4: ("door_lock", "Front door lock", "Hall"),
    5: ("door_window", "Hall window", "Hall"),
    6: ("motion", "Stairs motion", "Hall"),
    7: ("temperature", "Cellar sensor", "Cellar"),
    8: ("thermostat", "Living heating", "Living room"),
    9: ("remote", "Entry remote", "Hall"),
}

# What hubd maps each mock kind to (tests/radios/zwave check it against the real path).
KIND_CAPABILITIES: dict[str, frozenset[Capability]] = {
    "binary_switch": frozenset({C.SWITCH}),
    "dimmer": frozenset({C.SWITCH, C.LEVEL}),
    "door_lock": frozenset({C.LOCK, C.BATTERY}),
    "door_window": frozenset({C.CONTACT, C.BATTERY}),
    "motion": frozenset({C.MOTION, C.BATTERY}),
    "temperature": frozenset({C.TEMPERATURE, C.BATTERY}),
    "thermostat": frozenset({C.THERMOSTAT, C.TEMPERATURE}),
    "remote": frozenset({C.BUTTON, C.BATTERY}),
}

# Notification types and events (SDS13713): Access Control 0x06, Home Security 0x07.
WINDOW_OPEN, WINDOW_CLOSED, MOTION, IDLE = (0x06, 0x16), (0x06, 0x17), (0x07, 0x08), (0x07, 0x00)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def demo_stick(state_dir: Path) -> AsyncIterator[tuple[MockStick, ZwaveSettings]]:
    """The mock controller of the demo house and the settings that make hubd spawn a server."""
    nodes = {node_id: kind for node_id, (kind, _, _) in DEMO_NODES.items()}
    names = {node_id: (name, room) for node_id, (_, name, room) in DEMO_NODES.items()}
    async with mock_stick(nodes, state_path=state_dir / "zwave-sim.txt", names=names) as stick:
        yield stick, ZwaveSettings(url=f"ws://127.0.0.1:{_free_port()}", serial_path=stick.url)


async def run_activity(stick: MockStick, interval_s: float, rng: random.Random | None = None
                       ) -> None:
    """Physical events on the Z-Wave nodes, one every ``interval_s`` on average, forever."""
    rng = rng or random.Random()
    celsius = 19.0
    while True:
        await asyncio.sleep(rng.uniform(0.5, 1.5) * interval_s)
        what = rng.randrange(4)
        if what == 0:
            await stick.notify(5, *WINDOW_OPEN)
            await asyncio.sleep(interval_s / 2)
            await stick.notify(5, *WINDOW_CLOSED)
        elif what == 1:
            await stick.notify(6, *MOTION)
            await asyncio.sleep(interval_s / 2)
            await stick.notify(6, *IDLE)
        elif what == 2:
            celsius = round(min(24.0, max(16.0, celsius + rng.uniform(-0.5, 0.5))), 1)
            await stick.temperature(7, celsius)
        else:
            await stick.scene(9, 1, 0)

"""The demo's Zigbee radio on a Silicon Labs stick: the EmberZNet NCP simulator with the house.

``demo_ncp(n_devices, state_path=...)`` is ``demo_coordinator`` of the ZNP family for bellows:
the same house (sim/demo.py's HOUSE_MIX and addresses), the NCP's tokens and the devices saved
on exit and back, already joined, on the next run.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from radios.zigbee.sim.demo import DemoCoordinator, fill_house, save_house
from radios.zigbee.sim.ezsp.simulator import EzspSimulator
from radios.zigbee.sim.ezsp.state import Tokens


def _load(path: Path | None) -> tuple[Tokens | None, list[dict[str, Any]]]:
    if path is None or not path.exists():
        return None, []
    raw = json.loads(path.read_text())
    return Tokens.from_json(raw["tokens"]), list(raw["devices"])


@asynccontextmanager
async def demo_ncp(
    n_devices: int = 24, *, state_path: Path | None = None, baud_rate: int | None = None
) -> AsyncIterator[DemoCoordinator[EzspSimulator]]:
    """A simulated EmberZNet NCP on a pty with ``n_devices`` devices of every kind."""
    tokens, saved = _load(state_path)
    sim = EzspSimulator(tokens=tokens, baud_rate=baud_rate)
    await sim.start_pty()
    try:
        fill_house(sim, saved, n_devices, is_network_kept=sim.tokens.network is not None)
        yield DemoCoordinator(sim)
    finally:
        if state_path is not None:
            save_house(state_path, sim, ("tokens", sim.tokens.to_json()))
        await sim.close()


__all__ = ["demo_ncp"]

"""The demo's Zigbee radio on a Silicon Labs stick: the EmberZNet NCP simulator with the house.

``demo_ncp(n_devices, state_path=...)`` is ``demo_coordinator`` of the ZNP family for bellows:
the same house (sim/demo.py's HOUSE_MIX and addresses), the NCP's tokens and the devices saved
on exit and back, already joined, on the next run.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from radios.zigbee.sim.demo import HOUSE_MIX, DemoCoordinator, demo_ieee
from radios.zigbee.sim.ezsp.simulator import EzspSimulator
from radios.zigbee.sim.ezsp.state import Tokens
from radios.zigbee.sim.kinds import DeviceKind
from radios.zigbee.sim.memory import DeviceMemory, capture, restore
from radios.zigbee.sim.wire import format_ieee, parse_ieee


def _load(path: Path | None) -> tuple[Tokens | None, list[dict[str, Any]]]:
    if path is None or not path.exists():
        return None, []
    raw = json.loads(path.read_text())
    return Tokens.from_json(raw["tokens"]), list(raw["devices"])


def _save(path: Path, sim: EzspSimulator) -> None:
    devices = [
        {"ieee": format_ieee(d.ieee), "kind": str(d.kind), "nwk": d.nwk,
         "is_joined": d.joined_ext_pan is not None, "memory": capture(d).to_json()}
        for d in sim.devices
    ]  # fmt: skip
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    # The tokens hold the network key: 0600 from the first byte
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(json.dumps({"tokens": sim.tokens.to_json(), "devices": devices}))
    tmp.replace(path)


@asynccontextmanager
async def demo_ncp(
    n_devices: int = 24, *, state_path: Path | None = None, baud_rate: int | None = None
) -> AsyncIterator[DemoCoordinator]:
    """A simulated EmberZNet NCP on a pty with ``n_devices`` devices of every kind."""
    tokens, saved = _load(state_path)
    sim = EzspSimulator(tokens=tokens, baud_rate=baud_rate)
    await sim.start_pty()
    try:
        known = {str(d["ieee"]) for d in saved}
        for entry in saved:
            nwk = entry["nwk"]
            is_joined = bool(entry["is_joined"]) and sim.tokens.network is not None
            device = sim.add_device(
                DeviceKind(str(entry["kind"])), parse_ieee(str(entry["ieee"])),
                is_joined=is_joined, nwk=nwk if isinstance(nwk, int) else None,
            )  # fmt: skip
            if entry.get("memory") is not None:
                restore(device, DeviceMemory.from_json(entry["memory"]))
        for index in range(1, n_devices + 1):
            if demo_ieee(index) not in known:
                sim.add_device(HOUSE_MIX[(index - 1) % len(HOUSE_MIX)], demo_ieee(index))
        yield DemoCoordinator(sim)  # type: ignore[arg-type]  # duck-typed: path, devices
    finally:
        if state_path is not None:
            _save(state_path, sim)
        await sim.close()


__all__ = ["demo_ncp"]

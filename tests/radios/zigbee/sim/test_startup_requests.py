"""The request sequence of zigpy-znp's startup, kept as a checked-in list so that an upgrade
of zigpy or zigpy-znp shows up as a diff. Regenerate with UPDATE_STARTUP_REQUESTS=1."""

from __future__ import annotations

import os
from itertools import groupby
from pathlib import Path

from radios.zigbee.sim import Simulator
from tests.radios.zigbee.sim.conftest import AppFactory

LIST = Path(__file__).parents[4] / "radios" / "zigbee" / "sim" / "startup_requests.txt"
HEADER = """\
# MT requests unmodified zigpy-znp sends while starting against the simulated Z-Stack 3.30,
# in order; "xN" marks N identical requests in a row. Written by
# tests/radios/zigbee/sim/test_startup_requests.py (UPDATE_STARTUP_REQUESTS=1 to rewrite).
"""


def compress(names: list[str]) -> list[str]:
    """Runs of the same request as one line with a count."""
    lines = []
    for name, run in groupby(names):
        count = len(list(run))
        lines.append(name if count == 1 else f"{name} x{count}")
    return lines


async def test_startup_sequence_is_the_checked_in_one(sim: Simulator, make_app: AppFactory) -> None:
    app = await make_app(sim)
    first = list(sim.requests_seen)
    await app.shutdown()
    mark = len(sim.requests_seen)
    await make_app(sim)
    restart = sim.requests_seen[mark:]
    text = (
        HEADER
        + "\n[first start: forms a network]\n"
        + "\n".join(compress(first))
        + "\n\n[restart: restores the network from NV]\n"
        + "\n".join(compress(restart))
        + "\n"
    )
    if os.environ.get("UPDATE_STARTUP_REQUESTS"):
        LIST.write_text(text)
    assert LIST.read_text() == text

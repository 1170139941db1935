"""Cross-check: pylutron, a LIP client written elsewhere, against the simulator over telnet.

pylutron fetches ``http://<host>/DbXmlInfo.xml`` and telnets to port 23 of the same host. The test
gives it ``127.0.0.1:<http port>`` as the host (urllib accepts host:port) and a connection
factory that dials the simulator's telnet port; pylutron itself is unchanged. Its blocking calls
run in a thread so the simulator keeps running on the test's event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pylutron
import telnetlib3

from radios.lutron.codec import MonitoringType
from radios.lutron.sim.demo import DINING, LIVING_PICO, PICO_ON
from radios.lutron.sim.server import LutronSimulator


async def until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 - the condition changes in pylutron's thread
            await asyncio.sleep(0.01)


async def test_pylutron_logs_in_monitors_sets_levels_and_sees_errors(sim: LutronSimulator) -> None:
    port = sim.telnet_port
    lutron = pylutron.Lutron(f"127.0.0.1:{sim.http_port}", "lutron", "integration")
    await asyncio.to_thread(lutron.load_xml_db)
    outputs = {o.name: o for area in lutron.areas for o in area.outputs}
    keypads = {k.name: k for area in lutron.areas for k in area.keypads}
    assert {"Dining lights", "Porch sconce", "Living shade"} <= set(outputs)
    assert [b.component_number for b in keypads["Living Pico"].buttons] == [2, 3, 4, 5, 6]
    assert outputs["Living shade"].__class__.__name__ == "Shade"

    lines: list[str] = []

    def recv(line: str) -> None:
        lines.append(line)
        lutron._recv(line)

    async def dial(host: str, _port: int, **kwargs: Any) -> Any:
        return await telnetlib3.open_connection("127.0.0.1", port, **kwargs)

    lutron._conn = pylutron.LutronConnection(lutron._host, "lutron", "integration", recv,
                                             connection_factory=dial)
    await asyncio.to_thread(lutron.connect)
    try:
        # pylutron turns the prompt off and button, LED, zone, occupancy and scene monitoring on
        wanted = {MonitoringType.BUTTON, MonitoringType.LED, MonitoringType.ZONE,
                  MonitoringType.OCCUPANCY, MonitoringType.SCENE}
        await until(lambda: any(wanted <= s.monitoring and MonitoringType.PROMPT not in
                                s.monitoring for s in sim.engine.sessions))

        changed = threading.Event()
        dining = outputs["Dining lights"]
        dining.subscribe(lambda *_: changed.set(), None)
        dining.set_level(55.0, fade_time_seconds=2.5)  # sent as "#OUTPUT,20,1,55.00,0:00:02.5"
        await until(changed.is_set)
        assert dining.last_level() == 55.0
        assert sim.engine.house.zones[DINING].target == 55.0
        assert "~OUTPUT,20,1,55.00" in lines

        lutron.send(pylutron.Lutron.OP_EXECUTE, "OUTPUT", 1234, 1, "100.00")
        await until(lambda: "~ERROR,2" in lines)

        pressed = threading.Event()
        button = next(b for b in keypads["Living Pico"].buttons
                      if b.component_number == PICO_ON)
        def on_event(_b: object, _c: object, event: object, _p: object) -> None:
            if event is pylutron.Button.Event.PRESSED:
                pressed.set()

        button.subscribe(on_event, None)
        sim.engine.tap(LIVING_PICO, PICO_ON)
        await until(pressed.is_set)
    finally:
        await asyncio.to_thread(lutron.disconnect)

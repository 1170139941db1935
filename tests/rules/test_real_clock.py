"""The engine on the real clock: the timer task itself fires delays (no ManualClock stepping)."""

import asyncio

from hubd.bus import Bus
from hubd.core.clock import SystemClock
from hubd.core.events import Notice
from rules.engine import EngineSettings, RuleEngine
from rules.parse import parse_rules
from rules.persistence import MemoryPersistence
from tests.rules.conftest import House, make_state


async def test_a_short_delay_fires_on_real_time() -> None:
    clock = SystemClock()
    bus = Bus()
    house = House(make_state(), bus, clock)
    rules, _ = parse_rules("""\
- id: blink
  triggers: [{kind: button, device: Kitchen remote}]
  actions:
    - {kind: command, device: Porch light, command: switch.on}
    - {kind: delay, duration: 50ms}
    - {kind: command, device: Porch light, command: switch.off}
    - {kind: notify, message: blinked}
""", "blink.yaml")
    engine = RuleEngine(house.state, bus, house.execute, clock, MemoryPersistence(),
                        EngineSettings())
    engine.load(rules)
    done = asyncio.Event()
    bus.subscribe((Notice,), lambda n: done.set() if n.message == "blinked" else None,
                  name="test")
    task = asyncio.create_task(engine.run())
    await asyncio.wait_for(engine.ready.wait(), 5)
    started = clock.monotonic()
    house.press("Kitchen remote")
    await asyncio.wait_for(done.wait(), 5)
    assert clock.monotonic() - started >= 0.05
    assert house.sent() == ["Porch light: switch.on", "Porch light: switch.off"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await bus.close()

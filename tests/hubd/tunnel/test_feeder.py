"""The feeder: bus events to the outbox in batches; a failed write keeps them, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import cbor2

from hubd.bus import Bus
from hubd.core.errors import TransientError
from hubd.core.events import ButtonEvent
from hubd.core.model import ButtonAction, Context, Origin
from hubd.core.state import StateStore
from hubd.tunnel.feeder import Feeder
from hubd.tunnel.uplink import StateMirror, UpMessage


class FlakyOutbox:
    """An outbox whose first writes fail (a full disk), then work."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.batches: list[list[UpMessage]] = []

    async def append(self, messages: Sequence[UpMessage]) -> None:
        if self.failures:
            self.failures -= 1
            raise TransientError("disk full")
        self.batches.append(list(messages))


def press(bus: Bus, n: int) -> None:
    bus.publish(ButtonEvent("virtual:5", str(n), ButtonAction.PRESS, float(n),
                            Context.new(Origin.PHYSICAL)))


async def test_a_failed_write_keeps_the_batch_in_order_and_a_stop_flushes() -> None:
    bus, outbox = Bus(), FlakyOutbox(failures=2)
    feeder = Feeder(bus, outbox, StateMirror(StateStore()), flush_interval_s=0.001)  # type: ignore[arg-type]
    task = asyncio.create_task(feeder.run())
    await asyncio.sleep(0)
    for n in range(3):
        press(bus, n)
    async with asyncio.timeout(2):
        await feeder.flushed.wait()  # after two failed tries
    press(bus, 3)
    await bus.drain()
    task.cancel()  # the daemon stops: what is pending is flushed first
    await asyncio.gather(task, return_exceptions=True)
    buttons = [cbor2.loads(m.body)["button"] for b in outbox.batches for m in b]
    assert buttons == ["0", "1", "2", "3"] and feeder.failures == 0 and feeder.dropped == 0
    await bus.close()


async def test_past_max_pending_the_oldest_go_and_are_counted() -> None:
    bus = Bus()
    feeder = Feeder(bus, FlakyOutbox(0), StateMirror(StateStore()), max_pending=10)  # type: ignore[arg-type]
    feeder.subscribe()
    for n in range(15):
        press(bus, n)
    await bus.drain()
    assert feeder.dropped == 5
    assert cbor2.loads(feeder.pending[0].body)["button"] == "5"
    await bus.close()
